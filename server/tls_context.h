// The OpenSSL contexts behind the TLS ports and `lsmd --check --check-tls`
// (docs/SECURITY.md, "TLS"). Everything is loaded and checked here, once, at
// start: a file that cannot be read or parsed, or a key that does not match
// its certificate, is an InvalidArgument naming the option.
//
// Both contexts allow TLS 1.2 and newer only, set on the context itself so
// the system's openssl.cnf cannot lower it. Threading: a context is built on
// one thread before any connection uses it, and only read after.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "core/status.h"
#include "server/options.h"

namespace lsmd::server {

// The server side: tls.cert_file and tls.key_file presented to clients; with
// tls.auth_clients yes or optional, client certificates are verified against
// tls.ca_cert_file.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsOptions& tls);

// The client side of --check-tls: the server's certificate is verified
// against tls.ca_cert_file (or the system's CAs without one);
// tls.cert_file and tls.key_file, when given, are the client certificate.
// The host name is checked per connection (check_client.cc).
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const TlsOptions& tls);

}  // namespace lsmd::server
