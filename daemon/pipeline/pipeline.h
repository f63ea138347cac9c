// Pipeline: the capture thread and the workers.
//
//   PacketSource --(capture thread: read, decode, pick worker)--> batches
//     --SpscQueue--> worker i: FlowTable (expire, publish snapshots)
//     <--SpscQueue-- empty batches come back for reuse
//
// A symmetric hash of the flow key picks the worker, so one worker owns a
// connection for its whole life and the per-packet path takes no locks.
// Time is the packets' own clock (capture timestamps); on an idle live link
// the capture thread sends empty "tick" batches carrying the wall clock, so
// workers still expire connections and publish snapshots. Replayed files
// never lose a packet (the capture thread waits for room); live capture
// never blocks on a slow worker (the batch is dropped and counted).
// With a packet export (--pcap-export), the capture thread also copies every
// frame it reads to the export, and each worker says which connection each
// of its packets belonged to (daemon/snapshot/packet_export.h), under the
// same rule: replays wait, live capture drops and counts.
//
// Capture fan-out (--capture-threads N, live only): N sources, each a
// socket of one PACKET_FANOUT group on the interface, each read by its own
// capture thread that decodes and hashes as above and hands the packet to
// the owning worker, through one queue per (capture thread, worker) pair
// (daemon/pipeline/fan_in.h: what is and is not kept in order).
//
// Thread-safety: Start/Stop/Join/Stats from the owning thread (Stop also
// from the signal thread); tables may be read directly only after Join.
#ifndef RUSTNET_DAEMON_PIPELINE_PIPELINE_H_
#define RUSTNET_DAEMON_PIPELINE_PIPELINE_H_

#include <atomic>
#include <deque>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/spsc_queue.h"
#include "daemon/pipeline/fan_in.h"
#include "daemon/capture/packet_source.h"
#include "daemon/decode/decoder.h"
#include "daemon/dpi/dns_cache.h"
#include "daemon/dpi/engine.h"
#include "daemon/process/attributor.h"
#include "daemon/snapshot/connection_sink.h"
#include "daemon/snapshot/event_hub.h"
#include "daemon/snapshot/packet_export.h"
#include "daemon/snapshot/snapshot_store.h"
#include "daemon/snapshot/timeline.h"
#include "daemon/track/flow_table.h"

