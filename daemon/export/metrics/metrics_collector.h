// MetricsCollector: what `GET /metrics` serves (daemon/export/metrics/
// metrics_server.h): the daemon's counters in the Prometheus exposition
// format, rendered per scrape from the same immutable snapshots the API
// reads (daemon/snapshot/snapshot_store.h) and the API's statistics. A
// scrape never touches the workers.
//
// Counters that must include closed connections (bytes, packets, opened,
// closed, retransmissions, process bytes) add two parts: cumulative totals
// of the connections that left the table, kept here by OnClosed (this is a
// ConnectionSink), and the live snapshot at scrape time. The totals are
// keyed by low-cardinality labels only (protocol x application, protocol x
// close reason, process name up to kMaxProcessNames), never per connection.
//
// Why the exposed counters never go down or count a connection twice:
// a worker hands over the connections it removed (OnClosed) before it
// publishes its next snapshot, and publishes only every snapshot interval,
// so for a while a closed connection is both in the totals and in the last
// published snapshot. Each close therefore waits in a bounded `pending`
// list (id and counters) until a scrape sees that its id is in no current
// snapshot; only then does it join the totals. A scrape reads the
// snapshots first and takes the pending list after, so a connection is
// counted once: live while a snapshot still holds it (with the counters it
// had then), closed after (with its final counters, never smaller). If the
// pending list fills between scrapes (max_pending closes), those that left
// before every worker's current snapshot was taken join the totals (they
// are in no snapshot: exact); if that frees too little (more than
// max_pending closes within one snapshot interval and no scrape), the
// oldest join at once and may be counted twice until their worker
// publishes. For that case every counter is exposed as max(last exposed,
// computed), so a dip never shows (the excess stays: a bounded overcount
// rather than a counter that goes down).
// process="other" is kept monotonic the same way when a process enters the
// top N (its bytes stay in "other" up to then, so the process series can
// sum to more than the total; rustnet_bytes_total is exact).
//
// Threads: OnClosed from the workers (one short lock per batch);
// Render from the HTTP server's thread (or any; scrapes are serialized).
#ifndef RUSTNET_DAEMON_EXPORT_METRICS_METRICS_COLLECTOR_H_
#define RUSTNET_DAEMON_EXPORT_METRICS_METRICS_COLLECTOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "daemon/export/metrics/exposition.h"
#include "daemon/record/process_record.h"
#include "daemon/snapshot/connection_sink.h"
#include "daemon/snapshot/snapshot_store.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {

struct MetricsCollectorOptions {
  std::string version;  // rustnet_build_info{version}
  // Processes named in rustnet_process_bytes_total; the rest are "other".
  size_t top_processes = 20;
  // The live table and the daemon's statistics are given by Attach (the
  // pipeline that owns them is made after its sinks).
  // Appends more families (the HTTP server's own counters); empty: none.
  std::function<void(ExpositionWriter*)> extra;
  size_t max_pending = 65'536;  // Closes waiting for the snapshots to move on.
};

class MetricsCollector final : public ConnectionSink {
 public:
  // Distinct process names with totals of their own; later names' closed
  // bytes count under "other" only.
  static constexpr size_t kMaxProcessNames = 4096;

  explicit MetricsCollector(MetricsCollectorOptions options);

  // The snapshots to read (not owned; null: no live table) and what fills
  // in the daemon's statistics (GetStats; empty: none). Before the
  // pipeline starts (workers read the snapshots' times in OnClosed) and
  // before the first Render, on the thread that then starts both.
  void Attach(const SnapshotStore* snapshots, std::function<void(rustnet::v1::Stats*)> stats) {
    snapshots_ = snapshots;
    stats_ = std::move(stats);
  }

  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override;
  // The final table stays in the snapshots, which scrapes keep reading.
  void OnFinalTable(const FinalTable& /*table*/) override {}
  absl::Status Flush() override { return absl::OkStatus(); }

  // One scrape: the whole exposition.
  std::string Render(ExpositionFormat format);

  // Traffic of a set of connections, by (protocol, application).
  struct Traffic {
    uint64_t bytes[2] = {0, 0};    // [0] in (received by the local end), [1] out.
    uint64_t packets[2] = {0, 0};
    uint64_t retransmissions = 0;
    uint64_t connections = 0;
  };
  struct Directions {
    uint64_t bytes[2] = {0, 0};  // in, out
  };

 private:
  struct Pending {
    uint64_t id = 0;
    uint8_t protocol = 0;
    uint8_t app = 0;
    CloseReason reason = CloseReason::kNone;
    int64_t time_us = 0;  // When it left, on its worker's clock.
    Traffic traffic;
    std::shared_ptr<const ProcessRecord> process;
  };
  struct Totals {
    absl::flat_hash_map<uint16_t, Traffic> traffic;        // protocol << 8 | app
    absl::flat_hash_map<uint16_t, uint64_t> closed;        // protocol << 8 | reason
    absl::flat_hash_map<std::string, Directions> process;  // name
    Directions other_process;  // Names past kMaxProcessNames.
  };

  static Pending PendingOf(const ClosedConnection& c);
  static void Commit(const Pending& p, Totals* totals);
  uint64_t Monotonic(std::string_view name, std::initializer_list<Label> labels, uint64_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(render_mu_);

  const MetricsCollectorOptions options_;
  const SnapshotStore* snapshots_ = nullptr;
  std::function<void(rustnet::v1::Stats*)> stats_;

  absl::Mutex mu_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  Totals totals_ ABSL_GUARDED_BY(mu_);

  absl::Mutex render_mu_;  // One scrape at a time.
  // The last value exposed per counter series; rebuilt each scrape.
  absl::flat_hash_map<std::string, uint64_t> last_ ABSL_GUARDED_BY(render_mu_);
  absl::flat_hash_map<std::string, uint64_t> seen_ ABSL_GUARDED_BY(render_mu_);
};

// The exporters' counters from GetStats' statistics, each family present
// only when its exporter is on: IPFIX per collector (label collector = the
// URL as given), the history store, the JSON log and the pcap export.
void WriteExportMetrics(const rustnet::v1::Stats& stats, ExpositionWriter* w);

// The usual process_* metrics of the Prometheus client libraries, from
// /proc/self: CPU seconds, resident and virtual memory, start time, open
// and maximum file descriptors.
void WriteProcessMetrics(ExpositionWriter* w);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_METRICS_METRICS_COLLECTOR_H_
