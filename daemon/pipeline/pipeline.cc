#include "daemon/pipeline/pipeline.h"

#include <pthread.h>

#include <chrono>
#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/dpi/ftp.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

int64_t WallClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How often an idle live link still advances the workers' clocks.
constexpr int64_t kTickUs = 100'000;
constexpr int64_t kStatsFlushUs = 1'000'000;  // Live counter publication cadence.
// How often a worker sweeps its table for expired connections.
constexpr int64_t kExpireIntervalUs = 1'000'000;
// Events a worker holds before handing them over mid-batch (an expiry sweep
// can close many connections at once); bounds the worker's event memory.
constexpr size_t kMaxPendingEvents = 4096;
// Payload bytes per packet handed to DPI (dissectors need the start of a
// flow; a full-size segment fits).
constexpr uint32_t kMaxDpiPayload = 2048;
// Live: how long the capture thread waits for room in a full worker queue
// (the kernel's ring buffers meanwhile) before it drops the batch.
constexpr absl::Duration kLiveQueueWait = absl::Milliseconds(50);

// Packet clocks come from files and may sit near the top of the range.
int64_t SaturatingAdd(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

uint32_t HintTag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32) | 1u; }

// Process attribution: answers kept for connections not seen yet, and the
// refresh schedule (delay per stage; the last repeats).
constexpr int64_t kUnclaimedUs = 5'000'000;
constexpr size_t kMaxUnclaimed = 16384;
constexpr int64_t kRefreshDelayUs[4] = {1'000'000, 5'000'000, 30'000'000, 60'000'000};
constexpr size_t kMaxRefreshes = 262144;  // Per worker; beyond, no refresh (counted as dropped).

// Names the calling thread "prefix-i" (top, perf and the live benchmark
// show it; at most 15 characters).
void SetThreadName(const char* prefix, size_t i) {
  char name[16];
  std::snprintf(name, sizeof(name), "%s-%zu", prefix, i);
  pthread_setname_np(pthread_self(), name);
}

bool IsBareSyn(const DecodedPacket& p) {
  return p.key.protocol == kIpProtoTcp && (p.tcp_flags & 0x12) == 0x02;
}

// Whether a socket of this host can own the connection: one end is one of
// its addresses (or loopback). Traffic passing through (a bridge, a
// router, a mirror port) has none to find; asking about it costs the
// attribution thread a kernel lookup per end for nothing.
bool HasLocalEnd(const FlowKey& key, const LocalAddresses* local) {
  if (key.addr_a.IsLoopback() || key.addr_b.IsLoopback()) return true;
  return local == nullptr || local->contains(key.addr_a) || local->contains(key.addr_b);
}

// When a connection's remote address is looked up in the passive DNS cache:
// at its first packet and, with several workers, again at its 2nd, 4th, 8th
// and 16th while still unnamed. The answer and the connection usually sit on
// different workers, and the one owning the DNS flow may be a batch behind
// the one that sees the connection start; a few retries catch it, a bounded
// number keep the cost off long unnamed flows.
bool DnsLookupDue(uint64_t packets_seen, size_t workers) {
  if (packets_seen == 1) return true;
  return workers > 1 && packets_seen <= 16 && (packets_seen & (packets_seen - 1)) == 0;
}

}  // namespace

