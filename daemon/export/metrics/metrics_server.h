// MetricsServer: `rustnetd --metrics-listen HOST:PORT`, the HTTP endpoint
// Prometheus scrapes (GET /metrics). HTTP is GNU libmicrohttpd's (Debian's
// libmicrohttpd-dev), never parsed here.
//
// Abuse stays bounded: the server runs one thread of its own (a scrape
// never runs on a capture or worker thread) with at most
// kConnectionLimit connections, kPerIpLimit from one address (more are
// closed as they are accepted), each closed after kTimeoutSeconds idle
// (slowloris), and kMemoryLimit bytes for a request's line and headers
// (more: 414 or 431 and closed). Garbage, or a TLS ClientHello on the plain
// port, gets 400 and is closed. Only GET and HEAD of /metrics are served
// (other paths 404, other methods 405); `/` names the endpoint. With
// --metrics-web-config (web_config.h): TLS (GnuTLS, through
// libmicrohttpd) and basic authentication, checked before anything else;
// a failed check is 401 and counted in errors. A bcrypt check takes tens
// of milliseconds on the server's thread: scrapes wait behind a client
// that keeps guessing, capture does not.
//
// Threads: Start and the destructor on the owning thread; the render
// callback and the counters on the server's thread; stats() from any.
#ifndef RUSTNET_DAEMON_EXPORT_METRICS_METRICS_SERVER_H_
#define RUSTNET_DAEMON_EXPORT_METRICS_METRICS_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/export/metrics/exposition.h"
#include "daemon/export/metrics/web_config.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace rustnet {

struct MetricsServerOptions {
  std::string listen;  // HOST:PORT; a numeric address or "localhost". Port 0: any.
  std::function<std::string(ExpositionFormat)> render;
  // --metrics-web-config: TLS when web.cert_pem is set, basic
  // authentication (401 without the right user and password) when
  // web.users is not empty.
  WebConfig web;
};

class MetricsServer {
 public:
  static constexpr unsigned kConnectionLimit = 128;
  static constexpr unsigned kPerIpLimit = 32;
  static constexpr unsigned kTimeoutSeconds = 10;
  static constexpr size_t kMemoryLimit = 32 * 1024;

  struct Stats {
    uint64_t scrapes = 0;       // GET /metrics answered with 200.
    uint64_t errors = 0;        // Requests answered with 4xx/5xx by us (401 included).
    uint64_t connections = 0;   // Accepted since the start.
    uint64_t open = 0;          // Open now.
  };

  // Listens, or says in one sentence why it cannot.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(MetricsServerOptions options);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& listen() const { return options_.listen; }
  Stats stats() const;

  // Called by libmicrohttpd on the server's thread (metrics_server.cc).
  bool Answer(MHD_Connection* connection, std::string_view url, std::string_view method);
  bool Authorized(MHD_Connection* connection) const;
  void Connected(bool opened);

 private:
  explicit MetricsServer(MetricsServerOptions options) : options_(std::move(options)) {}

  MetricsServerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  std::atomic<uint64_t> scrapes_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> open_{0};
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_METRICS_METRICS_SERVER_H_
