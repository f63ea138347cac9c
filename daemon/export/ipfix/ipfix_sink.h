// IpfixSink: `rustnetd --ipfix udp://HOST:PORT` (or tcp://, several
// allowed; --netflow-v9 for older collectors): flow records to IPFIX
// (RFC 7011) or NetFlow v9 collectors such as nfdump's nfcapd and pmacct's
// nfacctd. Formats and elements: daemon/export/ipfix/flow_encoder.h;
// transports: collector.h.
//
// What is exported, and how the counts add up to what the table saw:
//  - A connection that leaves the table (OnClosed) is exported once with
//    what it gained since its last export: flowEndReason idle timeout (1),
//    end of flow (3: FIN, RST, or its 5-tuple reused) or lack of resources
//    (5: evicted at --max-connections).
//  - A long-lived one is exported every --ipfix-active-timeout with the
//    delta since its last export (flowEndReason 2). These come from the
//    workers' immutable snapshots (daemon/snapshot/snapshot_store.h), which
//    the pipeline hands to OnSnapshot as it publishes them: the sink reads
//    them on its own thread and never touches a worker's table. It keeps
//    the counters it last exported per connection id (at most
//    `max_tracked`; past that a connection is exported whole at its end).
//  - At the end (OnFinalTable: shutdown, or the replayed file ended with
//    --dump) every connection still open is exported with flowEndReason
//    forced end (4), so a capture turns into IPFIX.
//  The time is the packets' clock (the pipeline's), so a replayed capture
//  gives the same records whenever it is replayed.
// One record per direction that carried packets (A->B and B->A as
// source/destination), or with `biflow` one per connection (RFC 5103: the
// initiator's direction forward, the other reverse). tcpControlBits is the
// union of the flags seen on the connection (the table keeps no per-
// direction flags). ICMP and ICMPv6 records carry ports 0 (rustnet keys
// echo sessions by identifier; collectors read ports as type and code).
//
// Bounded, never a wait on the packet path: OnClosed copies the records
// into a queue of at most `queue_capacity` and OnSnapshot queues a pointer
// (at most kMaxQueuedSnapshots; more are skipped, which only delays
// deltas); what does not fit is dropped and counted. Collectors drop and
// count on their side (collector.h).
//
// Threads: OnClosed and OnSnapshot from the workers; OnFinalTable, Flush
// and the destructor from the owning thread; stats() from any thread. The
// sink has one thread of its own, started by Open and ended by OnFinalTable
// (or the destructor).
#ifndef RUSTNET_DAEMON_EXPORT_IPFIX_IPFIX_SINK_H_
#define RUSTNET_DAEMON_EXPORT_IPFIX_IPFIX_SINK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/export/ipfix/collector.h"
#include "daemon/export/ipfix/flow_encoder.h"
#include "daemon/snapshot/connection_sink.h"

namespace rustnet {

struct IpfixSinkOptions {
  std::vector<std::string> collectors;  // URLs (collector.h).
  ipfix::Format format = ipfix::Format::kIpfix;
  bool biflow = false;
  uint32_t observation_domain = 0;
  int64_t active_timeout_us = 60'000'000;  // 0: only final records.
  absl::Duration template_refresh = absl::Seconds(60);
  uint32_t ingress_interface = 0;  // ifIndex of the capture interface; 0 for files.
  size_t queue_capacity = 65536;   // Closed connections waiting for the thread.
  size_t max_tracked = 1'000'000;  // Connections whose last export is remembered.
  // The final table repeats connections already exported closed (--dump
  // json --dump-expired): remember their ids and leave them out.
  bool final_table_repeats_closed = false;
  absl::Duration close_timeout = absl::Seconds(3);  // TCP: sending the rest at the end.
};

// FlowRecords for `c`: what it gained since `base` (zeros: since it
// began), per direction or as one biflow. `start_us`: the first packet of
// the delta (first seen, or the previous export's last seen).
struct ExportedCounters {
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  int64_t last_seen_us = 0;  // 0: never exported.
};
void MakeFlowRecords(const Connection& c, const ExportedCounters& base, ipfix::EndReason reason,
                     bool biflow, uint32_t ingress_interface,
                     std::vector<ipfix::FlowRecord>* out);

class IpfixSink final : public ConnectionSink {
 public:
  static absl::StatusOr<std::unique_ptr<IpfixSink>> Open(IpfixSinkOptions options);
  ~IpfixSink() override;
  IpfixSink(const IpfixSink&) = delete;
  IpfixSink& operator=(const IpfixSink&) = delete;

  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override;
  void OnSnapshot(size_t worker, const std::shared_ptr<const WorkerSnapshot>& snapshot) override;
  // Exports what is queued, then every row (forced end), then closes the
  // collectors (TCP sends what it queued, up to close_timeout).
  void OnFinalTable(const FinalTable& table) override;
  absl::Status Flush() override { return absl::OkStatus(); }

  struct Stats {
    uint64_t records = 0;         // Flow records made (per collector, see collectors).
    uint64_t queue_dropped = 0;   // Closed connections the queue had no room for.
    uint64_t snapshots_skipped = 0;
    std::vector<ipfix::CollectorStats> collectors;
  };
  Stats stats() const;

 private:
  struct Item {
    std::shared_ptr<const WorkerSnapshot> snapshot;  // Non-null: a snapshot.
    Connection connection;                           // Else: a closed connection.
    CloseReason reason = CloseReason::kNone;
    int64_t time_us = 0;
  };

  explicit IpfixSink(IpfixSinkOptions options);
  void Run();
  void StopThread();
  void Process(std::vector<Item>* items);
  void ExportClosed(const Connection& c, ipfix::EndReason reason, int64_t time_us);
  void ExportActive(const WorkerSnapshot& snapshot);
  void Send();  // Exports records_ to every collector and clears them.

  const IpfixSinkOptions options_;
  std::vector<std::unique_ptr<ipfix::Collector>> collectors_;

  absl::Mutex mu_;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_closed_ ABSL_GUARDED_BY(mu_) = 0;
  size_t queued_snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;

  // The sink thread's (then the owner's, after join).
  absl::flat_hash_map<uint64_t, ExportedCounters> exported_;
  absl::flat_hash_set<uint64_t> closed_ids_;  // With final_table_repeats_closed.
  std::vector<ipfix::FlowRecord> records_;
  int64_t clock_us_ = 0;  // The latest packet clock heard of.

  std::atomic<uint64_t> made_{0}, queue_dropped_{0}, snapshots_skipped_{0};
  std::thread thread_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_EXPORT_IPFIX_IPFIX_SINK_H_
