#include "daemon/service/listen_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

// The socket's own address, as sockaddr_un spells it (unix(7)).
std::string SocketName(int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  const size_t header = offsetof(sockaddr_un, sun_path);
  if (len <= header) return "";  // Unnamed.
  const size_t n = len - header;
  if (addr.sun_path[0] == '\0') return absl::StrCat("@", std::string(addr.sun_path + 1, n - 1));
  return std::string(addr.sun_path, strnlen(addr.sun_path, n));
}

}  // namespace

absl::StatusOr<std::optional<PassedSocket>> TakePassedSocket() {
  // 1: unset LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES, so nothing we might start
  // takes the socket for its own.
  const int n = sd_listen_fds(1);
  if (n < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot take the sockets passed by the service manager: ", std::strerror(-n),
                     "; check rustnetd.socket"));
  }
  if (n == 0) return std::nullopt;
  if (n > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the service manager passed ", n,
        " sockets; rustnetd takes exactly one (one ListenStream= path in rustnetd.socket)"));
  }
  const int fd = SD_LISTEN_FDS_START;
  // type SOCK_STREAM, listening (1), any path (nullptr, 0).
  const int is_unix = sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0);
  if (is_unix <= 0) {
    return absl::InvalidArgumentError(
        "the socket passed by the service manager is not a listening Unix stream socket; "
        "rustnetd.socket needs ListenStream=/run/rustnet/rustnetd.sock (a path, not a port)");
  }
  // sd_listen_fds leaves passed descriptors inheritable.
  const int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  PassedSocket socket;
  socket.fd = fd;
  socket.path = SocketName(fd);
  return socket;
}

}  // namespace rustnet