namespace rustnet {

struct PipelineOptions {
  size_t workers = 2;
  size_t max_connections = 1'000'000;  // In total, whatever the hash gives each worker.
  bool no_localhost = false;
  std::shared_ptr<const LocalAddresses> local_addresses;  // Null for files.
  // Workers publish snapshots every interval of their clock; off for
  // one-shot dumps, which read the tables after Join().
  bool publish_snapshots = true;
  int64_t snapshot_interval_us = 1'000'000;
  size_t batch_size = 256;     // Packets per hand-off.
  size_t queue_batches = 64;   // Batches in flight per worker.
  // Where workers publish connection events while someone listens; may be
  // null (no events).
  EventHub* events = nullptr;
  bool dpi = true;  // --no-dpi turns it off.
  // One-shot dumps with --dump-expired: keep a copy of every connection
  // removed from the tables (memory grows with the connections seen).
  bool keep_removed = false;
  // Live capture: attribute connections to local processes (a thread that
  // reads sock_diag and /proc). Off for files and with --no-process.
  bool attribution = false;
  std::string proc_root = "/proc";
  bool attribution_procfs = false;  // Tests: /proc/net instead of netlink.
  bool ebpf = false;  // The eBPF socket tracker too (falls back when it cannot load).
  // Sinks that hear of every connection removed from a table (OnClosed, on
  // the worker that removed it, after each batch and expiry sweep; see
  // connection_sink.h): the API's history, connection logs, stores. Not
  // owned; they must outlive the pipeline. Empty: removals are not copied
  // at all (one-shot dumps).
  std::vector<ConnectionSink*> sinks;
  // One-shot dumps of small files: no capture thread and no worker
  // threads; Start() reads the whole source on the calling thread, each
  // batch processed by its worker's code as soon as it is handed over
  // (same workers, same hash, same batches: the same table as threaded),
  // and returns at its end. Files only (a live source never ends).
  bool inline_replay = false;
  // --pcap-export: every frame read goes there, and each tracked packet's
  // connection and process (daemon/snapshot/packet_export.h). Not owned;
  // must outlive the pipeline. Null: off (a branch per packet). Only with
  // one source (one capture thread numbers the frames).
  PacketExport* packet_export = nullptr;
};

// One capture thread's figures (--capture-threads).
struct CaptureThreadStats {
  CaptureStats capture;        // Its source's (its own socket's kernel counters).
  uint64_t packets = 0;        // Frames it read.
  uint64_t tracked = 0;        // Of those, handed to a worker.
  uint64_t queue_dropped = 0;  // Live: dropped because a worker fell behind.
};

struct PipelineStats {
  CaptureStats capture;  // Summed over the capture threads' sources.
  uint64_t packets = 0;         // Frames read from the source.
  uint64_t bytes = 0;           // Their wire length.
  uint64_t tracked = 0;         // Decoded and handed to a worker.
  uint64_t not_ip = 0;          // Valid frames we do not track.
  uint64_t malformed = 0;       // Counted by kind in `anomalies`.
  uint64_t untracked = 0;       // Valid but untrackable (fragments without first).
  uint64_t queue_dropped = 0;   // Live: dropped because a worker fell behind.
  uint64_t connections = 0;     // Currently tracked, all workers.
  FlowTableStats flows;         // Summed over workers.
  AnomalyCounters anomalies;
  DpiStats dpi;                 // Summed over workers.
  DpiAnomalies dpi_anomalies;   // Named, summed over workers.
  bool attribution_on = false;
  AttributorStats attribution;
  std::vector<CaptureThreadStats> capture_threads;  // One per source.
};

class Pipeline {
 public:
  Pipeline(PipelineOptions options, std::unique_ptr<PacketSource> source);
  // Capture fan-out: one capture thread per source (live sources of one
  // fan-out group; several files would not be read in time order). Not
  // empty.
  Pipeline(PipelineOptions options, std::vector<std::unique_ptr<PacketSource>> sources);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts the threads; with options.inline_replay, processes the whole
  // source on this thread instead and returns at its end (capture_done()).
  void Start();
  // Asks the source to stop; the pipeline drains what it has and ends.
  void Stop();
  // Waits until the source ended and every worker drained its queue.
  void Join();
  // True once the capture has ended (end of file, stop, error) and every
  // worker has processed all it was sent and published its last snapshot:
  // from then on the table (and a served snapshot) is final. (The capture
  // thread reaching the end of a file is not enough: the workers may still
  // be batches behind.)
  bool capture_done() const {
    return workers_finished_.load(std::memory_order_acquire) == workers_.size();
  }
  // Waits at most `timeout` for capture_done(); true once it is. The last
  // worker to finish wakes the waiter at once (a replay's end is not found
  // by polling).
  bool WaitCaptureDone(absl::Duration timeout) const {
    return done_.WaitForNotificationWithTimeout(timeout);
  }
  // Non-empty if the source failed.
  std::string source_error() const;

  PipelineStats Stats() const;
  const SnapshotStore& snapshots() const { return snapshots_; }
  // Each worker's timeline (daemon/snapshot/timeline.h), for the API.
  std::vector<const TimelineRecorder*> timelines() const;
  // The first capture thread's source (all read the same interface).
  const PacketSource& source() const { return *sources_[0]; }
  size_t capture_threads() const { return captures_.size(); }
  const DnsCache& dns_cache() const { return dns_cache_; }
  // The latest packet clock the capture threads handed out.
  int64_t clock_us() const;

  // After Join(): calls f(const Connection&) for every tracked connection
  // (and, with keep_removed, every one removed before the end).
  template <typename F>
  void ForEachConnection(F&& f) const {
    for (const auto& w : workers_) {
      w->table.ForEach(f);
      for (const Connection& c : w->removed) f(c);
    }
  }
  // After Join(): the tracked connections only (those still open at the
  // end), never the removed ones keep_removed holds.
  template <typename F>
  void ForEachTrackedConnection(F&& f) const {
    for (const auto& w : workers_) w->table.ForEach(f);
  }

