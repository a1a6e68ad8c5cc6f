#include "server/options_help.h"

#include <sstream>

#include "server/options.h"

namespace lsmd::server {

namespace po = boost::program_options;

po::options_description Describe() {
  po::options_description desc(
      "Options (each may also be set as LSMD_<NAME>, e.g. LSMD_DATA_DIR; "
      "a flag wins over its variable)");
  auto text = [] { return po::value<std::string>(); };
  // clang-format off
  desc.add_options()
      ("listen", text()->value_name("HOST:PORT"),
       "address to accept clients on (default 127.0.0.1:7070; port 0 picks a free port)")
      ("port-file", text()->value_name("PATH"),
       "once listening, write the bound port number here (atomically)")
      ("resp-listen", text()->value_name("HOST:PORT"),
       "also accept Redis protocol (RESP2) clients here (default: off; 6379 is Redis's port)")
      ("resp-port-file", text()->value_name("PATH"),
       "once the RESP port listens, write its port number here (atomically)")
      ("resp-max-bulk-bytes", text()->value_name("N"),
       "RESP: longest bulk string (a key or value) accepted (default and most 536870912)")
      ("resp-max-multibulk-len", text()->value_name("N"),
       "RESP: most arguments in one request (default 1048576)")
      ("resp-max-inline-bytes", text()->value_name("N"),
       "RESP: longest inline command line (default 65536)")
      ("threads", text()->value_name("N"), "I/O threads (default: the hardware's cores)")
      ("data-dir", text()->value_name("DIR"), "where the data lives (default ./lsmd-data)")
      ("memtable-bytes", text()->value_name("N"),
       "MemTable size that triggers a flush (default 4194304)")
      ("bloom-bits-per-key", text()->value_name("N"), "Bloom filter bits per key (default 10)")
      ("index-interval", text()->value_name("N"),
       "sparse index samples every Nth key (default 16)")
      ("sync", text()->value_name("always|none"),
       "always: acknowledge a write after fdatasync; none: never sync (default always)")
      ("wal-recovery", text()->value_name("tolerate-tail|point-in-time|absolute"),
       "a damaged log at start: cut a torn tail and refuse other damage; keep what "
       "precedes the first damage; or refuse any (default tolerate-tail with --sync "
       "always, point-in-time with --sync none)")
      ("max-line-bytes", text()->value_name("N"),
       "longest request line; longer gets error 12 and the connection closes (default 1048576)")
      ("max-reply-bytes", text()->value_name("N"),
       "bytes of keys and values one reply may carry, both ports: past it a scan page stops "
       "early (more), KEYS and MGET fail, an EXEC result becomes an error; 1 to 1073741824 "
       "(default 67108864)")
      ("max-connections", text()->value_name("N"),
       "open connections allowed, both ports together; one more is refused (default 1024)")
      ("timeout", text()->value_name("SECONDS"),
       "close a client that sends no request for this long (default 0: never)")
      ("send-timeout", text()->value_name("SECONDS"),
       "close a client that reads none of its pending replies for this long (default 60; "
       "0: never)")
      ("password-file", text()->value_name("FILE"),
       "clients must log in with the password on this file's first line (LSMD_PASSWORD "
       "sets the password itself, for containers)")
      ("admin-password-file", text()->value_name("FILE"),
       "compact and threshold changes need this password (LSMD_ADMIN_PASSWORD sets it "
       "itself); without it they need the data password")
      ("protected-mode", text()->value_name("yes|no"),
       "without a password, refuse clients that are not on loopback (default yes)")
      ("require-password", text()->value_name("yes|no"),
       "refuse to start without a password unless --protected-mode is no (default no; "
       "the Docker image sets yes)")
      ("tls-listen", text()->value_name("HOST:PORT"),
       "also accept JSON-lines clients over TLS here (default: off; needs --tls-cert-file "
       "and --tls-key-file)")
      ("tls-port-file", text()->value_name("PATH"),
       "once the TLS JSON port listens, write its port number here (atomically)")
      ("tls-resp-listen", text()->value_name("HOST:PORT"),
       "also accept RESP clients over TLS here (default: off; Redis's TLS port is often 6380)")
      ("tls-resp-port-file", text()->value_name("PATH"),
       "once the TLS RESP port listens, write its port number here (atomically)")
      ("tls-cert-file", text()->value_name("FILE"),
       "PEM certificate chain the TLS ports present (with --check-tls: the check's client "
       "certificate)")
      ("tls-key-file", text()->value_name("FILE"), "PEM private key of --tls-cert-file")
      ("tls-ca-cert-file", text()->value_name("FILE"),
       "PEM CA certificates that client certificates must chain to (with --check-tls: "
       "that the server's must chain to)")
      ("tls-auth-clients", text()->value_name("yes|no|optional"),
       "TLS ports: require a client certificate signed by --tls-ca-cert-file, check one "
       "only if sent, or ask for none (default no)")
      ("tls-handshake-timeout", text()->value_name("SECONDS"),
       "close a TLS client whose handshake has not finished this long after connecting "
       "(default 10)")
      ("node-id", text()->value_name("ID"), "node id to answer as until init names one (default n1)")
      ("log-level", text()->value_name("LEVEL"),
       "trace|debug|info|warn|error|critical|off (default: SPDLOG_LEVEL, else info)")
      ("stdio", "serve stdin/stdout instead of TCP; exit at end of input")
      ("check", text()->value_name("HOST:PORT"),
       "health check: ask a running lsmd for stats, exit 0 if it answers within 2 s, else 1")
      ("check-tls",
       "with --check: connect with TLS, verify the server against --tls-ca-cert-file "
       "(else the system's CAs) and HOST, and present --tls-cert-file if given")
      ("test-flush-delay-ms", text()->value_name("N"),
       "TESTS ONLY: delay every flush by N ms before it writes its SSTable (default 0)")
      ("version", "print the version and exit")
      ("help,h", "print this help and exit");
  // clang-format on
  return desc;
}

std::string HelpText(const po::options_description& desc) {
  std::ostringstream out;
  out << "lsmd " << kVersion
      << ": a key-value store on an LSM tree; JSON lines over TCP, and the Redis\n"
      << "protocol (RESP2) with --resp-listen.\n\n"
      << "Usage: lsmd [options]\n"
      << "       lsmd --stdio [options]     (requests on stdin, replies on stdout)\n"
      << "       lsmd --check HOST:PORT [--check-tls]  (health check)\n\n"
      << desc << "\n"
      << "SPDLOG_LEVEL is read when neither --log-level nor LSMD_LOG_LEVEL is set.\n"
      << "Exit codes: 0 clean shutdown, 1 runtime failure (e.g. data dir locked), 2 bad options.\n";
  return out.str();
}

}  // namespace lsmd::server
