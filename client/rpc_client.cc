#include "client/rpc_client.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
}

}  // namespace

std::string RpcTarget::GrpcTarget() const {
  return connect.empty() ? absl::StrCat("unix:", socket_path) : connect;
}

std::string RpcTarget::Description() const {
  if (connect.empty()) return socket_path;
  return absl::StrCat(connect, insecure ? " (plaintext)" : " (TLS)");
}

RpcClient::RpcClient(RpcTarget target, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : target_(std::move(target)), credentials_(std::move(credentials)) {
  ResetChannel();
}

void RpcClient::ResetChannel() {
  grpc::ChannelArguments args;
  // Keep gRPC's own reconnect backoff short too (its default grows to two
  // minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(target_.GrpcTarget(), credentials_, args);
  std::shared_ptr<v1::Monitor::Stub> stub = v1::Monitor::NewStub(channel);
  absl::MutexLock lock(&mu_);
  stub_ = std::move(stub);
}

std::shared_ptr<v1::Monitor::Stub> RpcClient::Stub() {
  absl::MutexLock lock(&mu_);
  return stub_;
}

absl::StatusOr<std::unique_ptr<RpcClient>> RpcClient::Create(const RpcTarget& target) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (target.connect.empty() || target.insecure) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!target.tls_ca.empty()) {
      auto ca = ReadFile("--tls-ca", target.tls_ca);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!target.tls_cert.empty()) {
      auto cert = ReadFile("--tls-cert", target.tls_cert);
      if (!cert.ok()) return cert.status();
      auto key = ReadFile("--tls-key", target.tls_key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  }
  return std::unique_ptr<RpcClient>(new RpcClient(target, std::move(credentials)));
}

bool RpcClient::Begin(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return false;
  in_flight_.push_back(context);
  return true;
}

void RpcClient::End(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  std::erase(in_flight_, context);
}

void RpcClient::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (grpc::ClientContext* context : in_flight_) context->TryCancel();
}

absl::StatusOr<v1::ListConnectionsResponse> RpcClient::ListConnections(
    const v1::ListConnectionsRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  if (!Begin(&context)) return absl::CancelledError("shutting down");
  v1::ListConnectionsResponse response;
  absl::Status s = FromGrpc(Stub()->ListConnections(&context, request, &response));
  End(&context);
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::Stats> RpcClient::GetStats(absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  if (!Begin(&context)) return absl::CancelledError("shutting down");
  v1::Stats response;
  absl::Status s = FromGrpc(Stub()->GetStats(&context, v1::GetStatsRequest(), &response));
  End(&context);
  if (!s.ok()) return s;
  return response;
}

template <typename Response, typename Call>
absl::StatusOr<Response> RpcClient::Unary(absl::Duration timeout, Call&& call) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  if (!Begin(&context)) return absl::CancelledError("shutting down");
  Response response;
  absl::Status s = FromGrpc(call(Stub().get(), &context, &response));
  End(&context);
  if (!s.ok()) return s;
  return response;
}

// The data tabs' calls.
absl::StatusOr<v1::GroupConnectionsResponse> RpcClient::GroupConnections(
    const v1::GroupConnectionsRequest& request, absl::Duration timeout) {
  return Unary<v1::GroupConnectionsResponse>(
      timeout, [&](v1::Monitor::Stub* stub, grpc::ClientContext* context, auto* response) {
        return stub->GroupConnections(context, request, response);
      });
}

absl::StatusOr<v1::GetTimelineResponse> RpcClient::GetTimeline(
    const v1::GetTimelineRequest& request, absl::Duration timeout) {
  return Unary<v1::GetTimelineResponse>(
      timeout, [&](v1::Monitor::Stub* stub, grpc::ClientContext* context, auto* response) {
        return stub->GetTimeline(context, request, response);
      });
}

absl::StatusOr<v1::ListInterfacesResponse> RpcClient::ListInterfaces(
    const v1::ListInterfacesRequest& request, absl::Duration timeout) {
  return Unary<v1::ListInterfacesResponse>(
      timeout, [&](v1::Monitor::Stub* stub, grpc::ClientContext* context, auto* response) {
        return stub->ListInterfaces(context, request, response);
      });
}

