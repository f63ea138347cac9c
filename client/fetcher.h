// The fetcher: rustnet-tui's background thread that talks to rustnetd.
//
// It asks ListConnections for the view model's current query (filter, sort,
// window) every refresh interval, and at once when the query changes, so a
// key press that needs other rows is answered without waiting for the next
// refresh. GetStats follows once per interval, and then the call the
// current tab needs (ApiRequest: GroupConnections, GetTimeline,
// ListInterfaces or QueryHistory), if any; a new tab request also wakes it. While the daemon cannot be
// reached it retries every second (or every interval, if shorter).
//
// Threads: the fetcher thread runs the RPCs; the UI thread calls SetQuery
// and Take. They share only the query and the newest result, under mu_.
#ifndef RUSTNET_CLIENT_FETCHER_H_
#define RUSTNET_CLIENT_FETCHER_H_

#include <algorithm>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/rpc_client.h"
#include "client/view_model.h"

namespace rustnet::client {

struct FetchResult {
  Query query;                                // What was asked.
  absl::Status status;                        // ListConnections' outcome.
  rustnet::v1::ListConnectionsResponse page;  // When status is OK.
  std::optional<rustnet::v1::Stats> stats;    // When GetStats was due and answered.
  std::optional<LinkProblem> problem;         // When the daemon could not be reached.
  std::optional<ApiReply> api;                // The tab's call, when one was asked for.
};

class Fetcher {
 public:
  // `rpc` must outlive the fetcher. `timeout` is every call's deadline.
  Fetcher(RpcClient* rpc, absl::Duration interval, absl::Duration timeout);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  void Start(const Query& query);
  // Cancels the call in flight (RpcClient::Shutdown) and joins the thread.
  void Stop();
  // Wakes the thread at once if `query` differs from the last one.
  void SetQuery(const Query& query);
  // The current tab's call (kind kNone: none). Wakes the thread when it
  // differs from the last one.
  void SetApiRequest(const ApiRequest& request);
  // The newest result not taken yet. Statistics from an older result that
  // was never taken are carried over.
  std::optional<FetchResult> Take();

  absl::Duration retry_interval() const { return std::min(interval_, absl::Seconds(1)); }

 private:
  void Run();
  ApiReply Call(const ApiRequest& api, const std::optional<rustnet::v1::Stats>& stats);
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return query_changed_ || stop_; }

  RpcClient* const rpc_;
  const absl::Duration interval_;
  const absl::Duration timeout_;

  absl::Mutex mu_;
  Query query_ ABSL_GUARDED_BY(mu_);
  ApiRequest api_ ABSL_GUARDED_BY(mu_);
  bool query_changed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<FetchResult> result_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_FETCHER_H_
