// MonitorService: the rustnet.v1.Monitor gRPC service over the pipeline's
// snapshots and events.
//
// Uses gRPC's synchronous API: each call runs on a gRPC thread, and each
// stream holds one thread for its life, so streams are limited
// (max_streams; more are refused with RESOURCE_EXHAUSTED) and the server's
// thread quota is sized to match. Streams never touch the workers: they read
// immutable snapshots and the EventHub's ring, so a stalled client only
// stalls its own thread (it skips updates, counted, and sends the newest
// snapshot when it can).
//
// Thread-safety: all RPC methods run concurrently on gRPC threads;
// BeginShutdown from any thread.
#ifndef RUSTNET_DAEMON_RPC_MONITOR_SERVICE_H_
#define RUSTNET_DAEMON_RPC_MONITOR_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/snapshot/closed_history.h"
#include "daemon/rpc/query.h"
#include "daemon/snapshot/event_hub.h"
#include "rustnet/v1/monitor.grpc.pb.h"

namespace rustnet {

struct MonitorServiceOptions {
  std::string version;
  int max_streams = 64;               // Concurrent Watch* streams.
  int min_interval_ms = 100;          // WatchConnections floor.
  int default_interval_ms = 1000;
  size_t max_connections = 0;         // For Stats (the table's capacity).
  size_t workers = 0;
  // The in-memory history of closed connections (include_closed and
  // GetStats); null when off (--history-size 0, one-shot dumps). Not owned.
  const ClosedHistory* history = nullptr;
  // GeoIP and MAC vendors for the rows returned (enrichment.h); main's.
  Enrichment enrich;
  // Fills in the sinks' own statistics (Stats.json_log); the sinks are
  // main's (daemon/export/, a stage the API does not link). Empty: none.
  std::function<void(rustnet::v1::Stats*)> export_stats;
  // Answers QueryHistory from the history store (main's: the API does not
  // link daemon/history_store/). Called with a request already checked
  // (sort and order known, limit 1 to kMaxHistoryLimit). Empty: no store,
  // and QueryHistory is FAILED_PRECONDITION. InvalidArgument from it (a bad
  // filter) is INVALID_ARGUMENT, anything else UNAVAILABLE.
  std::function<absl::StatusOr<rustnet::v1::QueryHistoryResponse>(
      const rustnet::v1::QueryHistoryRequest&)>
      query_history;
};

// QueryHistory's largest page (and the page a limit of 0 gets).
inline constexpr uint32_t kMaxHistoryLimit = 10'000;

class MonitorService final : public rustnet::v1::Monitor::Service {
 public:
  MonitorService(MonitorServiceOptions options, const Pipeline* pipeline, EventHub* events);

  grpc::Status ListConnections(grpc::ServerContext* context,
                               const rustnet::v1::ListConnectionsRequest* request,
                               rustnet::v1::ListConnectionsResponse* response) override;
  grpc::Status WatchConnections(grpc::ServerContext* context,
                                const rustnet::v1::WatchConnectionsRequest* request,
                                grpc::ServerWriter<rustnet::v1::ConnectionsUpdate>* writer) override;
  grpc::Status WatchEvents(grpc::ServerContext* context,
                           const rustnet::v1::WatchEventsRequest* request,
                           grpc::ServerWriter<rustnet::v1::ConnectionEvent>* writer) override;
  grpc::Status GetStats(grpc::ServerContext* context, const rustnet::v1::GetStatsRequest* request,
                        rustnet::v1::Stats* response) override;
  grpc::Status ListInterfaces(grpc::ServerContext* context,
                              const rustnet::v1::ListInterfacesRequest* request,
                              rustnet::v1::ListInterfacesResponse* response) override;

  grpc::Status QueryHistory(grpc::ServerContext* context,
                            const rustnet::v1::QueryHistoryRequest* request,
                            rustnet::v1::QueryHistoryResponse* response) override;

  grpc::Status GroupConnections(grpc::ServerContext* context,
                                const rustnet::v1::GroupConnectionsRequest* request,
                                rustnet::v1::GroupConnectionsResponse* response) override;
  grpc::Status GetTimeline(grpc::ServerContext* context,
                           const rustnet::v1::GetTimelineRequest* request,
                           rustnet::v1::GetTimelineResponse* response) override;

  // Makes every stream finish promptly (status OK) and refuses new ones.
  void BeginShutdown();
  // Gives freed memory back to the system if a stream ended since the last
  // time and a second has passed (ReleaseMemorySoon trims at most once a
  // second; the streams that end within that second are trimmed here).
  // rustnetd's main loop calls it every 200 ms.
  void TrimIfPending();
  int active_streams() const { return active_streams_.load(); }

 private:
  // RAII slot in the stream limit.
  class StreamSlot;
  // Sleeps until `deadline`, the client cancels, or shutdown; false if the
  // stream should end.
  bool WaitUntil(grpc::ServerContext* context, absl::Time deadline);
  void FillStats(rustnet::v1::Stats* out) const;
  // Fills a page from the live snapshots and, when asked and kept, the
  // closed connections' history.
  void Query(const ConnectionQuery& query, rustnet::v1::ListConnectionsResponse* out) const;
  void ReleaseMemorySoon();

  const MonitorServiceOptions options_;
  const Pipeline* pipeline_;
  EventHub* events_;
  const absl::Time started_ = absl::Now();
  absl::Notification shutdown_;
  std::atomic<int> active_streams_{0};
  std::atomic<uint64_t> updates_skipped_{0};
  std::atomic<uint64_t> events_lost_{0};
  std::atomic<uint64_t> streams_refused_{0};
  std::atomic<int64_t> last_trim_ms_{0};
  std::atomic<bool> trim_pending_{false};
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RPC_MONITOR_SERVICE_H_
