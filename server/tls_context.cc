#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <string>

namespace lsmd::server {
namespace {

namespace ssl = boost::asio::ssl;

// OpenSSL's reason for the last failure, and its error queue emptied.
std::string OpenSslError(const boost::system::error_code& ec) {
  unsigned long code = ERR_get_error();
  std::string why = code != 0 ? ERR_reason_error_string(code) ? ERR_reason_error_string(code)
                                                              : "unknown OpenSSL error"
                              : ec.message();
  ERR_clear_error();
  return why;
}

Status FileError(std::string_view option, const std::string& path, std::string_view what,
                 const boost::system::error_code& ec) {
  return Status::InvalidArgument(std::string(option) + ": '" + path + "' " + std::string(what) +
                                 ": " + OpenSslError(ec));
}

// A context from OpenSSL directly: ssl::context's own constructor throws.
Result<std::shared_ptr<ssl::context>> NewContext(const SSL_METHOD* method) {
  SSL_CTX* raw = SSL_CTX_new(method);
  if (raw == nullptr) {
    return Status::IOError("cannot create a TLS context: " +
                           OpenSslError(boost::system::error_code()));
  }
  auto context = std::make_shared<ssl::context>(raw);  // takes ownership
  // TLS 1.2 and newer, whatever openssl.cnf says.
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
    return Status::IOError("cannot set the minimum TLS version to 1.2: " +
                           OpenSslError(boost::system::error_code()));
  }
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | SSL_OP_NO_RENEGOTIATION,
                       ec);
  if (ec) return Status::IOError("cannot set the TLS options: " + OpenSslError(ec));
  return context;
}

// The certificate chain and its key, checked against each other.
Status LoadCertificate(ssl::context& context, const TlsOptions& tls) {
  // An encrypted key fails to load rather than prompting on the terminal.
  SSL_CTX_set_default_passwd_cb(context.native_handle(),
                                [](char*, int, int, void*) -> int { return 0; });
  boost::system::error_code ec;
  context.use_certificate_chain_file(tls.cert_file, ec);
  if (ec) return FileError("--tls-cert-file", tls.cert_file, "is not a PEM certificate chain", ec);
  context.use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec)
    return FileError("--tls-key-file", tls.key_file, "is not an unencrypted PEM private key", ec);
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return FileError("--tls-key-file", tls.key_file, "does not match --tls-cert-file", ec);
  }
  return Status::OK();
}

Status LoadCa(ssl::context& context, const std::string& ca_file) {
  boost::system::error_code ec;
  context.load_verify_file(ca_file, ec);
  if (ec) return FileError("--tls-ca-cert-file", ca_file, "is not a PEM CA certificate file", ec);
  return Status::OK();
}

// Not a start error (a client decides what it accepts), but worth a line.
void WarnIfNotCurrent(ssl::context& context, const std::string& cert_file) {
  X509* cert = SSL_CTX_get0_certificate(context.native_handle());
  if (cert == nullptr) return;
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    spdlog::warn("--tls-cert-file {}: the certificate has expired; clients will refuse it",
                 cert_file);
  } else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    spdlog::warn("--tls-cert-file {}: the certificate is not valid yet; clients will refuse it",
                 cert_file);
  }
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsOptions& tls) {
  Result<std::shared_ptr<ssl::context>> made = NewContext(TLS_server_method());
  if (!made.ok()) return made.status();
  std::shared_ptr<ssl::context> context = *made;
  Status s = LoadCertificate(*context, tls);
  if (!s.ok()) return s;
  WarnIfNotCurrent(*context, tls.cert_file);
  if (!tls.ca_cert_file.empty()) {
    s = LoadCa(*context, tls.ca_cert_file);
    if (!s.ok()) return s;
    // The CAs named in the certificate request, so a client picks the right
    // certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca_cert_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(context->native_handle(), names);
    ERR_clear_error();
  }
  ssl::verify_mode mode = ssl::verify_none;
  if (tls.auth_clients == TlsAuthClients::kOptional) mode = ssl::verify_peer;
  if (tls.auth_clients == TlsAuthClients::kYes) {
    mode = ssl::verify_peer | ssl::verify_fail_if_no_peer_cert;
  }
  boost::system::error_code ec;
  context->set_verify_mode(mode, ec);
  if (ec) return Status::IOError("cannot set the client certificate mode: " + OpenSslError(ec));
  // Session resumption with client certificates needs an id context.
  static constexpr unsigned char kSessionContext[] = "lsmd";
  SSL_CTX_set_session_id_context(context->native_handle(), kSessionContext,
                                 sizeof(kSessionContext) - 1);
  return context;
}

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const TlsOptions& tls) {
  Result<std::shared_ptr<ssl::context>> made = NewContext(TLS_client_method());
  if (!made.ok()) return made.status();
  std::shared_ptr<ssl::context> context = *made;
  boost::system::error_code ec;
  if (!tls.ca_cert_file.empty()) {
    Status s = LoadCa(*context, tls.ca_cert_file);
    if (!s.ok()) return s;
  } else {
    context->set_default_verify_paths(ec);
    if (ec) return Status::IOError("cannot load the system's CA certificates: " + OpenSslError(ec));
  }
  if (!tls.cert_file.empty()) {
    Status s = LoadCertificate(*context, tls);
    if (!s.ok()) return s;
  }
  context->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return Status::IOError("cannot set the verify mode: " + OpenSslError(ec));
  return context;
}

}  // namespace lsmd::server
