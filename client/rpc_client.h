// rustnet-tui's connection to rustnetd: a gRPC channel to the daemon's Unix
// socket, or to a remote daemon over TLS (or, explicitly, plaintext TCP),
// and the calls the TUI makes, each with a deadline.
//
// gRPC channels reconnect by themselves, but their backoff grows to seconds;
// after a failure the fetcher calls ResetChannel, so each retry makes a
// fresh connection attempt and a restarted daemon is seen at the next one. Failures are
// explained for humans by DescribeFailure (no socket, no permission, nothing
// answering, TLS trouble).
//
// Threads: the calls may be made from any thread (gRPC stubs are
// thread-safe); rustnet-tui makes them from its fetcher thread only.
#ifndef RUSTNET_CLIENT_RPC_CLIENT_H_
#define RUSTNET_CLIENT_RPC_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/view_model.h"
#include "grpcpp/security/credentials.h"
#include "rustnet/v1/monitor.grpc.pb.h"

namespace rustnet::client {

inline constexpr char kDefaultSocket[] = "/run/rustnet/rustnetd.sock";

struct RpcTarget {
  std::string socket_path = kDefaultSocket;  // Used when `connect` is empty.
  std::string connect;                       // HOST:PORT of a remote daemon.
  std::string tls_ca;                        // PEM file; empty: the system's roots.
  std::string tls_cert;                      // Client certificate (PEM), with tls_key.
  std::string tls_key;
  bool insecure = false;  // Plaintext TCP (--insecure-listen daemons).

  // "unix:/run/rustnet/rustnetd.sock" or "host:443".
  std::string GrpcTarget() const;
  // For people: "/run/rustnet/rustnetd.sock" or "host:443 (TLS)".
  std::string Description() const;
};

class RpcClient {
 public:
  // Reads the TLS files and makes the channel (it connects lazily). Errors
  // name the file that could not be read.
  static absl::StatusOr<std::unique_ptr<RpcClient>> Create(const RpcTarget& target);

  absl::StatusOr<rustnet::v1::ListConnectionsResponse> ListConnections(
      const rustnet::v1::ListConnectionsRequest& request, absl::Duration timeout);
  absl::StatusOr<rustnet::v1::Stats> GetStats(absl::Duration timeout);
  // The data tabs' calls (client/tabs/).
  absl::StatusOr<rustnet::v1::GroupConnectionsResponse> GroupConnections(
      const rustnet::v1::GroupConnectionsRequest& request, absl::Duration timeout);
  absl::StatusOr<rustnet::v1::GetTimelineResponse> GetTimeline(
      const rustnet::v1::GetTimelineRequest& request, absl::Duration timeout);
  absl::StatusOr<rustnet::v1::ListInterfacesResponse> ListInterfaces(
      const rustnet::v1::ListInterfacesRequest& request, absl::Duration timeout);
  absl::StatusOr<rustnet::v1::QueryHistoryResponse> QueryHistory(
      const rustnet::v1::QueryHistoryRequest& request, absl::Duration timeout);

  // True when `status` means the daemon could not be reached (as opposed to
  // a refused request).
  static bool IsLinkFailure(const absl::Status& status);
  // What to tell the user about a link failure.
  LinkProblem DescribeFailure(const absl::Status& status) const;

  // Drops the channel and makes a new one (it connects on the next call).
  void ResetChannel();
  // Cancels the calls in flight and makes later ones fail at once
  // (CANCELLED): quitting never waits for a deadline.
  void Shutdown();

  const RpcTarget& target() const { return target_; }

 private:
  RpcClient(RpcTarget target, std::shared_ptr<grpc::ChannelCredentials> credentials);
  std::shared_ptr<rustnet::v1::Monitor::Stub> Stub();
  // One unary call with a deadline, registered for Shutdown: `call(stub,
  // context, &response)` makes it.
  template <typename Response, typename Call>
  absl::StatusOr<Response> Unary(absl::Duration timeout, Call&& call);
  // Registers a call's context so Shutdown can cancel it; false after
  // Shutdown.
  bool Begin(grpc::ClientContext* context);
  void End(grpc::ClientContext* context);

  const RpcTarget target_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  std::shared_ptr<rustnet::v1::Monitor::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::vector<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_RPC_CLIENT_H_