namespace {

CloseReason ReasonFor(RemovalReason r) {
  switch (r) {
    case RemovalReason::kExpired: return CloseReason::kTimeout;
    case RemovalReason::kEvicted: return CloseReason::kEvicted;
    case RemovalReason::kReplaced: return CloseReason::kReplaced;
  }
  return CloseReason::kNone;
}

// Why a removed connection closed: a TCP connection the table saw close
// (TIME_WAIT or CLOSED: FINs or a RST, reported to the hub then) keeps that
// reason, whether it then timed out, was evicted or replaced.
CloseReason ClosedReasonFor(const Connection& c, RemovalReason r) {
  if (c.state == ConnState::kTimeWait || c.state == ConnState::kClosed) {
    return c.reset ? CloseReason::kReset : CloseReason::kFin;
  }
  return ReasonFor(r);
}

// What DPI sees of a tracked connection at one of its packets.
DpiFlow DpiFlowOf(const Connection& c, const DecodedPacket& p) {
  DpiFlow f;
  f.id = c.id;
  f.transport = c.key.protocol;
  f.client_port = c.initiator == 0 ? c.key.port_a : c.key.port_b;
  f.server_port = c.initiator == 0 ? c.key.port_b : c.key.port_a;
  f.direction = p.src_is_a ? 0 : 1;
  f.from_client = f.direction == c.initiator;
  f.stream_seq = p.seq + ((p.tcp_flags & kTcpSyn) != 0 ? 1u : 0u);
  f.payload_packets = c.payload_packets;
  f.client_address = c.initiator == 0 ? c.key.addr_a : c.key.addr_b;
  f.server_address = c.initiator == 0 ? c.key.addr_b : c.key.addr_a;
  f.timestamp_us = p.timestamp_us;
  return f;
}
static_assert(DpiEngine::kMaxPayloadPackets < UINT8_MAX,
              "Connection::payload_packets saturates before DPI's limit");

// Where DPI's results for a tracked connection go.
class ConnectionDpiCallbacks final : public DpiCallbacks {
 public:
  explicit ConnectionDpiCallbacks(Connection& c) : c_(c) {}
  const AppRecord* app() const override { return c_.app.get(); }
  void SetApp(std::shared_ptr<const AppRecord> record) override { c_.app = std::move(record); }
  void Done() override { c_.app_final = true; }

 private:
  Connection& c_;
};

}  // namespace

Pipeline::Worker::Worker(size_t i, const PipelineOptions& options,
                         FlowTable::Options table_options, size_t captures)
    : hub(options.events),
      keep_removed(options.keep_removed),
      sinks(options.sinks),
      index(i),
      table([this, &table_options]() {
        // Both run on this worker's thread, inside FlowTable calls.
        table_options.on_remove = [this](const Connection& c, RemovalReason r) {
          timeline.AddClosed(std::max(clock_us, c.last_seen_us), c.key.protocol);
          if (!c.app_final) dpi.Forget(c.id);  // (Done flows have no DPI state.)
          if (keep_removed) removed.push_back(c);
          if (!sinks.empty()) {
            if (closed.size() >= kMaxPendingEvents) DeliverClosed();
            closed.push_back(Removed{c, ClosedReasonFor(c, r), std::max(clock_us, c.last_seen_us)});
          }
          if (!c.close_reported) {
            AddEvent(FlowEventType::kClosed, ReasonFor(r), std::max(clock_us, c.last_seen_us), c);
          }
        };
        // Without a hub, no close events: on_remove then never sees
        // close_reported set.
        if (hub != nullptr) {
          table_options.on_event = [this](const Connection& c, TableEvent e) {
            AddEvent(e == TableEvent::kOpened ? FlowEventType::kOpened : FlowEventType::kClosed,
                     e == TableEvent::kClosedFin     ? CloseReason::kFin
                     : e == TableEvent::kClosedReset ? CloseReason::kReset
                                                     : CloseReason::kNone,
                     c.last_seen_us, c);
          };
        }
        return std::move(table_options);
      }()),
      inbox(captures, options.queue_batches) {
  // Per capture thread, enough batches that it always has one to fill: its
  // inbox's worth, one held or processed by the worker, one being filled.
  for (size_t k = 0; k < captures; ++k) {
    auto lane = std::make_unique<Lane>(inbox.capacity() + 2);
    for (size_t b = 0; b < inbox.capacity() + 2; ++b) {
      auto batch = std::make_unique<Batch>();
      batch->packets.reserve(options.batch_size);
      batch->hashes.reserve(options.batch_size);
      lane->pool.push_back(std::move(batch));
    }
    lane->current = lane->pool[0].get();
    for (size_t b = 1; b < lane->pool.size(); ++b) lane->returns.Push(lane->pool[b].get());
    lanes.push_back(std::move(lane));
  }
}

void Pipeline::Worker::AddEvent(FlowEventType type, CloseReason reason, int64_t time_us,
                                const Connection& c) {
  if (hub == nullptr || !hub->wanted()) return;
  if (events.size() >= kMaxPendingEvents) hub->Publish(&events);
  FlowEvent& out = events.emplace_back();
  out.type = type;
  out.reason = reason;
  out.time_us = time_us;
  out.connection = c;
}

void Pipeline::Worker::DeliverClosed() {
  closed_view.clear();
  closed_view.reserve(closed.size());
  for (const Removed& r : closed) {
    closed_view.push_back(ClosedConnection{&r.connection, r.reason, r.time_us});
  }
  for (ConnectionSink* sink : sinks) sink->OnClosed(closed_view, interface);
  closed_view.clear();
  closed.clear();
}