 private:
  struct Batch {
    std::vector<DecodedPacket> packets;
    std::vector<uint64_t> hashes;  // packets[i].key.Hash(): hashed once, here.
    // Payload bytes for DPI: DecodedPacket::payload_offset indexes here
    // (the capture buffer is reused once the next packet is read)...
    std::vector<uint8_t> payload;
    // ... unless the source's data is stable (a mapped file): then, per
    // packet, the frame it indexes instead (null: `payload`), and the
    // first packet's frame (null before one), which the file may not give
    // back until the worker returns the batch (capture thread's field).
    std::vector<const uint8_t*> frames;
    const uint8_t* first_frame = nullptr;
    // With packet_export: each packet's capture sequence number, and the
    // last number handed out when the batch was sent (the worker's
    // watermark once it has processed the batch).
    std::vector<uint64_t> seqs;
    uint64_t last_seq = 0;
    int64_t clock_us = 0;
    bool final = false;

    // Empties the per-packet vectors (keeping their capacity) for reuse.
    void Clear() {
      packets.clear();
      hashes.clear();
      payload.clear();
      frames.clear();
      // (Not first_frame: the worker clears a batch before returning it;
      // the capture thread reads and resets it when the batch is back.)
      seqs.clear();
    }
  };
  struct Worker {
    Worker(size_t index, const PipelineOptions& options, FlowTable::Options table_options,
           size_t captures);
    // Queues an event about `c` for the hub, only while someone listens;
    // hands the queue over when it is full (an expiry sweep can close many
    // connections at once). On this worker's thread.
    void AddEvent(FlowEventType type, CloseReason reason, int64_t time_us, const Connection& c);
    // Hands the removed connections collected so far to every sink. On this
    // worker's thread.
    void DeliverClosed();
    // Events collected while processing a batch (only while someone
    // listens); published to the hub once per batch. Declared before the
    // table, whose callbacks append here.
    EventHub* hub = nullptr;
    std::vector<FlowEvent> events;
    int64_t clock_us = 0;  // The worker's clock (for removal events).
    DpiEngine dpi;
    bool keep_removed = false;
    std::vector<Connection> removed;  // With keep_removed.
    // Removals for the sinks (only when there are sinks), delivered by
    // DeliverClosed after each batch.
    struct Removed {
      Connection connection;
      CloseReason reason;
      int64_t time_us;
    };
    std::vector<ConnectionSink*> sinks;
    std::string_view interface;  // The source's name, for the sinks.
    std::vector<Removed> closed;
    std::vector<ClosedConnection> closed_view;  // DeliverClosed's, reused.
    // With packet_export: the annotations of the batch being processed.
    std::vector<PacketAnnotation> annotations;
    size_t index;
    FlowTable table;
    TimelineRecorder timeline;       // Written by this worker only.
    uint64_t retransmissions = 0;    // table.stats().retransmissions already in timeline.
    // Batches from each capture thread (producer k is capture thread k).
    FanIn<Batch*> inbox;
    // One per capture thread: its side of the hand-off to this worker.
    struct Lane {
      explicit Lane(size_t capacity) : returns(capacity) {}
      SpscQueue<Batch*> returns;  // Processed batches, back for reuse.
      std::vector<std::unique_ptr<Batch>> pool;
      Batch* current = nullptr;  // Being filled by the capture thread.
      // Stable sources: first_frame of each batch sent and not yet
      // returned, oldest first (a worker returns a lane's batches in the
      // order it got them).
      std::deque<const uint8_t*> frames_in_flight;
      int64_t last_send_us = 0;  // The capture thread's clock at the last send.
    };
    std::vector<std::unique_ptr<Lane>> lanes;
    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> size{0};
    std::thread thread;
    // WorkerLoop's progress, kept here so that an inline replay can run it
    // one batch at a time.
    int64_t loop_clock = 0;
    int64_t next_expire = 0;
    int64_t next_publish = 0;
    uint64_t loop_packets = 0;
    size_t loop_finals = 0;

