// ApiServer: the gRPC server that carries rustnet.v1.Monitor, server
// reflection and grpc.health.v1.Health, on a Unix socket and optionally a
// TLS (or, only when asked explicitly, plaintext) TCP listener.
//
// The Unix socket's owner, group and mode are the access control: it is
// created 0660 (group `rustnet` when that group exists, or --socket-group),
// in a directory made 0755 if missing. A stale socket from a dead daemon is
// replaced; a live daemon on it is an error.
//
// Socket activation: given a listening socket systemd made (listen_fd),
// the server serves it instead and leaves the file alone (systemd owns it,
// with its own mode and group). gRPC listens on Unix sockets only by path,
// so an AcceptLoop thread accepts and hands each connection to gRPC's
// external connection acceptor.
//
// Thread-safety: Start/Shutdown from the main thread.
#ifndef RUSTNET_DAEMON_RPC_SERVER_H_
#define RUSTNET_DAEMON_RPC_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/rpc/monitor_service.h"

namespace rustnet {

class AcceptLoop;

inline constexpr char kDefaultSocketPath[] = "/run/rustnet/rustnetd.sock";
// Server threads beyond --max-streams, for every other call in flight.
inline constexpr int kExtraApiThreads = 256;

// Sends gRPC's and protobuf's own diagnostics to spdlog (debug) instead of
// stderr. Idempotent.
void RouteLibraryLogging();
// Stops that for good; call before spdlog::shutdown() (also run at exit).
void StopLibraryLogging();

struct ApiServerOptions {
  std::string socket_path = kDefaultSocketPath;  // "unix:" prefix optional.
  std::string socket_group;     // Empty: "rustnet" if it exists, else the daemon's.
  bool socket_group_set = false;  // --socket-group given: the group must exist.
  std::string listen;           // HOST:PORT for TLS; empty: none.
  std::string tls_cert;         // PEM files.
  std::string tls_key;
  std::string tls_client_ca;    // Non-empty: require and verify client certificates.
  std::string insecure_listen;  // HOST:PORT, plaintext (explicitly asked for).
  // A listening Unix socket passed by systemd (not owned: it stays open);
  // -1: create socket_path. When set, socket_path only names it in logs.
  int listen_fd = -1;
  int max_streams = 64;
  int max_request_bytes = 64 * 1024;
};

class ApiServer {
 public:
  // Prepares the socket path, starts listening. Errors are one sentence
  // telling the user what to do.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const ApiServerOptions& options,
                                                          MonitorService* service);
  ~ApiServer();

  // Ends streams, stops accepting, waits up to `grace` for calls in flight,
  // and removes the socket file (unless systemd passed it).
  void Shutdown(absl::Duration grace);
  // The service it serves (not owned).
  MonitorService* service() const { return service_; }

  // The socket file path and any TCP address actually bound (with the port
  // chosen when the option said :0).
  const std::string& socket_path() const { return socket_path_; }
  const std::string& tcp_address() const { return tcp_address_; }

 private:
  ApiServer();
  // Declared before server_, so it outlives it.
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AcceptLoop> accept_loop_;  // For a passed socket.
  bool owns_socket_file_ = true;
  MonitorService* service_ = nullptr;
  std::string socket_path_;
  std::string tcp_address_;
  bool shut_down_ = false;
};

// Strips "unix:" / "unix://" from a --socket value.
std::string SocketFilePath(const std::string& value);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RPC_SERVER_H_