absl::StatusOr<v1::QueryHistoryResponse> RpcClient::QueryHistory(
    const v1::QueryHistoryRequest& request, absl::Duration timeout) {
  return Unary<v1::QueryHistoryResponse>(
      timeout, [&](v1::Monitor::Stub* stub, grpc::ClientContext* context, auto* response) {
        return stub->QueryHistory(context, request, response);
      });
}

bool RpcClient::IsLinkFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:  // The daemon shut down during the call.
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnimplemented:  // Something else listens there.
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown: return true;
    default: return false;
  }
}

LinkProblem RpcClient::DescribeFailure(const absl::Status& status) const {
  LinkProblem p;
  p.target = target_.Description();
  p.detail = absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  if (!target_.connect.empty()) {
    const std::string message(status.message());
    if (status.code() == absl::StatusCode::kDeadlineExceeded) {
      p.reason = "The daemon did not answer in time.";
    } else if (!target_.insecure && (message.find("andshake") != std::string::npos ||
                                     message.find("SSL") != std::string::npos ||
                                     message.find("certificate") != std::string::npos ||
                                     // TLS 1.3: a server that wants a client
                                     // certificate closes after the handshake.
                                     message.find("Socket closed") != std::string::npos)) {
      p.reason =
          "The TLS handshake failed: the daemon's certificate is not trusted or does not name "
          "this host, it wants a client certificate, or it does not speak TLS there.";
    } else {
      p.reason = "No rustnet API answers there.";
    }
    p.checks = {
        absl::StrCat("is rustnetd running there with --listen ", target_.connect,
                     target_.insecure ? " (or --insecure-listen)" : "", "?"),
        "can this machine reach that address and port (firewall)?",
    };
    if (!target_.insecure) {
      p.checks.push_back(
          "TLS: does --tls-ca hold the CA that signed the daemon's certificate, and does the "
          "certificate name this host? Does the daemon require a client certificate "
          "(--tls-cert, --tls-key)?");
    }
    return p;
  }

  const std::string& path = target_.socket_path;
  struct stat st {};
  const char* const kRunning = "is rustnetd running?  systemctl status rustnetd";
  const char* const kGroup =
      "is this user in group rustnet?  id -nG  (to add: sudo usermod -aG rustnet $USER, then "
      "log in again)";
  if (stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) {
      p.reason = absl::StrCat("Permission denied on a directory above ", path, ".");
      p.checks = {kGroup, kRunning};
    } else {
      p.reason = absl::StrCat("There is no socket at ", path,
                              ": rustnetd is not running, or it uses another --socket.");
      p.checks = {kRunning,
                  "started by hand with --socket PATH? Then run rustnet-tui --socket PATH", kGroup};
    }
  } else if (!S_ISSOCK(st.st_mode)) {
    p.reason = absl::StrCat(path, " is not a socket.");
    p.checks = {"give rustnet-tui the daemon's socket with --socket PATH", kRunning};
  } else if (access(path.c_str(), R_OK | W_OK) != 0) {
    group entry{};
    group* g = nullptr;
    char buffer[4096];
    getgrgid_r(st.st_gid, &entry, buffer, sizeof(buffer), &g);  // Thread-safe, unlike getgrgid.
    p.reason = absl::StrCat("Permission denied: the socket belongs to group ",
                            g != nullptr ? std::string(g->gr_name) : absl::StrCat(st.st_gid),
                            " and this user may not use it.");
    p.checks = {kGroup, kRunning};
  } else {
    p.reason = status.code() == absl::StatusCode::kDeadlineExceeded
                   ? "rustnetd did not answer in time (busy, or stopped with SIGSTOP?)."
                   : "The socket is there but nothing answers: rustnetd stopped or is restarting.";
    p.checks = {kRunning, kGroup};
  }
  return p;
}

}  // namespace rustnet::client
