// Socket activation (sd_listen_fds(3)): the listening Unix socket systemd
// (rustnetd.socket) or systemd-socket-activate passed us, if any.
//
// Thread-safety: call once, from the main thread, before other threads
// start (it reads and unsets the LISTEN_* environment variables).
#ifndef RUSTNET_DAEMON_SERVICE_LISTEN_FDS_H_
#define RUSTNET_DAEMON_SERVICE_LISTEN_FDS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace rustnet {

struct PassedSocket {
  int fd = -1;       // A listening AF_UNIX SOCK_STREAM socket, close-on-exec.
  std::string path;  // Its address: a path, "@name" if abstract, "" if unnamed.
};

// nullopt when nothing was passed (no LISTEN_FDS, or LISTEN_PID is not us).
// An error (one sentence) when more than one descriptor was passed or the
// one passed is not a listening Unix stream socket: rustnetd.socket must
// have exactly one ListenStream= with a path.
absl::StatusOr<std::optional<PassedSocket>> TakePassedSocket();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SERVICE_LISTEN_FDS_H_
