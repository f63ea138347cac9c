#include "daemon/service/accept_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace rustnet {

absl::StatusOr<std::unique_ptr<AcceptLoop>> AcceptLoop::Start(int listen_fd, Handler handler) {
  const int flags = fcntl(listen_fd, F_GETFL);
  if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use the listening socket: ", std::strerror(errno)));
  }
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  std::unique_ptr<AcceptLoop> loop(new AcceptLoop(listen_fd, wake, std::move(handler)));
  loop->thread_ = std::thread([l = loop.get()] { l->Run(); });
  return loop;
}

AcceptLoop::AcceptLoop(int listen_fd, int wake_fd, Handler handler)
    : listen_fd_(listen_fd), wake_fd_(wake_fd), handler_(std::move(handler)) {}

AcceptLoop::~AcceptLoop() {
  Stop();
  close(wake_fd_);
}

void AcceptLoop::Stop() {
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
    // Cannot happen for an eventfd below its maximum; the join would hang.
    spdlog::error("accept loop: cannot wake the thread: {}", std::strerror(errno));
  }
  if (thread_.joinable()) thread_.join();
}

void AcceptLoop::Run() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  bool warned = false;
  while (true) {
    fds[0].revents = fds[1].revents = 0;
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("accept loop: poll: {}; no longer accepting API connections",
                    std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & (POLLERR | POLLNVAL)) != 0) {
      spdlog::error(
          "accept loop: the listening socket failed; no longer accepting API connections");
      return;
    }
    // Drain the backlog: the socket is non-blocking.
    while (true) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        warned = false;
        accepted_.fetch_add(1, std::memory_order_relaxed);
        handler_(fd);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the connection waits in the backlog;
        // back off instead of spinning on a readable socket.
        if (!warned) {
          warned = true;
          spdlog::warn("accept loop: cannot accept an API connection: {}; retrying",
                       std::strerror(errno));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        break;
      }
      spdlog::error("accept loop: accept: {}; no longer accepting API connections",
                    std::strerror(errno));
      return;
    }
  }
}

}  // namespace rustnet
