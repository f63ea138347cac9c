// AcceptLoop: a thread that accepts connections on a listening socket made
// by someone else (systemd's, for socket activation) and hands each one to
// a handler — for rustnetd, gRPC's external connection acceptor, since gRPC
// can listen on a Unix socket only by path.
//
// Accepted descriptors are non-blocking and close-on-exec (gRPC's endpoints
// need non-blocking ones: a blocking descriptor stalls its reads).
//
// Thread-safety: Start/Stop from one thread; the handler runs on the loop's
// own thread.
#ifndef RUSTNET_DAEMON_SERVICE_ACCEPT_LOOP_H_
#define RUSTNET_DAEMON_SERVICE_ACCEPT_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"

namespace rustnet {

class AcceptLoop {
 public:
  // Takes ownership of the accepted descriptor.
  using Handler = std::function<void(int fd)>;

  // Starts accepting on `listen_fd` (not owned: it stays open after Stop,
  // and is made non-blocking).
  static absl::StatusOr<std::unique_ptr<AcceptLoop>> Start(int listen_fd, Handler handler);
  ~AcceptLoop();
  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;

  // Stops accepting and joins the thread; idempotent. Connections not yet
  // accepted stay in the socket's backlog (for the next daemon).
  void Stop();

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  AcceptLoop(int listen_fd, int wake_fd, Handler handler);
  void Run();

  const int listen_fd_;
  const int wake_fd_;  // eventfd: Stop() writes to it.
  Handler handler_;
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SERVICE_ACCEPT_LOOP_H_
