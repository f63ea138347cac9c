// AppRecord: what deep packet inspection learned about one connection.
//
// Immutable once published: a worker builds a new record whenever a
// dissector adds facts (ClientHello, then ServerHello) and swaps the
// connection's shared pointer, so snapshots share records without copying
// strings and readers never see one half-written.
//
// Thread-safety: immutable after construction.
#ifndef RUSTNET_DAEMON_DPI_APP_RECORD_H_
#define RUSTNET_DAEMON_DPI_APP_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rustnet {

// Mirrors rustnet.v1.AppProtocol (same numbers).
enum class AppProtocol : uint8_t {
  kUnknown = 0,
  kHttp = 1,
  kTls = 2,
  kDns = 3,
  kSsh = 4,
  kQuic = 5,
  kNtp = 6,
  kMdns = 7,
  kDhcp = 8,
  kStun = 9,
};

struct HttpFacts {
  std::string method, host, path, user_agent, version;
  uint16_t status = 0;
};

struct TlsFacts {
  std::string sni;
  std::vector<std::string> alpn;
  std::vector<std::string> offered_versions;
  std::string version;       // Negotiated.
  std::string cipher_suite;  // Negotiated, "0x1301".
  bool ech_offered = false;
  std::string ja4;
  bool client_hello_seen = false;
};

struct DnsFacts {
  std::string query;
  std::string query_type;
  std::string response_code;
  std::vector<std::string> answers;
  bool over_tcp = false;
};

struct SshFacts {
  std::string client, server;
};

struct AppRecord {
  AppProtocol protocol = AppProtocol::kUnknown;
  HttpFacts http;
  TlsFacts tls;  // TLS, and QUIC's inner handshake.
  DnsFacts dns;
  SshFacts ssh;
  std::string quic_version;
  std::string dhcp_hostname;

  // The best name for the remote end and where it came from.
  std::string Hostname() const;
  std::string_view HostnameSource() const;
  // "HTTPS · example.com", "DNS · example.com", "SSH · OpenSSH_9.2p1".
  std::string Label() const;
};

std::string_view AppProtocolName(AppProtocol p);  // "http", "tls", ...

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_APP_RECORD_H_