    // Process attribution answers for this worker's connections, posted by
    // the attribution thread.
    absl::Mutex mail_mu;
    std::vector<AttributionResult> mail ABSL_GUARDED_BY(mail_mu);
    std::atomic<bool> has_mail{false};
    // Answers that arrived before the worker saw the connection's first
    // packet (the capture thread asks at a SYN), kept briefly.
    struct Unclaimed {
      std::shared_ptr<const Attribution> attribution;
      int64_t time_us;
    };
    absl::flat_hash_map<FlowKey, Unclaimed> unclaimed;
    // Refreshes: connections asked about again after 1 s, 5 s, 30 s, then
    // every 60 s (one FIFO per delay, so each stays ordered by due time).
    struct Refresh {
      int64_t due_us;
      uint64_t id;
      FlowKey key;
      uint8_t stage;
    };
    std::deque<Refresh> refresh[4];
    size_t refresh_size = 0;
  };

  // One capture thread: its source, clock and counters.
  struct Capture {
    size_t index = 0;
    PacketSource* source = nullptr;
    std::thread thread;
    // Its clock (packet time, or the wall clock on an idle link): written
    // by this thread only; the pipeline's clock is the latest of them.
    alignas(64) std::atomic<int64_t> clock_us{0};
    std::atomic<uint64_t> queue_dropped{0};
  };
  // A capture thread's counters, published under stats_mu_.
  struct CaptureCounters {
    uint64_t packets = 0, bytes = 0, tracked = 0, not_ip = 0, malformed = 0, untracked = 0;
    AnomalyCounters anomalies;
  };

  void CaptureLoop(Capture* c);
  // Processes w's batches until the final one; with `drain`, returns as
  // soon as its inboxes are empty instead of waiting (inline replay: called
  // by Send on the capture thread, which is then the only thread).
  void WorkerLoop(Worker* w, bool drain = false);
  // Hands capture thread c's current batch for w to the worker; returns
  // false if it was dropped.
  bool Send(Capture* c, Worker* w, bool final);
  // A stable source (mapped file): tells it that nothing below the oldest
  // frame a batch in flight (or being filled) points into, or `reading`,
  // is read again.
  void ReleaseFrames(const uint8_t* reading);
  void Publish(Worker* w, int64_t now_us);
  // With packet_export, on the capture thread: copies one frame into the
  // export's batch (or counts it dropped); HandFrames hands a partly filled
  // batch over (`final`: the last one, waited for).
  void ExportFrame(const RawPacket& raw, uint64_t seq, int32_t worker);
  void HandFrames(bool final);
  // Attribution, on the worker: apply answers, ask again when due.
  void DeliverAttribution(std::vector<AttributionResult>&& results);
  void ApplyAttribution(Worker* w, int64_t now_us);
  void ScheduleRefresh(Worker* w, const Connection& c, uint8_t stage, int64_t now_us);

  PipelineOptions options_;
  std::vector<std::unique_ptr<PacketSource>> sources_;
  std::vector<std::unique_ptr<Capture>> captures_;  // One per source.
  SnapshotStore snapshots_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> workers_finished_{0};  // Workers past their final batch.
  absl::Notification done_;                  // Notified by the last of them.
  std::atomic<bool> joined_{false};
  // The capture thread's, with packet_export: frames numbered so far, the
  // batch being filled, and the clock when one was last handed over.
  uint64_t export_seq_ = 0;
  FrameBatch* export_batch_ = nullptr;
  int64_t export_sent_us_ = 0;
  // DPI hint from workers to the capture thread: slot (flow hash) holds the
  // flow's tag once DPI is done with it, so its payload is no longer copied
  // into batches. Racy by design: a stale or missing hint only costs a copy
  // (or, for a reused 5-tuple, the first packets' payload).
  static constexpr size_t kDpiHintSlots = 1 << 16;
  std::unique_ptr<std::atomic<uint32_t>[]> dpi_hint_;
  DnsCache dns_cache_;  // Passive DNS, shared by the workers.
  std::unique_ptr<Attributor> attributor_;  // Null unless options_.attribution.

  mutable absl::Mutex stats_mu_;
  std::vector<CaptureCounters> capture_counters_ ABSL_GUARDED_BY(stats_mu_);
  std::string source_error_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PIPELINE_PIPELINE_H_
