// Collector: one IPFIX / NetFlow v9 collector rustnetd exports to, over UDP
// or TCP (`--ipfix udp://HOST:PORT`, `tcp://HOST:PORT`).
//
// Each collector has its own encoder (daemon/export/ipfix/flow_encoder.h),
// so sequence numbers are per Transport Session as RFC 7011 §3.1 wants.
//  - UDP: Export encodes and sends at once from the caller's thread, on a
//    non-blocking socket; a datagram the kernel refuses (buffer full,
//    ICMP port unreachable from a collector that is down) is dropped and
//    its records counted. Templates go out in the first message and again
//    every `template_refresh` and every 4,096 messages (RFC 7011 §8.4), so
//    a collector started late decodes within one refresh.
//  - TCP: Export encodes and queues; a thread of the collector's own
//    connects, sends the templates first on every new connection (§8.3),
//    then the queue. The queue is bounded (`queue_messages`); when full,
//    messages are dropped and their records counted. A failed connect or
//    write closes the connection and retries after a backoff that doubles
//    from 100 ms up to `max_backoff`; the exporter never waits for it.
//
// Threads: Export, Close and the destructor from the exporter's thread;
// stats() from any thread; TCP has one thread of its own.
#ifndef RUSTNET_DAEMON_EXPORT_IPFIX_COLLECTOR_H_
#define RUSTNET_DAEMON_EXPORT_IPFIX_COLLECTOR_H_

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/export/ipfix/flow_encoder.h"

namespace rustnet::ipfix {

struct CollectorAddress {
  bool tcp = false;
  std::string host;  // Without brackets for IPv6 literals.
  uint16_t port = 0;
  std::string url;   // As given: "udp://127.0.0.1:4739".
};

// Parses udp://HOST:PORT or tcp://HOST:PORT (IPv6 as [::1]); an error is
// one sentence saying what was expected.
absl::StatusOr<CollectorAddress> ParseCollectorUrl(std::string_view url);

struct CollectorOptions {
  EncoderOptions encoder;
  absl::Duration template_refresh = absl::Seconds(60);  // UDP.
  size_t queue_messages = 4096;                         // TCP: ~6 MB at most.
  absl::Duration max_backoff = absl::Seconds(30);       // TCP reconnects.
  // On Close, how long TCP may take to send what is queued.
  absl::Duration close_timeout = absl::Seconds(3);
};

struct CollectorStats {
  std::string url;
  uint64_t records = 0;     // Data records sent.
  uint64_t packets = 0;     // Messages sent (templates included).
  uint64_t bytes = 0;       // Their bytes.
  uint64_t dropped = 0;     // Data records not sent (queue full, send failed, down).
  uint64_t reconnects = 0;  // TCP: connections made after the first.
  bool connected = false;   // TCP: connected now; UDP: always.
};

class Collector {
 public:
  // Resolves the host and, for UDP, opens the socket. TCP connects on its
  // thread (a collector down at start is retried, not an error).
  static absl::StatusOr<std::unique_ptr<Collector>> Open(const CollectorAddress& address,
                                                         CollectorOptions options);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Encodes and sends (UDP) or queues (TCP) `records`; `export_ms` is the
  // export clock. Never blocks.
  void Export(std::span<const FlowRecord> records, int64_t export_ms);
  // TCP: sends what is queued (up to close_timeout) and ends the thread.
  void Close();

  CollectorStats stats() const;

 private:
  Collector(CollectorAddress address, CollectorOptions options);
  void SendUdp(std::string_view bytes, uint32_t records);
  void RunTcp();
  bool ConnectTcp();  // On the TCP thread.
  bool WriteAll(int fd, std::string_view bytes);

  const CollectorAddress address_;
  const CollectorOptions options_;
  FlowEncoder encoder_;  // The exporter thread's.
  // The resolved address.
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int udp_fd_ = -1;
  absl::Time last_templates_ = absl::InfinitePast();  // UDP, exporter thread.
  uint64_t messages_since_templates_ = 0;              // UDP, exporter thread.

  absl::Mutex mu_;
  std::deque<FlowEncoder::Message> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t last_export_ms_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;  // The encoder's, after the last Export.
  std::thread tcp_thread_;
  int tcp_fd_ = -1;  // The TCP thread's.

  std::atomic<uint64_t> records_{0}, packets_{0}, bytes_{0}, dropped_{0}, reconnects_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace rustnet::ipfix

#endif  // RUSTNET_DAEMON_EXPORT_IPFIX_COLLECTOR_H_
