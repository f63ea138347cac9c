// Threads: see metrics_collector.h.
#include "daemon/export/metrics/metrics_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/record/app_record.h"

namespace rustnet {
namespace {

constexpr std::string_view kDirection[2] = {"in", "out"};

std::string_view ProtocolLabel(uint8_t protocol) {
  switch (protocol) {
    case kIpProtoTcp: return "tcp";
    case kIpProtoUdp: return "udp";
    case kIpProtoIcmp: return "icmp";
    case kIpProtoIcmpv6: return "icmpv6";
    case kPseudoProtoArp: return "arp";
    default: return "other";
  }
}

std::string_view AppLabel(uint8_t app) {
  const std::string_view name = AppProtocolName(static_cast<AppProtocol>(app));
  return name.empty() ? "unknown" : name;
}

std::string_view StateLabel(ConnState s) {
  static constexpr std::string_view kNames[] = {
      "unspecified", "syn_sent",   "syn_received", "established", "fin_wait_1",
      "fin_wait_2",  "close_wait", "closing",      "last_ack",    "time_wait",
      "closed",      "unreplied",  "active",
  };
  const auto i = static_cast<size_t>(s);
  return i < std::size(kNames) ? kNames[i] : "unspecified";
}

std::string_view ReasonLabel(CloseReason r) {
  switch (r) {
    case CloseReason::kFin: return "fin";
    case CloseReason::kReset: return "reset";
    case CloseReason::kTimeout: return "timeout";
    case CloseReason::kEvicted: return "evicted";
    case CloseReason::kReplaced: return "replaced";
    case CloseReason::kShutdown: return "shutdown";
    case CloseReason::kNone: break;
  }
  return "unknown";
}

uint8_t AppOf(const Connection& c) {
  return c.app ? static_cast<uint8_t>(c.app->protocol) : 0;
}

MetricsCollector::Traffic TrafficOf(const Connection& c) {
  MetricsCollector::Traffic t;
  const int local = c.local;
  t.bytes[0] = c.bytes[1 - local];
  t.bytes[1] = c.bytes[local];
  t.packets[0] = c.packets[1 - local];
  t.packets[1] = c.packets[local];
  // Only TCP's part of the connection's protocol union counts them.
  t.retransmissions = c.key.protocol == kIpProtoTcp ? c.tcp.retransmissions : 0;
  t.connections = 1;
  return t;
}

void Add(const MetricsCollector::Traffic& from, MetricsCollector::Traffic* to) {
  for (int d = 0; d < 2; ++d) {
    to->bytes[d] += from.bytes[d];
    to->packets[d] += from.packets[d];
  }
  to->retransmissions += from.retransmissions;
  to->connections += from.connections;
}

// The local end's process, if it has a name. (A process named "other" is
// counted as other: its own series would clash with the fold.)
const ProcessRecord* NamedProcess(const ProcessRecord* p) {
  if (p == nullptr || p->name.empty()) return nullptr;
  return p;
}

const ProcessRecord* LocalProcess(const Connection& c) {
  if (!c.attribution) return nullptr;
  return NamedProcess(c.attribution->side[c.local].process.get());
}

// A /proc file, up to 64 KiB (read(2): no stdio, no streams).
std::string ReadProcFile(const char* path) {
  std::string out;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  while (out.size() < 65536) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

MetricsCollector::MetricsCollector(MetricsCollectorOptions options)
    : options_(std::move(options)) {}

MetricsCollector::Pending MetricsCollector::PendingOf(const ClosedConnection& closed) {
  const Connection& c = *closed.connection;
  Pending p;
  p.id = c.id;
  p.protocol = c.key.protocol;
  p.app = AppOf(c);
  p.reason = closed.reason;
  p.time_us = closed.time_us;
  p.traffic = TrafficOf(c);
  if (c.attribution) p.process = c.attribution->side[c.local].process;
  return p;
}

void MetricsCollector::Commit(const Pending& p, Totals* totals) {
  Add(p.traffic, &totals->traffic[static_cast<uint16_t>(p.protocol << 8 | p.app)]);
  ++totals->closed[static_cast<uint16_t>(p.protocol << 8 | static_cast<uint8_t>(p.reason))];
  if (const ProcessRecord* proc = NamedProcess(p.process.get())) {
    Directions* d = nullptr;
    auto it = totals->process.find(proc->name);
    if (proc->name == "other") {
      d = &totals->other_process;
    } else if (it != totals->process.end()) {
      d = &it->second;
    } else if (totals->process.size() < kMaxProcessNames) {
      d = &totals->process[proc->name];
    } else {
      d = &totals->other_process;
    }
    d->bytes[0] += p.traffic.bytes[0];
    d->bytes[1] += p.traffic.bytes[1];
  }
}

void MetricsCollector::OnClosed(std::span<const ClosedConnection> closed,
                                std::string_view /*interface*/) {
  if (closed.empty()) return;
  std::vector<Pending> batch;
  batch.reserve(closed.size());
  for (const ClosedConnection& c : closed) batch.push_back(PendingOf(c));
  const size_t limit = std::max<size_t>(options_.max_pending, 1);
  absl::MutexLock lock(&mu_);
  if (pending_.size() + batch.size() > limit) {
    // Full (no scrape for a while). Closes older than every worker's
    // current snapshot are in none of them (a snapshot that holds a
    // connection was published at or before the clock it left at), so they
    // join the totals exactly; only if that is not enough do the oldest
    // join regardless (see the header). Reading the snapshots' times is a
    // pointer copy per worker.
    int64_t oldest_snapshot = INT64_MIN;
    if (snapshots_ != nullptr) {
      oldest_snapshot = INT64_MAX;
      for (const auto& snap : snapshots_->Current()) {
        oldest_snapshot = snap ? std::min(oldest_snapshot, snap->time_us) : INT64_MIN;
      }
    }
    std::vector<Pending> keep;
    for (Pending& p : pending_) {
      if (p.time_us < oldest_snapshot) {
        Commit(p, &totals_);
      } else {
        keep.push_back(std::move(p));
      }
    }
    pending_.swap(keep);
    if (pending_.size() + batch.size() > limit) {
      const size_t excess = std::min(pending_.size() + batch.size() - limit, pending_.size());
      for (size_t i = 0; i < excess; ++i) Commit(pending_[i], &totals_);
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(excess));
    }
  }
  for (Pending& p : batch) {
    if (pending_.size() >= limit) {
      Commit(p, &totals_);
    } else {
      pending_.push_back(std::move(p));
    }
  }
}

uint64_t MetricsCollector::Monotonic(std::string_view name, std::initializer_list<Label> labels,
                                     uint64_t value) {
  std::string key(name);
  for (const Label& l : labels) key.append("\xff").append(l.second);
  auto it = last_.find(key);
  if (it != last_.end()) value = std::max(value, it->second);
  seen_[std::move(key)] = value;
  return value;
}

std::string MetricsCollector::Render(ExpositionFormat format) {
  absl::MutexLock render_lock(&render_mu_);
  // Snapshots first, pending closes second (see the header).
  std::vector<std::shared_ptr<const WorkerSnapshot>> snaps;
  if (snapshots_ != nullptr) snaps = snapshots_->Current();
  std::vector<Pending> taken;
  {
    absl::MutexLock lock(&mu_);
    taken.swap(pending_);
  }
  absl::flat_hash_set<uint64_t> pending_ids;
  pending_ids.reserve(taken.size());
  for (const Pending& p : taken) pending_ids.insert(p.id);
  absl::flat_hash_set<uint64_t> still_live;

  absl::flat_hash_map<uint16_t, Traffic> live_traffic;
  absl::flat_hash_map<uint16_t, uint64_t> gauge;  // protocol << 8 | state
  absl::flat_hash_map<std::string_view, Directions> live_process;
  Directions live_other;
  for (const auto& snap : snaps) {
    if (!snap) continue;
    snap->ForEach([&](const Connection& c) {
      Add(TrafficOf(c), &live_traffic[static_cast<uint16_t>(c.key.protocol << 8 | AppOf(c))]);
      ++gauge[static_cast<uint16_t>(c.key.protocol << 8 | static_cast<uint8_t>(c.state))];
      if (const ProcessRecord* p = LocalProcess(c)) {
        Directions& d = p->name == "other" ? live_other : live_process[p->name];
        const Traffic t = TrafficOf(c);
        d.bytes[0] += t.bytes[0];
        d.bytes[1] += t.bytes[1];
      }
      if (!pending_ids.empty() && pending_ids.contains(c.id)) still_live.insert(c.id);
    });
  }
  Totals totals;
  {
    absl::MutexLock lock(&mu_);
    std::vector<Pending> keep;
    for (Pending& p : taken) {
      if (still_live.contains(p.id)) {
        keep.push_back(std::move(p));
      } else {
        Commit(p, &totals_);
      }
    }
    // Those kept are older than any that arrived meanwhile.
    keep.insert(keep.end(), std::make_move_iterator(pending_.begin()),
                std::make_move_iterator(pending_.end()));
    pending_.swap(keep);
    totals = totals_;
  }

  rustnet::v1::Stats stats;
  if (stats_) stats_(&stats);

  ExpositionWriter w(format);
  seen_.clear();
  auto counter = [this, &w](std::string_view name, std::initializer_list<Label> labels,
                            uint64_t value) {
    w.Sample(name, labels, Monotonic(name, labels, value));
  };

  w.Family("rustnet_build_info", "rustnetd's version; always 1.", MetricType::kGauge);
  w.Sample("rustnet_build_info", {{"version", options_.version}}, uint64_t{1});

  w.Family("rustnet_capture_packets_total",
           "Packets the capture received (live: queued by the kernel; file: records read).",
           MetricType::kCounter);
  for (const auto& cap : stats.captures()) {
    w.Sample("rustnet_capture_packets_total", {{"interface", cap.name()}}, cap.received());
  }
  w.Family("rustnet_capture_dropped_total",
           "Packets lost before tracking, by where: kernel (ring full), interface (driver), "
           "queue (a worker fell behind).",
           MetricType::kCounter);
  for (const auto& cap : stats.captures()) {
    w.Sample("rustnet_capture_dropped_total", {{"interface", cap.name()}, {"reason", "kernel"}},
             cap.dropped_kernel());
    w.Sample("rustnet_capture_dropped_total", {{"interface", cap.name()}, {"reason", "interface"}},
             cap.dropped_interface());
    w.Sample("rustnet_capture_dropped_total", {{"interface", cap.name()}, {"reason", "queue"}},
             stats.pipeline().dropped_queues());
  }

  // Sorted for a stable exposition.
  std::vector<std::pair<uint16_t, uint64_t>> gauges(gauge.begin(), gauge.end());
  std::sort(gauges.begin(), gauges.end());
  w.Family("rustnet_connections", "Connections in the table now, by protocol and state.",
           MetricType::kGauge);
  for (const auto& [key, n] : gauges) {
    w.Sample("rustnet_connections",
             {{"protocol", ProtocolLabel(static_cast<uint8_t>(key >> 8))},
              {"state", StateLabel(static_cast<ConnState>(key & 0xff))}},
             n);
  }

  // Traffic: closed totals plus the live table.
  absl::flat_hash_map<uint16_t, Traffic> traffic = totals.traffic;
  for (const auto& [key, t] : live_traffic) Add(t, &traffic[key]);
  std::vector<std::pair<uint16_t, Traffic>> rows(traffic.begin(), traffic.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t opened[256] = {};
  uint64_t retransmissions = 0;
  for (const auto& [key, t] : rows) {
    opened[key >> 8] += t.connections;
    retransmissions += t.retransmissions;
  }
  w.Family("rustnet_connections_opened_total", "Connections tracked since the start, by protocol.",
           MetricType::kCounter);
  for (int p = 0; p < 256; ++p) {
    if (opened[p] == 0) continue;
    counter("rustnet_connections_opened_total", {{"protocol", ProtocolLabel(static_cast<uint8_t>(p))}},
            opened[p]);
  }
  std::vector<std::pair<uint16_t, uint64_t>> closed(totals.closed.begin(), totals.closed.end());
  std::sort(closed.begin(), closed.end());
  w.Family("rustnet_connections_closed_total",
           "Connections that left the table, by protocol and why (fin, reset, timeout, evicted, "
           "replaced).",
           MetricType::kCounter);
  for (const auto& [key, n] : closed) {
    counter("rustnet_connections_closed_total",
            {{"protocol", ProtocolLabel(static_cast<uint8_t>(key >> 8))},
             {"reason", ReasonLabel(static_cast<CloseReason>(key & 0xff))}},
            n);
  }
  w.Family("rustnet_bytes_total",
           "Bytes on the wire (frame lengths) by direction seen from the local end, transport "
           "protocol and application (the DPI protocol, or unknown); closed connections included.",
           MetricType::kCounter);
  for (const auto& [key, t] : rows) {
    for (int d = 0; d < 2; ++d) {
      counter("rustnet_bytes_total",
              {{"direction", kDirection[d]},
               {"protocol", ProtocolLabel(static_cast<uint8_t>(key >> 8))},
               {"application", AppLabel(static_cast<uint8_t>(key & 0xff))}},
              t.bytes[d]);
    }
  }
  w.Family("rustnet_packets_total",
           "Packets by direction, transport protocol and application, as rustnet_bytes_total.",
           MetricType::kCounter);
  for (const auto& [key, t] : rows) {
    for (int d = 0; d < 2; ++d) {
      counter("rustnet_packets_total",
              {{"direction", kDirection[d]},
               {"protocol", ProtocolLabel(static_cast<uint8_t>(key >> 8))},
               {"application", AppLabel(static_cast<uint8_t>(key & 0xff))}},
              t.packets[d]);
    }
  }
  w.Family("rustnet_tcp_retransmissions_total",
           "TCP segments seen again (sequence numbers already covered).", MetricType::kCounter);
  counter("rustnet_tcp_retransmissions_total", {}, retransmissions);

  // Processes: the top N by bytes, the rest as "other".
  absl::flat_hash_map<std::string_view, Directions> per_process;
  for (const auto& [name, d] : totals.process) per_process[name] = d;
  for (const auto& [name, d] : live_process) {
    Directions& to = per_process[name];
    to.bytes[0] += d.bytes[0];
    to.bytes[1] += d.bytes[1];
  }
  std::vector<std::pair<std::string_view, Directions>> procs(per_process.begin(),
                                                             per_process.end());
  auto total = [](const Directions& d) { return d.bytes[0] + d.bytes[1]; };
  std::sort(procs.begin(), procs.end(), [&total](const auto& a, const auto& b) {
    if (total(a.second) != total(b.second)) return total(a.second) > total(b.second);
    return a.first < b.first;
  });
  Directions other = totals.other_process;
  other.bytes[0] += live_other.bytes[0];
  other.bytes[1] += live_other.bytes[1];
  const size_t top = std::min(procs.size(), options_.top_processes);
  for (size_t i = top; i < procs.size(); ++i) {
    other.bytes[0] += procs[i].second.bytes[0];
    other.bytes[1] += procs[i].second.bytes[1];
  }
  procs.resize(top);
  std::sort(procs.begin(), procs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  w.Family("rustnet_process_bytes_total",
           "Bytes of attributed connections by local process name: the top processes by "
           "traffic, the rest summed as process other.",
           MetricType::kCounter);
  for (const auto& [name, d] : procs) {
    for (int dir = 0; dir < 2; ++dir) {
      counter("rustnet_process_bytes_total", {{"process", name}, {"direction", kDirection[dir]}},
              d.bytes[dir]);
    }
  }
  if (other.bytes[0] + other.bytes[1] != 0 || last_.contains("rustnet_process_bytes_total\xffother\xffin")) {
    for (int dir = 0; dir < 2; ++dir) {
      counter("rustnet_process_bytes_total", {{"process", "other"}, {"direction", kDirection[dir]}},
              other.bytes[dir]);
    }
  }

  std::vector<std::pair<std::string, uint64_t>> anomalies(stats.anomalies().begin(),
                                                          stats.anomalies().end());
  std::sort(anomalies.begin(), anomalies.end());
  w.Family("rustnet_dpi_anomalies_total",
           "Malformed or unusual packets by kind, from the decoder and the dissectors.",
           MetricType::kCounter);
  for (const auto& [name, n] : anomalies) w.Sample("rustnet_dpi_anomalies_total", {{"name", name}}, n);

  const auto& a = stats.attribution();
  w.Family("rustnet_attribution_total",
           "Process attribution lookups by result: attributed (a process), user_only (its user "
           "only), miss (no socket found), dropped (queue full).",
           MetricType::kCounter);
  w.Sample("rustnet_attribution_total", {{"result", "attributed"}}, a.attributed());
  w.Sample("rustnet_attribution_total", {{"result", "user_only"}}, a.user_only());
  w.Sample("rustnet_attribution_total", {{"result", "miss"}}, a.misses());
  w.Sample("rustnet_attribution_total", {{"result", "dropped"}}, a.dropped());

  w.Single("rustnet_packets_tracked_total", "Packets decoded and handed to a worker.",
           MetricType::kCounter, stats.pipeline().tracked());
  w.Single("rustnet_connections_capacity", "Connections the table holds at most.",
           MetricType::kGauge, stats.connections().capacity());
  w.Single("rustnet_capture_running",
           "1 while the capture runs; 0 once it ended (a replayed file's end, a failure).",
           MetricType::kGauge,
           uint64_t{stats.captures_size() > 0 && !stats.captures(0).finished() ? 1u : 0u});

  WriteExportMetrics(stats, &w);
  if (options_.extra) options_.extra(&w);
  WriteProcessMetrics(&w);
  last_.swap(seen_);
  return w.Finish();
}

void WriteExportMetrics(const rustnet::v1::Stats& stats, ExpositionWriter* w) {
  if (stats.has_ipfix()) {
    const auto& collectors = stats.ipfix().collectors();
    struct Counter {
      std::string_view name;
      std::string_view help;
      uint64_t (rustnet::v1::IpfixCollectorStats::*get)() const;
    };
    static constexpr Counter kCounters[] = {
        {"rustnet_ipfix_records_total", "IPFIX / NetFlow v9 data records sent, by collector.",
         &rustnet::v1::IpfixCollectorStats::records},
        {"rustnet_ipfix_messages_total",
         "IPFIX messages (NetFlow v9 packets) sent, templates included, by collector.",
         &rustnet::v1::IpfixCollectorStats::messages},
        {"rustnet_ipfix_bytes_total", "Bytes of the IPFIX / NetFlow v9 messages sent, by collector.",
         &rustnet::v1::IpfixCollectorStats::bytes},
        {"rustnet_ipfix_dropped_total",
         "Flow records not sent to a collector: queue full, collector down or send failed.",
         &rustnet::v1::IpfixCollectorStats::dropped},
        {"rustnet_ipfix_reconnects_total",
         "TCP connections to a collector made after the first.",
         &rustnet::v1::IpfixCollectorStats::reconnects},
    };
    for (const Counter& c : kCounters) {
      w->Family(c.name, c.help, MetricType::kCounter);
      for (const auto& col : collectors) w->Sample(c.name, {{"collector", col.url()}}, (col.*c.get)());
    }
    w->Family("rustnet_ipfix_collector_connected",
              "1 while the collector's TCP connection is up (UDP: always 1).", MetricType::kGauge);
    for (const auto& col : collectors) {
      w->Sample("rustnet_ipfix_collector_connected", {{"collector", col.url()}},
                uint64_t{col.connected() ? 1u : 0u});
    }
  }
  if (stats.has_history_store()) {
    const auto& h = stats.history_store();
    w->Single("rustnet_history_store_rows_written_total", "Rows the history store wrote.",
              MetricType::kCounter, h.rows_written());
    w->Single("rustnet_history_store_rows_dropped_total",
              "Rows the history store did not store (queue full, or the store could not write).",
              MetricType::kCounter, h.rows_dropped());
    w->Single("rustnet_history_store_healthy",
              "1 while the history store's writes succeed; 0 while it is failing and retrying.",
              MetricType::kGauge, uint64_t{h.healthy() ? 1u : 0u});
  }
  if (stats.has_json_log()) {
    w->Single("rustnet_json_log_lines_total", "Lines the JSON connection log wrote.",
              MetricType::kCounter, stats.json_log().written());
    w->Single("rustnet_json_log_dropped_total",
              "Events the JSON connection log did not write (queue full, fell behind, write "
              "failed).",
              MetricType::kCounter, stats.json_log().dropped());
  }
  if (stats.has_pcap_export()) {
    w->Single("rustnet_pcap_export_packets_total", "Packets the pcap export wrote.",
              MetricType::kCounter, stats.pcap_export().written());
    w->Single("rustnet_pcap_export_dropped_total",
              "Packets the pcap export did not write because its writer was behind (never "
              "dropped from capture).",
              MetricType::kCounter, stats.pcap_export().dropped());
  }
}

void WriteProcessMetrics(ExpositionWriter* w) {
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  // /proc/self/stat: the fields after the command name's closing ')'
  // (proc(5): utime is field 14, stime 15, starttime 22, vsize 23, rss 24).
  const std::string stat = ReadProcFile("/proc/self/stat");
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && ticks > 0 && page > 0) {
    std::vector<std::string> f =
        absl::StrSplit(stat.substr(paren + 1), ' ', absl::SkipEmpty());
    // f[0] is field 3 (state).
    uint64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    if (f.size() > 21 && absl::SimpleAtoi(f[11], &utime) && absl::SimpleAtoi(f[12], &stime) &&
        absl::SimpleAtoi(f[19], &start) && absl::SimpleAtoi(f[20], &vsize) &&
        absl::SimpleAtoi(f[21], &rss)) {
      w->Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                MetricType::kCounter,
                static_cast<double>(utime + stime) / static_cast<double>(ticks));
      w->Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                MetricType::kGauge, vsize);
      w->Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                MetricType::kGauge, rss * static_cast<uint64_t>(page));
      // Boot time (/proc/stat btime) + start ticks after boot.
      const std::string proc_stat = ReadProcFile("/proc/stat");
      for (const std::string& line : std::vector<std::string>(absl::StrSplit(proc_stat, '\n'))) {
        uint64_t btime = 0;
        if (line.rfind("btime ", 0) == 0 && absl::SimpleAtoi(std::string(line.substr(6)), &btime)) {
          w->Single("process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.", MetricType::kGauge,
                    static_cast<double>(btime) +
                        static_cast<double>(start) / static_cast<double>(ticks));
          break;
        }
      }
    }
  }
  uint64_t fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(dir);
    w->Single("process_open_fds", "Number of open file descriptors.", MetricType::kGauge,
              fds > 0 ? fds - 1 : 0);  // (Less the one reading the directory.)
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    w->Single("process_max_fds", "Maximum number of open file descriptors.", MetricType::kGauge,
              static_cast<uint64_t>(limit.rlim_cur));
  }
}

}  // namespace rustnet
