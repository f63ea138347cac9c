#include "daemon/export/ipfix/ipfix_sink.h"

#include <algorithm>
#include <utility>

#include "daemon/record/app_record.h"
#include "daemon/record/process_record.h"
#include "daemon/snapshot/snapshot_store.h"

namespace rustnet {
namespace {

// Snapshots waiting for the thread, at most: each may hold table chunks a
// worker has since copied, so memory stays bounded.
constexpr size_t kMaxQueuedSnapshots = 32;
// How long the thread sleeps when idle: also how late a UDP template
// refresh may come.
constexpr absl::Duration kIdleWait = absl::Milliseconds(200);
// Records handed to the collectors at a time.
constexpr size_t kSendBlock = 1024;

ipfix::EndReason EndReasonOf(CloseReason r) {
  switch (r) {
    case CloseReason::kTimeout:
      return ipfix::EndReason::kIdleTimeout;
    case CloseReason::kEvicted:
      return ipfix::EndReason::kLackOfResources;
    case CloseReason::kShutdown:
    case CloseReason::kNone:
      return ipfix::EndReason::kForcedEnd;
    case CloseReason::kFin:
    case CloseReason::kReset:
    case CloseReason::kReplaced:
      return ipfix::EndReason::kEndOfFlow;
  }
  return ipfix::EndReason::kForcedEnd;
}

int64_t Ms(int64_t us) { return us / 1000; }

void FillEnterprise(const Connection& c, ipfix::FlowRecord* r) {
  if (c.app != nullptr) {
    if (c.app->protocol != AppProtocol::kUnknown) {
      r->application = std::string(AppProtocolName(c.app->protocol));
    }
    r->host_name = c.app->Hostname();
    r->ja4 = c.app->tls->ja4;
  }
  if (r->host_name.empty() && c.dns_name != nullptr) r->host_name = *c.dns_name;
  if (c.attribution != nullptr) {
    const ProcessRecord* p = c.attribution->side[c.local].process.get();
    if (p == nullptr) p = c.attribution->side[1 - c.local].process.get();
    if (p != nullptr) {
      r->process_name = p->name;
      r->pid = p->pid;
      r->user_name = p->user;
      r->systemd_unit = p->unit;
      r->container_id = p->container_id;
    }
  }
}

}  // namespace

void MakeFlowRecords(const Connection& c, const ExportedCounters& base, ipfix::EndReason reason,
                     bool biflow, uint32_t ingress_interface,
                     std::vector<ipfix::FlowRecord>* out) {
  if (c.key.protocol == kPseudoProtoArp) return;  // Not an IP flow.
  uint64_t packets[2], bytes[2];
  for (int d = 0; d < 2; ++d) {
    packets[d] = c.packets[d] - std::min(c.packets[d], base.packets[d]);
    bytes[d] = c.bytes[d] - std::min(c.bytes[d], base.bytes[d]);
  }
  if (packets[0] + packets[1] == 0) return;
  ipfix::FlowRecord r;
  r.protocol = c.key.protocol;
  r.ip_version = c.key.ip_version;
  r.start_ms = Ms(base.last_seen_us != 0 ? std::max(base.last_seen_us, c.first_seen_us)
                                         : c.first_seen_us);
  r.end_ms = Ms(c.last_seen_us);
  r.tcp_flags = c.key.protocol == kIpProtoTcp ? c.tcp_flags_seen : 0;
  r.end_reason = reason;
  r.ingress_interface = ingress_interface;
  FillEnterprise(c, &r);
  auto set_direction = [&c](int d, ipfix::FlowRecord* rec) {
    rec->src = d == 0 ? c.key.addr_a : c.key.addr_b;
    rec->dst = d == 0 ? c.key.addr_b : c.key.addr_a;
    rec->src_port = d == 0 ? c.key.port_a : c.key.port_b;
    rec->dst_port = d == 0 ? c.key.port_b : c.key.port_a;
    rec->src_mac = c.mac[d];
    if (c.key.protocol == kIpProtoIcmp || c.key.protocol == kIpProtoIcmpv6) {
      // The key's "ports" are the echo identifier, not transport ports:
      // collectors would read them as ICMP type and code.
      rec->src_port = rec->dst_port = 0;
    }
  };
  const int first = c.initiator;  // The initiator's direction first.
  if (biflow) {
    set_direction(first, &r);
    r.octets = bytes[first];
    r.packets = packets[first];
    r.reverse_octets = bytes[1 - first];
    r.reverse_packets = packets[1 - first];
    r.reverse_tcp_flags = r.tcp_flags;
    out->push_back(std::move(r));
    return;
  }
  for (int d : {first, 1 - first}) {
    if (packets[d] == 0) continue;
    ipfix::FlowRecord rec = r;
    set_direction(d, &rec);
    rec.octets = bytes[d];
    rec.packets = packets[d];
    out->push_back(std::move(rec));
  }
}

absl::StatusOr<std::unique_ptr<IpfixSink>> IpfixSink::Open(IpfixSinkOptions options) {
  std::unique_ptr<IpfixSink> sink(new IpfixSink(std::move(options)));
  const IpfixSinkOptions& o = sink->options_;
  for (const std::string& url : o.collectors) {
    absl::StatusOr<ipfix::CollectorAddress> address = ipfix::ParseCollectorUrl(url);
    if (!address.ok()) return address.status();
    ipfix::CollectorOptions co;
    co.encoder.format = o.format;
    co.encoder.biflow = o.biflow;
    co.encoder.observation_domain = o.observation_domain;
    co.template_refresh = o.template_refresh;
    co.close_timeout = o.close_timeout;
    absl::StatusOr<std::unique_ptr<ipfix::Collector>> c =
        ipfix::Collector::Open(*address, std::move(co));
    if (!c.ok()) return c.status();
    sink->collectors_.push_back(std::move(*c));
  }
  sink->thread_ = std::thread([s = sink.get()] { s->Run(); });
  return sink;
}

IpfixSink::IpfixSink(IpfixSinkOptions options) : options_(std::move(options)) {}

IpfixSink::~IpfixSink() {
  StopThread();
  for (auto& c : collectors_) c->Close();
}

void IpfixSink::OnClosed(std::span<const ClosedConnection> closed, std::string_view) {
  if (closed.empty()) return;
  absl::MutexLock lock(&mu_);
  if (!accepting_) return;
  const size_t room = options_.queue_capacity - std::min(options_.queue_capacity, queued_closed_);
  const size_t take = std::min(room, closed.size());
  for (size_t i = 0; i < take; ++i) {
    queue_.push_back(Item{nullptr, *closed[i].connection, closed[i].reason, closed[i].time_us});
  }
  queued_closed_ += take;
  if (take < closed.size()) {
    queue_dropped_.fetch_add(closed.size() - take, std::memory_order_relaxed);
  }
}

void IpfixSink::OnSnapshot(size_t, const std::shared_ptr<const WorkerSnapshot>& snapshot) {
  if (options_.active_timeout_us <= 0 || snapshot == nullptr) return;
  absl::MutexLock lock(&mu_);
  if (!accepting_) return;
  if (queued_snapshots_ >= kMaxQueuedSnapshots) {
    snapshots_skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Item item;
  item.snapshot = snapshot;
  item.time_us = snapshot->time_us;
  queue_.push_back(std::move(item));
  ++queued_snapshots_;
}

void IpfixSink::Send() {
  for (size_t at = 0; at < records_.size(); at += kSendBlock) {
    const std::span<const ipfix::FlowRecord> block =
        std::span<const ipfix::FlowRecord>(records_).subspan(
            at, std::min(kSendBlock, records_.size() - at));
    for (auto& c : collectors_) c->Export(block, Ms(clock_us_));
  }
  if (records_.empty()) {
    for (auto& c : collectors_) c->Export({}, Ms(clock_us_));  // Template refresh.
  }
  made_.fetch_add(records_.size(), std::memory_order_relaxed);
  records_.clear();
}

void IpfixSink::ExportClosed(const Connection& c, ipfix::EndReason reason, int64_t time_us) {
  clock_us_ = std::max(clock_us_, time_us);
  ExportedCounters base;
  if (auto it = exported_.find(c.id); it != exported_.end()) {
    base = it->second;
    exported_.erase(it);
  }
  MakeFlowRecords(c, base, reason, options_.biflow, options_.ingress_interface, &records_);
  if (options_.final_table_repeats_closed) closed_ids_.insert(c.id);
}

void IpfixSink::ExportActive(const WorkerSnapshot& snapshot) {
  const int64_t now = snapshot.time_us;
  clock_us_ = std::max(clock_us_, now);
  snapshot.ForEach([&](const Connection& c) {
    auto it = exported_.find(c.id);
    const int64_t since = it != exported_.end() ? it->second.last_seen_us : c.first_seen_us;
    if (now - since < options_.active_timeout_us) return;
    if (it == exported_.end()) {
      if (exported_.size() >= options_.max_tracked) return;  // Exported whole at its end.
      it = exported_.emplace(c.id, ExportedCounters{}).first;
    }
    ExportedCounters& e = it->second;
    if (c.packets[0] + c.packets[1] == e.packets[0] + e.packets[1]) return;  // Nothing new.
    MakeFlowRecords(c, e, ipfix::EndReason::kActiveTimeout, options_.biflow,
                    options_.ingress_interface, &records_);
    for (int d = 0; d < 2; ++d) {
      e.packets[d] = c.packets[d];
      e.bytes[d] = c.bytes[d];
    }
    // The next delta starts after this one's last packet.
    e.last_seen_us = std::max<int64_t>(c.last_seen_us, 1);
    // An active timeout is counted from the export, not the last packet.
    if (e.last_seen_us < now - options_.active_timeout_us) e.last_seen_us = now;
  });
}

void IpfixSink::Process(std::vector<Item>* items) {
  for (Item& item : *items) {
    if (item.snapshot != nullptr) {
      ExportActive(*item.snapshot);
    } else {
      ExportClosed(item.connection, EndReasonOf(item.reason), item.time_us);
    }
    if (records_.size() >= kSendBlock) Send();
  }
  items->clear();
  Send();
}

void IpfixSink::Run() {
  std::vector<Item> batch;
  while (true) {
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !queue_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), kIdleWait);
      batch.swap(queue_);
      queued_closed_ = 0;
      queued_snapshots_ = 0;
      stop = stop_;
    }
    Process(&batch);
    if (stop) {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) break;
    }
  }
}

void IpfixSink::StopThread() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    accepting_ = false;
  }
  if (thread_.joinable()) thread_.join();
}

void IpfixSink::OnFinalTable(const FinalTable& table) {
  StopThread();
  clock_us_ = std::max(clock_us_, table.now_us);
  for (const Connection* c : table.rows) {
    if (options_.final_table_repeats_closed && closed_ids_.contains(c->id)) continue;
    ExportClosed(*c, ipfix::EndReason::kForcedEnd, table.now_us);
    if (records_.size() >= kSendBlock) Send();
  }
  Send();
  exported_.clear();
  for (auto& c : collectors_) c->Close();
}

IpfixSink::Stats IpfixSink::stats() const {
  Stats s;
  s.records = made_.load(std::memory_order_relaxed);
  s.queue_dropped = queue_dropped_.load(std::memory_order_relaxed);
  s.snapshots_skipped = snapshots_skipped_.load(std::memory_order_relaxed);
  for (const auto& c : collectors_) s.collectors.push_back(c->stats());
  return s;
}

}  // namespace rustnet