namespace {

std::vector<std::unique_ptr<PacketSource>> OneSource(std::unique_ptr<PacketSource> source) {
  std::vector<std::unique_ptr<PacketSource>> v;
  v.push_back(std::move(source));
  return v;
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options, std::unique_ptr<PacketSource> source)
    : Pipeline(std::move(options), OneSource(std::move(source))) {}

Pipeline::Pipeline(PipelineOptions options, std::vector<std::unique_ptr<PacketSource>> sources)
    : options_(std::move(options)),
      sources_(std::move(sources)),
      snapshots_(options_.workers),
      dpi_hint_(new std::atomic<uint32_t>[kDpiHintSlots]) {
  for (size_t i = 0; i < kDpiHintSlots; ++i) dpi_hint_[i].store(0, std::memory_order_relaxed);
  if (options_.workers == 0) options_.workers = 1;
  for (size_t k = 0; k < sources_.size(); ++k) {
    auto c = std::make_unique<Capture>();
    c->index = k;
    c->source = sources_[k].get();
    captures_.push_back(std::move(c));
  }
  {
    absl::MutexLock lock(&stats_mu_);
    capture_counters_.resize(captures_.size());
  }
  // --max-connections caps the whole table. A split per worker evicted
  // before the total reached it (the hash is never even); instead each
  // worker has a small reserve (1/64 of an even share) and takes the rest
  // from one shared pool, so nothing is evicted until the table is full,
  // unless another worker holds less than its reserve.
  const size_t cap = std::max<size_t>(options_.max_connections, 1);
  const size_t n = options_.workers;
  const size_t reserve = cap >= n ? std::max<size_t>(1, cap / n / 64) : 0;
  auto pool_used = std::make_shared<std::atomic<size_t>>(0);
  for (size_t i = 0; i < options_.workers; ++i) {
    FlowTable::Options t;
    t.max_connections = cap;
    if (n > 1) {
      t.pool_used = pool_used;
      t.pool = cap - n * reserve;
      t.reserve = reserve;
    }
    t.no_localhost = options_.no_localhost;
    t.local_addresses = options_.local_addresses;
    t.id_start = i + 1;
    t.id_stride = options_.workers;
    workers_.push_back(std::make_unique<Worker>(i, options_, std::move(t), captures_.size()));
    workers_.back()->interface = sources_[0]->name();
  }
  {
    // FTP data connections land on any worker: one expectation table for all.
    auto ftp = std::make_shared<FtpExpectations>();
    for (auto& w : workers_) w->dpi.ShareFtpExpectations(ftp);
  }
  // Made here, started in Start(): the API may ask for statistics (and so
  // read attributor_) as soon as the pipeline exists.
  if (options_.attribution) {
    Attributor::Options a;
    a.proc_root = options_.proc_root;
    a.force_procfs = options_.attribution_procfs;
    a.ebpf = options_.ebpf;
    a.deliver = [this](std::vector<AttributionResult>&& r) { DeliverAttribution(std::move(r)); };
    attributor_ = std::make_unique<Attributor>(std::move(a));
  }
}

Pipeline::~Pipeline() {
  Stop();
  Join();
}

void Pipeline::Start() {
  if (options_.inline_replay && captures_.size() == 1 && !captures_[0]->source->live() &&
      options_.packet_export == nullptr && !attributor_) {
    // Everything on this thread: Send hands each batch to its worker's
    // loop at once (WorkerLoop with drain), so no thread is started and
    // none waits for another.
    CaptureLoop(captures_[0].get());
    return;
  }
  options_.inline_replay = false;
  if (attributor_) attributor_->Start();
  for (auto& w : workers_) {
    Worker* raw = w.get();
    w->thread = std::thread([this, raw] {
      SetThreadName("rn-worker", raw->index);
      WorkerLoop(raw);
    });
  }
  for (auto& c : captures_) {
    Capture* raw = c.get();
    c->thread = std::thread([this, raw] {
      SetThreadName("rn-capture", raw->index);
      CaptureLoop(raw);
    });
  }
}

void Pipeline::Stop() {
  for (auto& source : sources_) source->Interrupt();
}

void Pipeline::Join() {
  for (auto& c : captures_) {
    if (c->thread.joinable()) c->thread.join();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  if (attributor_) attributor_->Stop();
  joined_.store(true, std::memory_order_release);
}

int64_t Pipeline::clock_us() const {
  int64_t clock = 0;
  for (const auto& c : captures_) clock = std::max(clock, c->clock_us.load(std::memory_order_relaxed));
  return clock;
}

std::string Pipeline::source_error() const {
  absl::MutexLock lock(&stats_mu_);
  return source_error_;
}

bool Pipeline::Send(Capture* c, Worker* w, bool final) {
  const size_t k = c->index;
  Worker::Lane* lane = w->lanes[k].get();
  Batch* batch = lane->current;
  batch->final = final;
  batch->clock_us = c->clock_us.load(std::memory_order_relaxed);
  batch->last_seq = export_seq_;
  lane->last_send_us = batch->clock_us;
  if (batch->first_frame != nullptr) lane->frames_in_flight.push_back(batch->first_frame);
  if (options_.inline_replay) {
    // The worker's loop runs here, until its inboxes are empty again; the
    // batch comes back on the lane's returns as from a worker thread.
    // (Room always: the inbox is drained after every push.)
    while (!w->inbox.Push(k, batch)) WorkerLoop(w, /*drain=*/true);
    WorkerLoop(w, /*drain=*/true);
  }
  const bool wait = !c->source->live() || final;
  if (!options_.inline_replay && !w->inbox.Push(k, batch)) {
    if (!wait) {
      // Live: the kernel's ring holds more than a worker's queue, so let it
      // absorb a worker's stall for a moment rather than drop at once.
      const absl::Time deadline = absl::Now() + kLiveQueueWait;
      bool pushed = false;
      while (!(pushed = w->inbox.Push(k, batch)) && absl::Now() < deadline) {
        absl::SleepFor(absl::Microseconds(100));
      }
      if (!pushed) {
        c->queue_dropped.fetch_add(batch->packets.size(), std::memory_order_relaxed);
        batch->Clear();
        return false;
      }
    } else {
      do {
        w->inbox.WaitForSpace(k);
      } while (!w->inbox.Push(k, batch));
    }
  }
  std::optional<Batch*> next = lane->returns.Pop();
  while (!next) {
    lane->returns.WaitForData();
    next = lane->returns.Pop();
  }
  lane->current = *next;
  if (lane->current->first_frame != nullptr && !lane->frames_in_flight.empty()) {
    lane->frames_in_flight.pop_front();  // That batch is done with its frames.
  }
  lane->current->first_frame = nullptr;
  lane->current->Clear();
  return true;
}

void Pipeline::ExportFrame(const RawPacket& raw, uint64_t seq, int32_t worker) {
  PacketExport* out = options_.packet_export;
  if (export_batch_ == nullptr) {
    export_batch_ = out->TakeFrameBatch();
    if (export_batch_ == nullptr && out->lossless()) {
      // Replay: wait for the writer. It may itself be waiting for the
      // workers' annotations of frames it has, so first hand every worker
      // the packets it holds.
      for (auto& w : workers_) {
        if (!w->lanes[0]->current->packets.empty()) Send(captures_[0].get(), w.get(), false);
      }
      export_batch_ = out->WaitFrameBatch();
    }
    if (export_batch_ == nullptr) {
      out->CountDropped(1);  // Live: the writer is behind; capture goes on.
      return;
    }
  }
  export_batch_->Add(raw.timestamp_us, seq, raw.wire_length, raw.data, worker);
  if (PacketExport::Full(*export_batch_)) HandFrames(false);
}

void Pipeline::HandFrames(bool final) {
  PacketExport* out = options_.packet_export;
  if (final && export_batch_ == nullptr) export_batch_ = out->WaitFrameBatch();
  if (export_batch_ == nullptr) return;
  export_batch_->final = final;
  out->PutFrameBatch(export_batch_);
  export_batch_ = nullptr;
  export_sent_us_ = captures_[0]->clock_us.load(std::memory_order_relaxed);
}

void Pipeline::ReleaseFrames(const uint8_t* reading) {
  const uint8_t* low = reading;
  for (const auto& w : workers_) {
    const Worker::Lane& lane = *w->lanes[0];
    if (!lane.frames_in_flight.empty()) low = std::min(low, lane.frames_in_flight.front());
    if (lane.current->first_frame != nullptr) low = std::min(low, lane.current->first_frame);
  }
  sources_[0]->ReleaseBefore(low);
}

void Pipeline::CaptureLoop(Capture* c) {
  PacketSource* const source = c->source;
  const size_t k = c->index;
  Decoder decoder(source->link_type());
  const size_t n = workers_.size();
  // A mapped file: DPI payloads are read in the file, not copied.
  const bool stable = source->stable_data();
  CaptureCounters counters;
  RawPacket raw;
  DecodedPacket decoded;
  int64_t last_flush_us = 0;  // This thread's clock at the last flush.
  auto flush_counters = [&] {
    last_flush_us = c->clock_us.load(std::memory_order_relaxed);
    counters.anomalies = decoder.anomalies();
    counters.not_ip = decoder.not_ip();
    absl::MutexLock lock(&stats_mu_);
    capture_counters_[k] = counters;
  };
  for (;;) {
    const NextResult r = source->Next(&raw);
    if (r == NextResult::kPacket) {
      ++counters.packets;
      counters.bytes += raw.wire_length;
      int32_t sent_to = -1;  // The worker the packet went to (for the export).
      if (options_.packet_export != nullptr) ++export_seq_;
      // The pipeline clock never runs backwards, even if a file's does.
      if (raw.timestamp_us > c->clock_us.load(std::memory_order_relaxed)) {
        c->clock_us.store(raw.timestamp_us, std::memory_order_relaxed);
      }
      switch (decoder.Decode(raw.data, raw.wire_length, raw.timestamp_us, &decoded)) {
        case DecodeResult::kOk: {
          ++counters.tracked;
          // The symmetric hash picks the worker, whichever capture thread
          // the kernel gave this direction to.
          const uint64_t hash = decoded.key.Hash();
          Worker* w = workers_[hash % n].get();
          Batch* batch = w->lanes[k]->current;
          const uint8_t* frame = nullptr;
          if (decoded.payload_captured > 0) {
            const uint32_t tag = HintTag(hash);
            if (!options_.dpi ||
                dpi_hint_[hash & (kDpiHintSlots - 1)].load(std::memory_order_relaxed) == tag) {
              decoded.payload_captured = 0;
            } else {
              const uint32_t len = std::min(decoded.payload_captured, kMaxDpiPayload);
              decoded.payload_captured = len;
              if (stable) {
                // The frame stays where it is: the worker reads it there.
                frame = raw.data.data();
              } else {
                std::vector<uint8_t>& arena = batch->payload;
                const auto copy = raw.data.subspan(decoded.payload_offset, len);
                decoded.payload_offset = static_cast<uint32_t>(arena.size());
                arena.insert(arena.end(), copy.begin(), copy.end());
              }
            }
          }
          // Ask who owns a new TCP connection at once: a short-lived
          // client may be gone by the time the worker sees the packet.
          if (attributor_ && IsBareSyn(decoded) &&
              HasLocalEnd(decoded.key, options_.local_addresses.get())) {
            attributor_->Request(decoded.key);
          }
          batch->packets.push_back(decoded);
          batch->hashes.push_back(hash);
          if (stable) {
            batch->frames.push_back(frame);
            if (batch->first_frame == nullptr) batch->first_frame = raw.data.data();
          }
          if (options_.packet_export != nullptr) {
            batch->seqs.push_back(export_seq_);
            sent_to = static_cast<int32_t>(w->index);
          }
          if (batch->packets.size() >= options_.batch_size) Send(c, w, false);
          break;
        }
        case DecodeResult::kMalformed: ++counters.malformed; break;
        case DecodeResult::kUntracked: ++counters.untracked; break;
        case DecodeResult::kNotIp: break;
      }
      if (options_.packet_export != nullptr) ExportFrame(raw, export_seq_, sent_to);
      if ((counters.packets & 0xffff) == 0) flush_counters();
      // A mapped file: give back the pages no batch in flight points into.
      if (stable && (counters.packets & 0x3ff) == 0) ReleaseFrames(raw.data.data());
      if (!source->live()) continue;
      // Live: readers see counters at most a second old, busy link or not.
      if (raw.timestamp_us - last_flush_us >= kStatsFlushUs) flush_counters();
    } else if (r == NextResult::kTimeout) {
      // Idle link: move the clock to now.
      const int64_t now = WallClockUs();
      if (now > c->clock_us.load(std::memory_order_relaxed)) {
        c->clock_us.store(now, std::memory_order_relaxed);
      }
      flush_counters();
    } else {
      if (r == NextResult::kError) {
        absl::MutexLock lock(&stats_mu_);
        if (source_error_.empty()) source_error_ = source->error();
      }
      break;
    }
    // Live: keep every worker's clock moving at least every tick.
    const int64_t clock = c->clock_us.load(std::memory_order_relaxed);
    for (auto& w : workers_) {
      if (clock - w->lanes[k]->last_send_us >= kTickUs) Send(c, w.get(), false);
    }
    if (export_batch_ != nullptr && source->live() && !export_batch_->frames.empty() &&
        clock - export_sent_us_ >= kTickUs) {
      HandFrames(false);
    }
  }
  flush_counters();
  for (auto& w : workers_) Send(c, w.get(), true);
  // After the workers' final batches, whose watermarks cover every frame.
  if (options_.packet_export != nullptr) HandFrames(true);
}

std::vector<const TimelineRecorder*> Pipeline::timelines() const {
  std::vector<const TimelineRecorder*> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) out.push_back(&w->timeline);
  return out;
}

void Pipeline::Publish(Worker* w, int64_t now_us) {
  auto snap = std::make_shared<WorkerSnapshot>();
  snap->time_us = now_us;
  w->table.ShareChunks(&snap->chunks);
  snap->size = w->table.size();
  snap->stats = w->table.stats();
  snap->packets = w->packets.load(std::memory_order_relaxed);
  snap->dpi = w->dpi.stats();
  snap->dpi_anomalies = w->dpi.anomalies();
  std::shared_ptr<const WorkerSnapshot> shared = std::move(snap);
  for (ConnectionSink* sink : options_.sinks) sink->OnSnapshot(w->index, shared);
  snapshots_.Publish(w->index, std::move(shared));
}

void Pipeline::WorkerLoop(Worker* w, bool drain) {
  // (Kept in the worker, so that an inline replay can run it one batch at
  // a time.)
  int64_t& clock = w->loop_clock;
  int64_t& next_expire = w->next_expire;
  int64_t& next_publish = w->next_publish;
  uint64_t& packets = w->loop_packets;
  size_t& finals = w->loop_finals;  // Capture threads whose final batch came.
  // With several capture threads: the held batch whose first packet is
  // oldest first (fan_in.h), so a connection's two directions, read by
  // different threads, meet the table in time order as far as they can.
  auto oldest = [](Batch* const& b) {
    return b->packets.empty() ? b->clock_us : b->packets.front().timestamp_us;
  };
  for (;;) {
    std::optional<FanIn<Batch*>::Item> got = w->inbox.Pop(oldest);
    if (!got) {
      if (drain) return;
      w->inbox.WaitForData();
      continue;
    }
    Batch* batch = got->value;
    for (size_t i = 0; i < batch->packets.size(); ++i) {
      const DecodedPacket& p = batch->packets[i];
      Connection* c = w->table.Process(p, batch->hashes[i]);
      if (c == nullptr) {
        if (options_.packet_export != nullptr) w->annotations.push_back({batch->seqs[i], 0, {}, 0});
        continue;
      }
      const uint64_t seen = c->packets[0] + c->packets[1];
      const bool is_new = seen == 1;
      if (is_new) w->timeline.AddOpened(p.timestamp_us, c->key.protocol);
      w->timeline.AddPacket(p.timestamp_us, (p.src_is_a ? 0 : 1) != c->local, p.ip_length,
                            c->app ? static_cast<uint8_t>(c->app->protocol) : 0);
      if (options_.dpi && c->dns_name == nullptr && DnsLookupDue(seen, workers_.size())) {
        // Name the remote end from earlier DNS answers.
        const IpAddress& remote = c->local == 0 ? c->key.addr_b : c->key.addr_a;
        c->dns_name = dns_cache_.Lookup(remote, p.timestamp_us);
      }
      if (attributor_ && is_new &&
          (c->key.protocol == kIpProtoTcp || c->key.protocol == kIpProtoUdp) &&
          HasLocalEnd(c->key, options_.local_addresses.get())) {
        auto early = w->unclaimed.find(c->key);
        if (early != w->unclaimed.end()) {
          c->attribution = early->second.attribution;
          w->unclaimed.erase(early);
        } else if (!IsBareSyn(p)) {
          attributor_->Request(c->key);  // (a bare SYN was asked about already)
        }
        ScheduleRefresh(w, *c, 0, p.timestamp_us);
      }
      if (options_.packet_export != nullptr) {
        w->annotations.push_back({batch->seqs[i], c->id, c->attribution, c->local});
      }
      if (c->app_final || p.payload_captured == 0) continue;
      const bool had_app = c->app != nullptr;
      ConnectionDpiCallbacks results(*c);
      const std::span<const uint8_t> bytes =
          !batch->frames.empty() && batch->frames[i] != nullptr
              ? std::span<const uint8_t>(batch->frames[i] + p.payload_offset, p.payload_captured)
              : std::span<const uint8_t>(batch->payload).subspan(p.payload_offset,
                                                                 p.payload_captured);
      w->dpi.Process(DpiFlowOf(*c, p), bytes, results);
      if (!had_app && c->app != nullptr) {
        w->AddEvent(FlowEventType::kClassified, CloseReason::kNone, c->last_seen_us, *c);
      }
      if (c->app_final) {
        // A finished DNS exchange names the addresses it answered.
        if (c->app != nullptr) dns_cache_.Learn(c->app->dns, p.timestamp_us);
        const uint64_t hash = c->key.Hash();
        dpi_hint_[hash & (kDpiHintSlots - 1)].store(HintTag(hash), std::memory_order_relaxed);
      }
    }
    packets += batch->packets.size();
    clock = std::max(clock, batch->clock_us);
    if (attributor_) ApplyAttribution(w, clock);
    w->clock_us = clock;
    if (const uint64_t r = w->table.stats().retransmissions; r != w->retransmissions) {
      w->timeline.AddRetransmissions(clock, r - w->retransmissions);
      w->retransmissions = r;
    }
    if (options_.packet_export != nullptr) {
      options_.packet_export->Annotate(w->index, &w->annotations, batch->last_seq);
    }
    if (batch->final) ++finals;
    const bool final = finals == w->lanes.size();
    batch->Clear();
    w->lanes[got->producer]->returns.Push(batch);

    if (clock >= next_expire || final) {
      w->table.Expire(clock);
      next_expire = SaturatingAdd(clock, kExpireIntervalUs);
    }
    if (!w->events.empty()) w->hub->Publish(&w->events);
    if (!w->closed.empty()) w->DeliverClosed();
    w->packets.store(packets, std::memory_order_relaxed);
    w->size.store(w->table.size(), std::memory_order_relaxed);
    if (options_.publish_snapshots && (clock >= next_publish || final)) {
      Publish(w, clock);
      next_publish = SaturatingAdd(clock, options_.snapshot_interval_us);
    }
    if (final) {
      if (workers_finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == workers_.size()) {
        done_.Notify();
      }
      break;
    }
  }
}

void Pipeline::DeliverAttribution(std::vector<AttributionResult>&& results) {
  const size_t n = workers_.size();
  for (AttributionResult& r : results) {
    Worker* w = workers_[r.key.Hash() % n].get();
    absl::MutexLock lock(&w->mail_mu);
    w->mail.push_back(std::move(r));
    w->has_mail.store(true, std::memory_order_release);
  }
}

void Pipeline::ScheduleRefresh(Worker* w, const Connection& c, uint8_t stage, int64_t now_us) {
  if (w->refresh_size >= kMaxRefreshes) return;
  const size_t lane = std::min<size_t>(stage, std::size(kRefreshDelayUs) - 1);
  w->refresh[lane].push_back(
      Worker::Refresh{SaturatingAdd(now_us, kRefreshDelayUs[lane]), c.id, c.key, stage});
  ++w->refresh_size;
}

void Pipeline::ApplyAttribution(Worker* w, int64_t now_us) {
  if (w->has_mail.load(std::memory_order_acquire)) {
    std::vector<AttributionResult> mail;
    {
      absl::MutexLock lock(&w->mail_mu);
      mail.swap(w->mail);
      w->has_mail.store(false, std::memory_order_relaxed);
    }
    for (AttributionResult& r : mail) {
      Connection* c = w->table.FindMutable(r.key);
      if (c == nullptr) {
        if (w->unclaimed.size() >= kMaxUnclaimed) w->unclaimed.clear();
        w->unclaimed[r.key] = Worker::Unclaimed{std::move(r.attribution), now_us};
        continue;
      }
      if (auto merged = MergeAttribution(c->attribution, r.attribution)) {
        c->attribution = std::move(merged);
      }
      // A TCP connection that is over may be followed at once by a new one
      // on the same 4-tuple (a port reused from TIME_WAIT on loopback) whose
      // SYN this worker has not read yet: the answer may be that one's, and
      // it will not be asked again (its bare SYN was). Kept for it to claim.
      if (c->key.protocol == kIpProtoTcp &&
          (c->reset || c->state == ConnState::kClosed || c->state == ConnState::kTimeWait)) {
        if (w->unclaimed.size() >= kMaxUnclaimed) w->unclaimed.clear();
        w->unclaimed[r.key] = Worker::Unclaimed{std::move(r.attribution), now_us};
      }
    }
  }
  // Answers nobody claimed in time belonged to connections we never saw.
  if (!w->unclaimed.empty()) {
    absl::erase_if(w->unclaimed, [now_us](const auto& kv) {
      return now_us - kv.second.time_us > kUnclaimedUs;
    });
  }
  for (auto& lane : w->refresh) {
    while (!lane.empty() && lane.front().due_us <= now_us) {
      const Worker::Refresh r = lane.front();
      lane.pop_front();
      --w->refresh_size;
      const Connection* c = w->table.Find(r.key);
      if (c == nullptr || c->id != r.id) continue;  // Gone.
      // A TCP connection that is over has no socket left to find (TIME_WAIT
      // sockets have no owner), and a listener that appeared since is not
      // its owner.
      if (c->key.protocol == kIpProtoTcp &&
          (c->reset || c->state == ConnState::kClosed || c->state == ConnState::kTimeWait)) {
        continue;
      }
      attributor_->Request(r.key);
      ScheduleRefresh(w, *c, static_cast<uint8_t>(std::min(r.stage + 1, 255)), now_us);
    }
  }
}

PipelineStats Pipeline::Stats() const {
  PipelineStats s;
  {
    absl::MutexLock lock(&stats_mu_);
    for (const CaptureCounters& c : capture_counters_) {
      s.packets += c.packets;
      s.bytes += c.bytes;
      s.tracked += c.tracked;
      s.not_ip += c.not_ip;
      s.malformed += c.malformed;
      s.untracked += c.untracked;
      s.anomalies.Merge(c.anomalies);
      CaptureThreadStats& t = s.capture_threads.emplace_back();
      t.packets = c.packets;
      t.tracked = c.tracked;
    }
  }
  if (attributor_) {
    s.attribution_on = true;
    s.attribution = attributor_->Stats();
  }
  // The sources' counters, summed; state and names are the first's (they
  // share the interface, so they wait and resume together).
  for (size_t k = 0; k < captures_.size(); ++k) {
    CaptureThreadStats& t = s.capture_threads[k];
    t.capture = captures_[k]->source->Stats();
    t.queue_dropped = captures_[k]->queue_dropped.load(std::memory_order_relaxed);
    if (k == 0) {
      s.capture = t.capture;
    } else {
      s.capture.received += t.capture.received;
      s.capture.filtered += t.capture.filtered;
      s.capture.dropped_kernel += t.capture.dropped_kernel;
      s.capture.dropped_interface += t.capture.dropped_interface;
      s.capture.last_packet_us = std::max(s.capture.last_packet_us, t.capture.last_packet_us);
    }
    s.queue_dropped += t.queue_dropped;
  }
  for (const auto& w : workers_) s.connections += w->size.load(std::memory_order_relaxed);
  auto add_dpi = [&s](const DpiStats& d, const DpiAnomalies& a) {
    s.dpi.classified += d.classified;
    s.dpi.gave_up += d.gave_up;
    s.dpi.skipped_state_cap += d.skipped_state_cap;
    s.dpi.active += d.active;
    s.dpi.state_bytes += d.state_bytes;
    for (const auto& [name, count] : a) s.dpi_anomalies[name] += count;
  };
  auto add = [&s](const FlowTableStats& f) {
    s.flows.created += f.created;
    s.flows.expired += f.expired;
    s.flows.evicted += f.evicted;
    s.flows.evicted_established += f.evicted_established;
    s.flows.replaced += f.replaced;
    s.flows.localhost_skipped += f.localhost_skipped;
    s.flows.refused += f.refused;
  };
  if (joined_.load(std::memory_order_acquire)) {
    // The workers are gone: their tables are ours to read.
    for (const auto& w : workers_) {
      add(w->table.stats());
      add_dpi(w->dpi.stats(), w->dpi.anomalies());
    }
  } else {
    for (const auto& snap : snapshots_.Current()) {
      if (snap) {
        add(snap->stats);
        add_dpi(snap->dpi, snap->dpi_anomalies);
      }
    }
  }
  return s;
}

}  // namespace rustnet
