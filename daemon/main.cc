// rustnetd: capture, decode, track; serve the table (API: see proto/).
//
// Threads: main (start-up, periodic statistics, service notifications,
// SIGHUP reloads, shutdown), a signal thread (sigwait), the capture thread,
// the workers (daemon/pipeline/), with --json-log the connection log's
// writer (daemon/export/json_log/), with --history-db the history
// store's writer (daemon/history_store/), with --pcap-export the pcap
// export's writer (daemon/export/pcap_export/); QueryHistory reads the store
// on gRPC threads.
//
// Privileges are needed only to start: once the capture is open and the API
// listens, every thread drops the capabilities the running daemon does not
// need (daemon/service/capabilities.h).
#include <malloc.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "daemon/capture/interfaces.h"
#include "daemon/capture/pcap_source.h"
#include "daemon/config.h"
#include "daemon/enrich/geoip.h"
#include "daemon/enrich/mac_vendors.h"
#include "daemon/enrich/reverse_dns.h"
#include "daemon/export/json_dump/json_dump_sink.h"
#include "daemon/export/ipfix/ipfix_sink.h"
#include "daemon/export/json_log/json_log_sink.h"
#include "daemon/export/metrics/metrics_collector.h"
#include "daemon/export/metrics/metrics_server.h"
#include "daemon/export/pcap_export/pcap_exporter.h"
#include "daemon/export/pcap_export/pcapng.h"
#include "daemon/history_store/history_store.h"
#include "daemon/options.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/rpc/monitor_service.h"
#include "daemon/rpc/server.h"
#include "daemon/service/capabilities.h"
#include "daemon/service/listen_fds.h"
#include "daemon/service/log_file.h"
#include "daemon/service/notify.h"
#include "daemon/service/watchdog.h"
#include "daemon/snapshot/closed_history.h"
#include "daemon/snapshot/connection_sink.h"
#include "daemon/snapshot/convert.h"
#include "daemon/snapshot/event_hub.h"
#include "daemon/snapshot/packet_export.h"
#include "spdlog/sinks/systemd_sink.h"
#include "spdlog/spdlog.h"

#ifndef RUSTNET_VERSION
#define RUSTNET_VERSION "0.0.0"
#endif

namespace rustnet {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "rustnetd: %s\n", message.c_str());
  return 1;
}

int ListInterfaces() {
  auto list = ListCaptureInterfaces();
  if (!list.ok()) return Fail(std::string(list.status().message()));
  std::printf("%-16s %-22s %s\n", "INTERFACE", "FLAGS", "ADDRESSES");
  for (const InterfaceInfo& i : *list) {
    if (!IsNetworkInterface(i.name)) continue;
    std::vector<std::string> flags;
    if (i.up) flags.push_back("up");
    if (i.running) flags.push_back("running");
    if (i.loopback) flags.push_back("loopback");
    std::printf("%-16s %-22s %s\n", i.name.c_str(), absl::StrJoin(flags, ",").c_str(),
                absl::StrJoin(i.addresses, " ").c_str());
  }
  return 0;
}

void LogStats(const Pipeline& pipeline) {
  const PipelineStats s = pipeline.Stats();
  spdlog::info(
      "capture {}: received {}, filtered {}, dropped by kernel {}, dropped by interface {}, dropped by "
      "queues {}; packets {}, tracked {}, not IP {}, malformed {}, untracked fragments {}; "
      "connections {} (created {}, expired {}, evicted {})",
      pipeline.source().name(), s.capture.received, s.capture.filtered, s.capture.dropped_kernel,
      s.capture.dropped_interface, s.queue_dropped, s.packets, s.tracked, s.not_ip, s.malformed,
      s.untracked, s.connections, s.flows.created, s.flows.expired, s.flows.evicted);
  if (s.anomalies.Total() > 0) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < kAnomalyCount; ++i) {
      if (s.anomalies.counts[i] == 0) continue;
      parts.push_back(
          absl::StrCat(std::string(AnomalyName(static_cast<Anomaly>(i))), "=", s.anomalies.counts[i]));
    }
    spdlog::info("anomalies: {}", absl::StrJoin(parts, ", "));
  }
  spdlog::info("dpi: classified {}, gave up {}, inspecting {}, skipped at state cap {}",
               s.dpi.classified, s.dpi.gave_up, s.dpi.active, s.dpi.skipped_state_cap);
  if (!s.dpi_anomalies.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, count] : s.dpi_anomalies) parts.push_back(absl::StrCat(name, "=", count));
    spdlog::info("dpi anomalies: {}", absl::StrJoin(parts, ", "));
  }
}

// What the watchdog looks at (daemon/service/watchdog.h).
PipelineProgress Progress(const Pipeline& pipeline) {
  PipelineProgress p;
  p.finished = pipeline.capture_done();
  p.capture_clock_us = pipeline.clock_us();
  for (const auto& snapshot : pipeline.snapshots().Current()) {
    p.worker_clocks_us.push_back(snapshot ? snapshot->time_us : 0);
  }
  return p;
}

// SIGHUP: reopen the log file (logrotate renamed it), re-read the
// configuration and apply what a running daemon can change: the log level
// and the statistics interval. A broken file keeps the running
// configuration.
void Reload(const std::vector<std::string>& command_line, DaemonOptions* options,
            ReopenableFileSink* log_file, JsonLogSink* json_log, GeoIp* geoip,
            ServiceNotifier* notifier) {
  notifier->Reloading();
  if (geoip != nullptr) geoip->Reload();  // Logs each database it opens.
  std::string reopened;
  if (log_file != nullptr) {
    if (absl::Status s = log_file->Reopen(); !s.ok()) {
      spdlog::error("SIGHUP: {}; still writing the old file", std::string(s.message()));
    } else {
      reopened = absl::StrCat("; reopened ", log_file->path());
    }
  }
  if (json_log != nullptr) {
    if (absl::Status s = json_log->Reopen(); !s.ok()) {
      spdlog::error("SIGHUP: {}; still writing the old file", std::string(s.message()));
    } else {
      absl::StrAppend(&reopened, reopened.empty() ? "; reopened " : " and ", json_log->path());
    }
  }
  auto next = LoadDaemonOptions(command_line);
  if (!next.ok()) {
    spdlog::error("SIGHUP: {}; keeping the running configuration{}",
                  std::string(next.status().message()), reopened);
  } else {
    for (const std::string& name : OptionsNeedingRestart(*options, *next)) {
      spdlog::warn("SIGHUP: {} changed; it takes effect when rustnetd restarts", name);
    }
    options->log_level = next->log_level;
    options->stats_interval_s = next->stats_interval_s;
    spdlog::default_logger()->set_level(options->log_level);
    spdlog::info("SIGHUP: configuration reloaded: log level {}, statistics every {} s{}",
                 spdlog::level::to_string_view(options->log_level), options->stats_interval_s,
                 reopened);
    spdlog::debug("debug logging is on");
  }
  notifier->Ready();
}

// --- Start-up ------------------------------------------------------------------

// Signals are handled by one thread with sigwait; Run blocks them in every
// thread before any starts.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

struct Logging {
  std::string path = "the journal";  // Where the log goes, in words.
  std::shared_ptr<ReopenableFileSink> file;  // Reopened on SIGHUP; null: the journal only.
};

// Under systemd (stderr connected to the journal) logs to the journal with
// proper priorities, and to a file only when --log-dir asks for one;
// otherwise to a file in --log-dir. Start-up errors go to stderr by Fail().
absl::StatusOr<Logging> SetUpLogging(const DaemonOptions& options) {
  Logging logging;
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  if (journal && !options.log_dir_set) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "rustnetd", std::make_shared<spdlog::sinks::systemd_sink_mt>("rustnetd")));
    spdlog::set_level(options.log_level);
    return logging;
  }
  LoggingOptions log_options;
  log_options.level = options.log_level;
  log_options.dir = options.log_dir;
  log_options.prefix = "rustnet";
  log_options.to_stderr = false;
  log_options.periodic_flush = options.dump.empty();  // A dump flushes as it ends.
  auto path = SetupLogging(log_options);
  if (!path.ok()) return path.status();
  logging.path = *path;
  auto reopenable = MakeLogFileReopenable(logging.path);
  if (!reopenable.ok()) return reopenable.status();
  logging.file = *reopenable;
  if (journal) {
    spdlog::default_logger()->sinks().push_back(
        std::make_shared<spdlog::sinks::systemd_sink_mt>("rustnetd"));
  }
  return logging;
}

void LogStart(const Logging& logging, const std::vector<std::string>& command_line) {
  spdlog::info("rustnetd {} starting (pid {}), logging to {}", RUSTNET_VERSION, getpid(),
               logging.path);
  if (const ConfigChoice config = ChooseConfigFile(command_line);
      config.explicit_path || access(config.path.c_str(), F_OK) == 0) {
    spdlog::info("configuration file {}", config.path);
  }
}

// Socket activation: rustnetd.socket (or systemd-socket-activate) may have
// passed the API's listening socket. Taken before any thread starts; not
// for one-shot dumps, which serve no API.
absl::StatusOr<std::optional<PassedSocket>> TakeApiSocket(const DaemonOptions& options) {
  if (!options.dump.empty()) return std::optional<PassedSocket>();
  auto passed = TakePassedSocket();
  if (!passed.ok()) spdlog::error("{}", std::string(passed.status().message()));
  return passed;
}

struct Capture {
  std::unique_ptr<PcapSource> source;
  // --capture-threads N: the other N - 1 sockets of source's fan-out group.
  std::vector<std::unique_ptr<PcapSource>> more;
  std::shared_ptr<const LocalAddresses> local;  // This machine's; null for files.
};

// --read FILE, or -i (default: the first interface that is up).
absl::StatusOr<Capture> OpenCapture(const DaemonOptions& options) {
  Capture capture;
  if (!options.read_file.empty()) {
    auto opened = PcapSource::OpenFile(options.read_file, options.bpf);
    if (!opened.ok()) {
      spdlog::error("{}", std::string(opened.status().message()));
      return opened.status();
    }
    capture.source = std::move(*opened);
    spdlog::info("reading {}", options.read_file);
  } else {
    LiveCaptureOptions live;
    live.interface = options.interface;
    if (live.interface.empty()) {
      auto def = DefaultInterface();
      if (!def.ok()) return def.status();
      live.interface = *def;
    }
    live.bpf = options.bpf;
    // For benchmarks of the ring (bench/live_trafgen.sh), not options: its
    // size per capture thread and its block timeout (pcap_source.h says
    // why the defaults are what they are).
    int value = 0;
    if (const char* v = std::getenv("RUSTNET_CAPTURE_BUFFER_KIB");
        v != nullptr && absl::SimpleAtoi(v, &value) && value >= 64 && value <= (1 << 21)) {
      live.buffer_bytes = value * 1024;
    }
    if (const char* v = std::getenv("RUSTNET_CAPTURE_BLOCK_TIMEOUT_MS");
        v != nullptr && absl::SimpleAtoi(v, &value) && value >= 1 && value <= 1000) {
      live.block_timeout_ms = value;
    }
    auto opened = PcapSource::OpenLiveFanout(live, options.capture_threads);
    if (!opened.ok()) {
      spdlog::error("{}", std::string(opened.status().message()));
      return opened.status();
    }
    capture.source = std::move(opened->front());
    for (size_t k = 1; k < opened->size(); ++k) capture.more.push_back(std::move((*opened)[k]));
    capture.local = MachineAddresses();
    if (capture.more.empty()) {
      spdlog::info("capturing on {} ({} local addresses)", live.interface, capture.local->size());
    } else {
      spdlog::info("capturing on {} ({} local addresses, {} capture threads, fan-out group {})",
                   live.interface, capture.local->size(), capture.more.size() + 1,
                   capture.source->fanout_group());
    }
  }
  if (!options.bpf.empty()) spdlog::info("BPF filter: {}", options.bpf);
  return capture;
}

// A one-shot dump of a file up to this size runs on the main thread alone
// (PipelineOptions::inline_replay): starting a capture thread and workers
// and handing batches between them costs more than they save on it (a
// hand-off waits for a CPU turn on a loaded machine); bigger files get the
// workers' parallelism.
constexpr off_t kInlineReplayMaxBytes = 2 << 20;

// Whether this run replays inline. RUSTNET_INLINE_REPLAY=0 or 1 overrides
// the size rule (tests compare both ways).
bool InlineReplay(const DaemonOptions& options) {
  if (options.dump.empty() || options.read_file.empty() || !options.pcap_export.empty()) {
    return false;
  }
  if (const char* env = std::getenv("RUSTNET_INLINE_REPLAY"); env != nullptr && *env != '\0') {
    return std::string_view(env) != "0";
  }
  struct stat st;
  return stat(options.read_file.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         st.st_size <= kInlineReplayMaxBytes;
}

PipelineOptions PipelineOptionsFor(const DaemonOptions& options, const Capture& capture,
                                   EventHub* events) {
  if (options.no_dpi) spdlog::info("deep packet inspection disabled (--no-dpi)");
  PipelineOptions p;
  p.workers = options.threads;
  p.max_connections = options.max_connections;
  p.no_localhost = options.no_localhost;
  p.local_addresses = capture.local;
  // Snapshots feed the API, and IPFIX's active timeout (with --dump too).
  p.publish_snapshots =
      options.dump.empty() || (!options.ipfix.empty() && options.ipfix_active_timeout_us > 0);
  p.dpi = !options.no_dpi;
  p.keep_removed = options.dump_expired;
  // Sockets of this host only exist for live capture.
  p.attribution = capture.source->live() && !options.no_process;
  const char* socket_table = std::getenv("RUSTNET_SOCKET_TABLE");
  p.attribution_procfs = socket_table != nullptr && std::string_view(socket_table) == "procfs";
  if (options.no_process) spdlog::info("process attribution disabled (--no-process)");
  p.ebpf = !options.no_ebpf;
  p.snapshot_interval_us = options.snapshot_interval_ms * 1000;
  p.events = events;
  p.inline_replay = !capture.source->live() && InlineReplay(options);
  // Inline, each batch is processed as soon as it is handed over: two per
  // worker are all it uses (the threaded default, 64 queued + 2, allocates
  // ~2 MB per worker).
  if (p.inline_replay) p.queue_batches = 2;
  return p;
}

MonitorServiceOptions ServiceOptionsFor(const DaemonOptions& options, const PipelineOptions& p) {
  MonitorServiceOptions service_options;
  service_options.version = RUSTNET_VERSION;
  service_options.max_streams = options.max_streams;
  service_options.max_connections = p.max_connections;
  service_options.workers = p.workers;
  return service_options;
}

// The API (not for one-shot dumps). Started before the packets flow, so a
// second daemon on the same socket fails before it captures anything.
absl::StatusOr<std::unique_ptr<ApiServer>> StartApi(const DaemonOptions& options,
                                                    const std::optional<PassedSocket>& passed,
                                                    MonitorService* service) {
  ApiServerOptions a;
  a.socket_path = options.socket;
  a.socket_group = options.socket_group;
  a.socket_group_set = options.socket_group_set;
  a.listen = options.listen;
  a.tls_cert = options.tls_cert;
  a.tls_key = options.tls_key;
  a.tls_client_ca = options.tls_client_ca;
  a.insecure_listen = options.insecure_listen;
  a.max_streams = options.max_streams;
  if (passed) {
    a.listen_fd = passed->fd;
    if (!passed->path.empty()) a.socket_path = passed->path;
  }
  auto started = ApiServer::Start(a, service);
  if (!started.ok()) {
    spdlog::error("{}", std::string(started.status().message()));
    return started.status();
  }
  const ApiServer& api = **started;
  spdlog::info("API listening on unix:{}{}{}", api.socket_path(),
               passed ? " (socket passed by the service manager)" : "",
               api.tcp_address().empty()
                   ? ""
                   : absl::StrCat(" and ", api.tcp_address(),
                                  options.listen.empty() ? " (plaintext)" : " (TLS)"));
  return started;
}

// Once everything privileged is done (the capture is open, the API
// listens): keeps only what the running daemon needs.
absl::Status DropStartupPrivileges(bool live) {
  if (absl::Status s = DropCapabilities(RuntimeCapabilities(live)); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return absl::Status(s.code(), absl::StrCat(s.message(), "; rustnetd does not run with more "
                                                            "privileges than it needs"));
  }
  if (auto caps = CurrentCapabilities(); caps.ok()) {
    spdlog::info("capabilities: {}", caps->effective.ToString());
  }
  return absl::OkStatus();
}

// Shared with the signal thread, which outlives Run.
struct Signals {
  std::atomic<int> got{0};
  std::atomic<bool> reload{false};
  absl::Notification stop;
  // Called by the signal thread right after `stop` (a dump stops its
  // pipeline there, instead of polling `stop`); set and cleared by Run.
  absl::Mutex mu;
  std::function<void()> on_stop ABSL_GUARDED_BY(mu);
};

// The thread that waits for `signals` (blocked everywhere): SIGHUP asks for
// a reload; SIGINT or SIGTERM stops the daemon.
std::shared_ptr<Signals> StartSignalThread(sigset_t signals) {
  auto sig = std::make_shared<Signals>();
  std::thread([signals, sig] {
    while (true) {
      int number = 0;
      if (sigwait(&signals, &number) != 0) continue;
      if (number == SIGHUP) {
        sig->reload.store(true);
        continue;
      }
      sig->got.store(number);
      sig->stop.Notify();
      absl::MutexLock lock(&sig->mu);
      if (sig->on_stop) sig->on_stop();
      return;
    }
  }).detach();
  return sig;
}

// --- Enrichment (GeoIP, MAC vendors) -----------------------------------------------

struct EnrichmentState {
  std::unique_ptr<GeoIp> geoip;                   // Null with --no-geoip.
  std::unique_ptr<MacVendorTable> mac_vendors;    // Null when ieee-data is missing.
  std::unique_ptr<ReverseDns> reverse_dns;        // Null without --resolve-dns.
};

// Fails only on a bad --resolve-dns-server; what is missing is logged (one
// line each) and left out.
absl::StatusOr<EnrichmentState> StartEnrichment(const DaemonOptions& options) {
  EnrichmentState e;
  if (options.resolve_dns) {
    ReverseDnsOptions r;
    r.rate_per_second = options.resolve_dns_rate;
    r.servers = options.resolve_dns_server;
    auto started = ReverseDns::Start(std::move(r));
    if (!started.ok()) return started.status();
    e.reverse_dns = std::move(*started);
    spdlog::info("reverse DNS on: at most {} PTR queries/s to {}", options.resolve_dns_rate,
                 options.resolve_dns_server.empty() ? std::string("the resolv.conf servers")
                                                    : options.resolve_dns_server);
  }
  if (options.no_geoip) {
    spdlog::info("GeoIP off (--no-geoip)");
  } else {
    GeoIpOptions g;
    g.files[static_cast<size_t>(GeoDbRole::kCountry)] = options.geoip_country;
    g.files[static_cast<size_t>(GeoDbRole::kCity)] = options.geoip_city;
    g.files[static_cast<size_t>(GeoDbRole::kAsn)] = options.geoip_asn;
    e.geoip = GeoIp::Start(std::move(g));
  }
  auto table = MacVendorTable::LoadDirectory(kDefaultIeeeDataDir);
  if (!table.ok()) {
    spdlog::info("MAC vendors off: {}", std::string(table.status().message()));
  } else {
    const MacVendorTable::Stats& st = table->stats();
    spdlog::info("MAC vendors: {} MA-L, {} MA-M, {} MA-S prefixes from {}{}", st.ma_l, st.ma_m,
                 st.ma_s, kDefaultIeeeDataDir,
                 st.bad_lines == 0 ? std::string()
                                   : absl::StrCat(" (", st.bad_lines, " malformed lines skipped)"));
    e.mac_vendors = std::make_unique<MacVendorTable>(std::move(*table));
  }
  return e;
}

// --- The connection log (--json-log) ------------------------------------------------

// Opens it before the pipeline exists (it subscribes to `events` for opened
// and classified events, and is listed among the pipeline's sinks for
// closed ones). Null without --json-log.
absl::StatusOr<std::unique_ptr<JsonLogSink>> OpenJsonLog(const DaemonOptions& options,
                                                         const Capture& capture,
                                                         EventHub* events) {
  if (options.json_log.empty()) return std::unique_ptr<JsonLogSink>();
  JsonLogOptions o;
  o.path = options.json_log;
  o.interface = capture.source->name();
  o.opened = options.json_log_opened;
  o.classified = options.json_log_classified;
  o.closed = options.json_log_closed;
  o.events = events;
  o.final_table_repeats_closed = options.dump_expired;
  auto sink = JsonLogSink::Open(std::move(o));
  if (!sink.ok()) return sink.status();
  std::vector<std::string> kinds;
  if (options.json_log_opened) kinds.emplace_back("opened");
  if (options.json_log_classified) kinds.emplace_back("classified");
  if (options.json_log_closed) kinds.emplace_back("closed");
  spdlog::info("connection log {} ({})", options.json_log, absl::StrJoin(kinds, ", "));
  return sink;
}

// Once the pipeline stopped: the connections still open are written closed
// (CLOSE_REASON_SHUTDOWN), and the log's thread ends.
void CloseJsonLog(const Pipeline& pipeline, JsonLogSink* log) {
  if (log == nullptr) return;
  std::vector<const Connection*> rows;
  pipeline.ForEachConnection([&rows](const Connection& c) { rows.push_back(&c); });
  SortOldestFirst(&rows);
  log->OnFinalTable(FinalTable{rows, pipeline.clock_us(), pipeline.source().name()});
  if (absl::Status s = log->Flush(); !s.ok()) spdlog::error("{}", std::string(s.message()));
  const JsonLogSink::Stats st = log->stats();
  spdlog::info("connection log {}: {} lines written, {} events dropped", log->path(), st.written,
               st.dropped);
}

// --- IPFIX / NetFlow v9 export (--ipfix) -------------------------------------------

// Opened before the pipeline (it is one of its sinks). Null without --ipfix.
absl::StatusOr<std::unique_ptr<IpfixSink>> OpenIpfix(const DaemonOptions& options) {
  if (options.ipfix.empty()) return std::unique_ptr<IpfixSink>();
  IpfixSinkOptions o;
  o.collectors = options.ipfix;
  o.format = options.netflow_v9 ? ipfix::Format::kNetflowV9 : ipfix::Format::kIpfix;
  o.biflow = options.ipfix_biflow;
  o.observation_domain = options.ipfix_domain;
  o.active_timeout_us = options.ipfix_active_timeout_us;
  o.template_refresh = absl::Microseconds(options.ipfix_template_refresh_us);
  o.max_tracked = options.max_connections;
  o.final_table_repeats_closed = options.dump_expired;
  if (!options.interface.empty() && options.interface != "any") {
    o.ingress_interface = if_nametoindex(options.interface.c_str());
  }
  auto sink = IpfixSink::Open(std::move(o));
  if (!sink.ok()) return sink.status();
  spdlog::info("exporting flows ({}) to {}", options.netflow_v9 ? "NetFlow v9" : "IPFIX",
               absl::StrJoin(options.ipfix, ", "));
  return sink;
}

void FillIpfixStats(const IpfixSink& sink, bool v9, rustnet::v1::IpfixStats* out) {
  const IpfixSink::Stats st = sink.stats();
  out->set_format(v9 ? "netflow-v9" : "ipfix");
  out->set_records(st.records);
  out->set_queue_dropped(st.queue_dropped);
  out->set_snapshots_skipped(st.snapshots_skipped);
  for (const ipfix::CollectorStats& c : st.collectors) {
    rustnet::v1::IpfixCollectorStats* o = out->add_collectors();
    o->set_url(c.url);
    o->set_records(c.records);
    o->set_messages(c.packets);
    o->set_bytes(c.bytes);
    o->set_dropped(c.dropped);
    o->set_reconnects(c.reconnects);
    o->set_connected(c.connected);
  }
}

// Once the pipeline stopped: the flows still open are exported (forced
// end) and the collectors closed; the totals are logged.
void CloseIpfix(const Pipeline& pipeline, IpfixSink* sink) {
  if (sink == nullptr) return;
  std::vector<const Connection*> rows;
  pipeline.ForEachConnection([&rows](const Connection& c) { rows.push_back(&c); });
  SortOldestFirst(&rows);
  sink->OnFinalTable(FinalTable{rows, pipeline.clock_us(), pipeline.source().name()});
  const IpfixSink::Stats st = sink->stats();
  for (const ipfix::CollectorStats& c : st.collectors) {
    spdlog::info("flow export to {}: {} records in {} messages ({} bytes), {} dropped, "
                 "{} reconnects",
                 c.url, c.records, c.packets, c.bytes, c.dropped, c.reconnects);
  }
  if (st.queue_dropped > 0) {
    spdlog::warn("flow export: {} closed connections dropped (the exporter fell behind)",
                 st.queue_dropped);
  }
}

// --- The pcap export (--pcap-export) ------------------------------------------------

// The queues the pipeline fills and the writer that empties them.
struct PcapExport {
  std::unique_ptr<PacketExport> queues;
  std::unique_ptr<PcapExporter> writer;
};

// Opened before the pipeline exists (it is one of its options). Empty
// without --pcap-export.
absl::StatusOr<PcapExport> OpenPcapExport(const DaemonOptions& options, const Capture& capture,
                                          size_t workers) {
  PcapExport out;
  if (options.pcap_export.empty()) return out;
  PacketExport::Options q;
  q.workers = workers == 0 ? 1 : workers;
  q.lossless = !capture.source->live();  // Replayed files lose nothing.
  out.queues = std::make_unique<PacketExport>(q);
  PcapExportOptions o;
  o.path = options.pcap_export;
  o.max_file_bytes = options.pcap_export_bytes;
  o.max_files = options.pcap_export_count;
  o.link_type = pcapng::LinkTypeNumber(capture.source->link_type());
  o.snaplen = capture.source->snaplen();
  if (capture.source->live()) o.interface = capture.source->name();  // (Not a file's path.)
  o.application = absl::StrCat("rustnetd ", RUSTNET_VERSION);
  // Replayed: every worker gets every batch, so a late note is only late.
  if (!capture.source->live()) o.annotation_wait = absl::Seconds(30);
  auto writer = PcapExporter::Open(std::move(o), out.queues.get());
  if (!writer.ok()) return writer.status();
  out.writer = std::move(*writer);
  spdlog::info("pcap export {} (rotated past {} bytes, {} files kept)", options.pcap_export,
               options.pcap_export_bytes, options.pcap_export_count);
  return out;
}

// Once the pipeline stopped: writes what is queued and closes the file.
void ClosePcapExport(PcapExporter* writer) {
  if (writer == nullptr) return;
  writer->Finish();
  const PcapExportStats st = writer->stats();
  spdlog::info(
      "pcap export {}: {} packets written ({} bytes, {} rotations), {} dropped, {} without their "
      "comment, {} lost to write errors",
      writer->path(), st.written, st.bytes, st.rotations, st.dropped, st.unannotated,
      st.write_errors);
}

// GetStats's pcap_export.
void ServePcapExport(const PcapExporter* writer, MonitorServiceOptions* service_options) {
  if (writer == nullptr) return;
  auto previous = std::move(service_options->export_stats);
  service_options->export_stats = [writer, previous](rustnet::v1::Stats* out) {
    if (previous) previous(out);
    const PcapExportStats st = writer->stats();
    rustnet::v1::PcapExportStats* p = out->mutable_pcap_export();
    p->set_path(writer->path());
    p->set_written(st.written);
    p->set_dropped(st.dropped);
    p->set_unannotated(st.unannotated);
    p->set_bytes(st.bytes);
    p->set_rotations(st.rotations);
    p->set_write_errors(st.write_errors);
    p->set_healthy(st.healthy);
    p->set_last_error(st.last_error);
  };
}

// --- The history store (--history-db) ---------------------------------------------

// Opened before the pipeline (it is one of its sinks), with --read and
// --dump too. Null without --history-db. Fails only for mistakes retrying
// cannot fix (daemon/history_store/history_store.h); a store that cannot
// write yet starts degraded, and capture and the API go on.
absl::StatusOr<std::unique_ptr<HistoryStore>> OpenHistoryStore(const DaemonOptions& options) {
  if (options.history_db.empty()) return std::unique_ptr<HistoryStore>();
  HistoryStoreOptions o;
  o.path = options.history_db;
  o.max_age_us = options.history_retention_us;
  o.max_bytes = options.history_max_bytes;
  o.wait_for_room = !options.read_file.empty();  // A file can wait for the disk.
  auto store = HistoryStore::Open(std::move(o));
  if (!store.ok()) {
    spdlog::info("{}", std::string(store.status().message()));  // (stderr: Fail's sentence.)
    return store.status();
  }
  spdlog::info("history store {} (rows kept {}, at most {} bytes)", options.history_db,
               options.history_retention_us == 0
                   ? std::string("forever")
                   : absl::StrCat("for ", options.history_retention_us / 1'000'000, " s"),
               options.history_max_bytes);
  return store;
}

// Once the pipeline stopped: the connections still open are stored closed
// (CLOSE_REASON_SHUTDOWN), and what is queued is written.
void CloseHistoryStore(const Pipeline& pipeline, HistoryStore* store) {
  if (store == nullptr) return;
  // Not the connections --dump-expired keeps: the store had them closed.
  std::vector<const Connection*> rows;
  pipeline.ForEachTrackedConnection([&rows](const Connection& c) { rows.push_back(&c); });
  SortOldestFirst(&rows);
  store->OnFinalTable(FinalTable{rows, pipeline.clock_us(), pipeline.source().name()});
  // A failed Flush is the store's last_error, logged once already when it
  // happened: here only in the summary.
  const absl::Status flushed = store->Flush();
  const HistoryStoreStats st = store->stats();
  spdlog::info("history store {}: {} rows written, {} dropped, {} expired{}", store->path(),
               st.rows_written, st.rows_dropped, st.rows_expired,
               flushed.ok() ? "" : absl::StrCat(" (not healthy: ", flushed.message(), ")"));
}

// QueryHistory and GetStats's history_store, for the API.
void ServeHistoryStore(const HistoryStore* store, MonitorServiceOptions* service_options) {
  if (store == nullptr) return;
  service_options->query_history = [store](const rustnet::v1::QueryHistoryRequest& r)
      -> absl::StatusOr<rustnet::v1::QueryHistoryResponse> {
    HistoryQuery q;
    q.filter = r.filter();
    if (r.has_since()) q.since_us = TimestampToUs(r.since());
    if (r.has_until()) q.until_us = TimestampToUs(r.until());
    q.sort = r.sort();
    q.descending = r.order() == rustnet::v1::SORT_ORDER_DESCENDING;
    q.offset = r.offset();
    q.limit = r.limit();
    auto page = store->Query(q);
    if (!page.ok()) return page.status();
    rustnet::v1::QueryHistoryResponse out;
    out.set_total(page->total);
    for (history::StoredRow& row : page->rows) {
      *out.add_connections() = std::move(row.connection);
    }
    return out;
  };
  auto previous = std::move(service_options->export_stats);
  service_options->export_stats = [store, previous](rustnet::v1::Stats* out) {
    if (previous) previous(out);
    const HistoryStoreStats st = store->stats();
    rustnet::v1::HistoryStoreStats* h = out->mutable_history_store();
    h->set_path(store->path());
    h->set_healthy(st.healthy);
    h->set_last_error(st.last_error);
    h->set_rows_written(st.rows_written);
    h->set_rows_dropped(st.rows_dropped);
    h->set_rows_expired(st.rows_expired);
    h->set_batches(st.batches);
    h->set_reopens(st.reopens);
    h->set_queued(st.queued);
    h->set_db_bytes(st.db_bytes);
  };
}

// --- Prometheus metrics ------------------------------------------------------------

// The metrics endpoint's parts: the collector is one of the pipeline's
// sinks (made before it), the server starts once the API's statistics can
// be read. GetStats (gRPC threads) and scrapes (the server's thread) read
// the server's counters through ServerStats, under `mu`, so StopMetrics
// cannot free the server under them: it clears `server` under the lock,
// then stops it without the lock (stopping waits for a scrape in progress,
// which takes the lock).
struct Metrics {
  std::unique_ptr<MetricsCollector> collector;
  std::unique_ptr<MetricsServer> owned;
  absl::Mutex mu;
  const MetricsServer* server ABSL_GUARDED_BY(mu) = nullptr;

  // False while the server is not running.
  bool ServerStats(MetricsServer::Stats* stats, std::string* listen, uint16_t* port) {
    absl::MutexLock lock(&mu);
    if (server == nullptr) return false;
    *stats = server->stats();
    if (listen != nullptr) *listen = server->listen();
    if (port != nullptr) *port = server->port();
    return true;
  }
};

// Null when --metrics-listen is not given.
std::unique_ptr<Metrics> MakeMetrics(const DaemonOptions& options) {
  if (options.metrics_listen.empty()) return nullptr;
  auto m = std::make_unique<Metrics>();
  MetricsCollectorOptions o;
  o.version = RUSTNET_VERSION;
  o.top_processes = options.metrics_top_processes;
  Metrics* raw = m.get();
  o.extra = [raw](ExpositionWriter* w) {
    MetricsServer::Stats st;
    if (!raw->ServerStats(&st, nullptr, nullptr)) return;
    w->Single("rustnet_metrics_scrapes_total", "Scrapes of /metrics answered.",
              MetricType::kCounter, st.scrapes);
    w->Single("rustnet_metrics_http_errors_total",
              "HTTP requests refused by the metrics endpoint (unknown path or method).",
              MetricType::kCounter, st.errors);
    w->Single("rustnet_metrics_http_connections_total",
              "HTTP connections the metrics endpoint accepted.", MetricType::kCounter,
              st.connections);
  };
  m->collector = std::make_unique<MetricsCollector>(std::move(o));
  return m;
}

// Adds the endpoint's counters to GetStats.
void ServeMetricsStats(Metrics* metrics, MonitorServiceOptions* service_options) {
  if (metrics == nullptr) return;
  auto previous = std::move(service_options->export_stats);
  service_options->export_stats = [metrics, previous](rustnet::v1::Stats* out) {
    if (previous) previous(out);
    MetricsServer::Stats st;
    std::string listen;
    uint16_t port = 0;
    if (!metrics->ServerStats(&st, &listen, &port)) return;
    rustnet::v1::MetricsServerStats* m = out->mutable_metrics();
    m->set_listen(listen);
    m->set_port(port);
    m->set_scrapes(st.scrapes);
    m->set_errors(st.errors);
    m->set_connections(st.connections);
    m->set_open_connections(st.open);
  };
}

absl::Status StartMetrics(const DaemonOptions& options, const Pipeline& pipeline,
                          MonitorService* service, Metrics* metrics) {
  if (metrics == nullptr) return absl::OkStatus();
  metrics->collector->Attach(&pipeline.snapshots(), [service](rustnet::v1::Stats* out) {
    service->GetStats(nullptr, nullptr, out);
  });
  MetricsServerOptions o;
  o.listen = options.metrics_listen;
  if (!options.metrics_web_config.empty()) {
    auto web = LoadWebConfig(options.metrics_web_config);
    if (!web.ok()) return web.status();
    o.web = std::move(*web);
  }
  const bool tls = !o.web.cert_pem.empty();
  const size_t users = o.web.users.size();
  MetricsCollector* collector = metrics->collector.get();
  o.render = [collector](ExpositionFormat f) { return collector->Render(f); };
  auto server = MetricsServer::Start(std::move(o));
  if (!server.ok()) return server.status();
  metrics->owned = std::move(*server);
  {
    absl::MutexLock lock(&metrics->mu);
    metrics->server = metrics->owned.get();
  }
  spdlog::info("metrics on {}://{}/metrics (port {}{})", tls ? "https" : "http",
               options.metrics_listen, metrics->owned->port(),
               users == 0 ? "" : absl::StrCat(", basic authentication for ", users, " users"));
  return absl::OkStatus();
}

// Before the pipeline and the API go: no scrape runs after.
void StopMetrics(Metrics* metrics) {
  if (metrics == nullptr) return;
  {
    absl::MutexLock lock(&metrics->mu);
    metrics->server = nullptr;
  }
  metrics->owned.reset();
}

// --- One-shot dump -----------------------------------------------------------------

// Whether the replayed file was usable: an error (one sentence) when not
// one record could be read; a warning in the log when it was damaged
// part-way (the packets before the damage count).
absl::Status CheckReplayedFile(const std::string& file, const Pipeline& pipeline) {
  const std::string err = pipeline.source_error();
  if (!err.empty() && pipeline.Stats().capture.received == 0) {
    // Logged at info: stderr gets exactly the one sentence of the error.
    spdlog::info("cannot read capture file {}: {}", file, err);
    return absl::InvalidArgumentError(absl::StrCat("cannot read capture file ", file, ": ", err,
                                                   "; check that it is a complete pcap or "
                                                   "pcapng file"));
  }
  if (!err.empty()) {
    spdlog::warn("capture file {} is damaged: {}; the packets before it were processed", file,
                 err);
  }
  return absl::OkStatus();
}

// The final table, through the JSON dump sink, to stdout.
absl::Status DumpFinalTable(const Pipeline& pipeline, size_t threads) {
  std::vector<const Connection*> rows;
  pipeline.ForEachConnection([&rows](const Connection& c) { rows.push_back(&c); });
  SortOldestFirst(&rows);
  JsonDumpSink sink(stdout, "standard output", threads);
  sink.OnFinalTable(FinalTable{rows, pipeline.clock_us(), pipeline.source().name()});
  return sink.Flush();
}

// --dump json: starts the pipeline (a small file: replays it right here,
// PipelineOptions::inline_replay), waits for the file to end or a signal
// to stop it, then prints the final table. Returns the exit code.
int RunDump(const DaemonOptions& options, Pipeline* pipeline, Signals* sig,
            JsonLogSink* json_log, HistoryStore* history_store, IpfixSink* ipfix,
            PcapExporter* pcap_export) {
  // SIGINT/SIGTERM stop the pipeline from the signal thread; its end wakes
  // this at once. Nothing polls.
  {
    absl::MutexLock lock(&sig->mu);
    sig->on_stop = [pipeline] { pipeline->Stop(); };
  }
  const absl::Cleanup forget_pipeline = [sig] {  // The signal thread outlives it.
    absl::MutexLock lock(&sig->mu);
    sig->on_stop = nullptr;
  };
  if (sig->stop.HasBeenNotified()) pipeline->Stop();  // A signal came before on_stop.
  pipeline->Start();
  pipeline->WaitCaptureDone(absl::InfiniteDuration());
  pipeline->Join();
  LogStats(*pipeline);
  CloseJsonLog(*pipeline, json_log);
  CloseHistoryStore(*pipeline, history_store);
  CloseIpfix(*pipeline, ipfix);
  ClosePcapExport(pcap_export);
  if (sig->got.load() != 0) {
    spdlog::info("interrupted by signal {}", sig->got.load());
    return 130;
  }
  if (absl::Status s = CheckReplayedFile(options.read_file, *pipeline); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  // As many threads as the replay ran: the capture thread and the workers.
  if (absl::Status s = DumpFinalTable(*pipeline, options.threads + 1); !s.ok()) {
    spdlog::info("{}", std::string(s.message()));  // (stderr: the one sentence of Fail.)
    return Fail(std::string(s.message()));
  }
  return 0;
}

// Whether this build may leave without tearing down: not under a sanitizer,
// whose leak check runs at exit and wants everything freed.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A plain dump is over once its table is written: the process exits at
// once instead of freeing its tables connection by connection (a million
// connections took ~30 ms of CPU to free for nothing). Only when nothing
// else holds a file or a thread (no connection log, history store, IPFIX,
// pcap export or metrics), and never in sanitizer builds. Flushes stdout,
// stderr and the log first.
// `others`: whether any of those is on.
void ExitAfterDump(int code, bool others) {
  if (kSanitized || others) return;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

// --- Serving -------------------------------------------------------------------

// What systemd hears while the daemon serves (Type=notify): a status line
// every second, and WATCHDOG=1 only while the pipeline moves, so a wedged
// capture thread or worker gets the daemon restarted.
class ServiceReports {
 public:
  // After notifier->Ready().
  ServiceReports(ServiceNotifier* notifier, const Pipeline* pipeline)
      : notifier_(notifier),
        pipeline_(pipeline),
        ping_every_(notifier->watchdog_interval()),
        watchdog_(StallLimitFor(ping_every_.value_or(absl::Seconds(10)))) {}

  void UpdateStatus(absl::Time now, bool ended) {
    if (!notifier_->enabled() || now - status_time_ < absl::Seconds(1)) return;
    const PipelineStats s = pipeline_->Stats();
    const double seconds = absl::ToDoubleSeconds(now - status_time_);
    const double rate = status_time_ == absl::InfinitePast()
                            ? 0
                            : static_cast<double>(s.packets - status_packets_) / seconds;
    std::string label = pipeline_->source().name();
    if (ended) {
      absl::StrAppend(&label, " (ended)");
    } else if (s.capture.state == CaptureState::kWaiting) {
      absl::StrAppend(&label, " (waiting: ", s.capture.waiting_for, ")");
    }
    notifier_->Status(ServiceStatusLine(
        label, rate, s.connections,
        s.capture.dropped_kernel + s.capture.dropped_interface + s.queue_dropped));
    status_time_ = now;
    status_packets_ = s.packets;
  }

  void PingWatchdog(absl::Time now) {
    if (!ping_every_ || now < next_ping_) return;
    next_ping_ = now + *ping_every_;
    const std::string why = watchdog_.Check(Progress(*pipeline_), now);
    if (why.empty()) {
      notifier_->Watchdog();
      if (stalled_) spdlog::info("watchdog: the pipeline moves again");
    } else if (!stalled_) {
      spdlog::error("watchdog: {}; not telling systemd we are alive", why);
    }
    stalled_ = !why.empty();
  }

 private:
  ServiceNotifier* notifier_;
  const Pipeline* pipeline_;
  const std::optional<absl::Duration> ping_every_;
  ProgressWatchdog watchdog_;
  bool stalled_ = false;
  absl::Time next_ping_ = absl::Now();
  absl::Time status_time_ = absl::InfinitePast();
  uint64_t status_packets_ = 0;
};

// The capture ended (a file's end, or a failure). Returns false when the
// daemon should stop: a live capture failed (live sources do not fail,
// they wait for their interface, so this is for good).
bool AnnounceEnd(const Pipeline& pipeline, bool live) {
  const std::string err = pipeline.source_error();
  if (!err.empty()) {
    spdlog::error("capture on {} failed: {}", pipeline.source().name(), err);
    if (live) return false;
  }
  LogStats(pipeline);
  spdlog::info("end of {}; keeping the final table until stopped", pipeline.source().name());
  return true;
}

// Serves until SIGINT or SIGTERM (or a live capture that fails for good):
// SIGHUP reloads, statistics every --stats-interval, systemd kept informed.
void Serve(const std::vector<std::string>& command_line, DaemonOptions* options,
           Pipeline* pipeline, bool live, Signals* sig, ReopenableFileSink* log_file,
           JsonLogSink* json_log, GeoIp* geoip, ApiServer* api, ServiceNotifier* notifier) {
  notifier->Ready();
  ServiceReports reports(notifier, pipeline);
  bool announced_end = false;
  absl::Duration stats_every = absl::Seconds(options->stats_interval_s);
  absl::Time next_stats = absl::Now() + stats_every;
  while (!sig->stop.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
    if (sig->reload.exchange(false)) {
      Reload(command_line, options, log_file, json_log, geoip, notifier);
      stats_every = absl::Seconds(options->stats_interval_s);
      next_stats = absl::Now() + stats_every;
    }
    if (pipeline->capture_done() && !announced_end) {
      announced_end = true;
      if (!AnnounceEnd(*pipeline, live)) break;
    }
    if (absl::Now() >= next_stats) {
      next_stats += stats_every;
      if (!announced_end) LogStats(*pipeline);
    }
    const absl::Time now = absl::Now();
    reports.UpdateStatus(now, announced_end);
    reports.PingWatchdog(now);
    if (api != nullptr) api->service()->TrimIfPending();
  }
}

// The API first (no new requests), then the pipeline; logging last.
void ShutDown(int signal, std::unique_ptr<ApiServer> api, Pipeline* pipeline,
              JsonLogSink* json_log, HistoryStore* history_store, IpfixSink* ipfix,
              PcapExporter* pcap_export, ServiceNotifier* notifier) {
  notifier->Stopping();
  spdlog::info("shutting down (signal {})", signal);
  if (api) api->Shutdown(absl::Seconds(2));
  pipeline->Stop();
  pipeline->Join();
  LogStats(*pipeline);
  CloseJsonLog(*pipeline, json_log);
  CloseHistoryStore(*pipeline, history_store);
  CloseIpfix(*pipeline, ipfix);
  ClosePcapExport(pcap_export);
  api.reset();
  spdlog::info("rustnetd stopped");
  StopLibraryLogging();
  spdlog::shutdown();
}

int Run(DaemonOptions options, const std::vector<std::string>& command_line) {
  const sigset_t signals = BlockSignals();
  ServiceNotifier notifier;
  auto logging = SetUpLogging(options);
  if (!logging.ok()) return Fail(std::string(logging.status().message()));
  LogStart(*logging, command_line);
  auto passed_socket = TakeApiSocket(options);
  if (!passed_socket.ok()) return Fail(std::string(passed_socket.status().message()));
  auto capture = OpenCapture(options);
  if (!capture.ok()) return Fail(std::string(capture.status().message()));

  EventHub events;
  PipelineOptions p = PipelineOptionsFor(options, *capture, &events);
  // The API's recent history of closed connections and the totals of all of
  // them (not for one-shot dumps, which have no API). With --history-size 0
  // only the totals (GroupConnections).
  std::unique_ptr<ClosedHistory> history;
  if (options.dump.empty()) {
    history = std::make_unique<ClosedHistory>(options.history_size);
    p.sinks.push_back(history.get());
  }
  auto json_log = OpenJsonLog(options, *capture, &events);
  if (!json_log.ok()) return Fail(std::string(json_log.status().message()));
  if (*json_log && options.json_log_closed) p.sinks.push_back(json_log->get());
  auto history_store = OpenHistoryStore(options);
  if (!history_store.ok()) return Fail(std::string(history_store.status().message()));
  if (*history_store) p.sinks.push_back(history_store->get());
  auto ipfix_sink = OpenIpfix(options);
  if (!ipfix_sink.ok()) return Fail(std::string(ipfix_sink.status().message()));
  if (*ipfix_sink) p.sinks.push_back(ipfix_sink->get());
  const std::unique_ptr<Metrics> metrics = MakeMetrics(options);
  if (metrics) p.sinks.push_back(metrics->collector.get());
  auto pcap_export = OpenPcapExport(options, *capture, p.workers);
  if (!pcap_export.ok()) return Fail(std::string(pcap_export.status().message()));
  p.packet_export = pcap_export->queues.get();
  const bool live = capture->source->live();
  std::vector<std::unique_ptr<PacketSource>> sources;
  sources.push_back(std::move(capture->source));
  for (auto& more : capture->more) sources.push_back(std::move(more));
  Pipeline pipeline(p, std::move(sources));
  if (p.inline_replay) {
    spdlog::info("{} workers on the main thread (a small file: no threads), up to {} connections",
                 p.workers, p.max_connections);
  } else {
    spdlog::info("{} worker threads, up to {} connections", p.workers, p.max_connections);
  }

  MonitorServiceOptions service_options = ServiceOptionsFor(options, p);
  service_options.history = history.get();
  {
    JsonLogSink* log = json_log->get();
    IpfixSink* flows = ipfix_sink->get();
    const bool v9 = options.netflow_v9;
    if (log != nullptr || flows != nullptr) {
      service_options.export_stats = [log, flows, v9](rustnet::v1::Stats* out) {
        if (log != nullptr) {
          const JsonLogSink::Stats st = log->stats();
          out->mutable_json_log()->set_path(log->path());
          out->mutable_json_log()->set_written(st.written);
          out->mutable_json_log()->set_dropped(st.dropped);
        }
        if (flows != nullptr) FillIpfixStats(*flows, v9, out->mutable_ipfix());
      };
    }
  }
  ServeHistoryStore(history_store->get(), &service_options);
  // GeoIP and MAC vendors, for the API only (a dump has no API).
  EnrichmentState enrichment;
  if (options.dump.empty()) {
    auto started = StartEnrichment(options);
    if (!started.ok()) return Fail(std::string(started.status().message()));
    enrichment = std::move(*started);
  }
  service_options.enrich = Enrichment{enrichment.geoip.get(), enrichment.mac_vendors.get(),
                                      enrichment.reverse_dns.get(), options.show_ptr_lookups};
  ServeMetricsStats(metrics.get(), &service_options);
  ServePcapExport(pcap_export->writer.get(), &service_options);
  MonitorService service(std::move(service_options), &pipeline, &events);
  if (absl::Status s = StartMetrics(options, pipeline, &service, metrics.get()); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  // On every way out, before the service it reads goes (normally earlier).
  const absl::Cleanup stop_metrics = [&metrics] { StopMetrics(metrics.get()); };
  std::unique_ptr<ApiServer> api;
  if (options.dump.empty()) {
    auto started = StartApi(options, *passed_socket, &service);
    if (!started.ok()) return Fail(std::string(started.status().message()));
    api = std::move(*started);
  }
  if (absl::Status s = DropStartupPrivileges(live); !s.ok()) {
    return Fail(std::string(s.message()));
  }

  const std::shared_ptr<Signals> sig = StartSignalThread(signals);
  if (!options.dump.empty()) {
    EnableStderrLogging(spdlog::level::warn);
    const int code = RunDump(options, &pipeline, sig.get(), json_log->get(),
                             history_store->get(), ipfix_sink->get(), pcap_export->writer.get());
    ExitAfterDump(code, *json_log != nullptr || *history_store != nullptr ||
                            *ipfix_sink != nullptr || pcap_export->writer != nullptr ||
                            metrics != nullptr);
    return code;
  }
  pipeline.Start();
  EnableStderrLogging(spdlog::level::warn);

  Serve(command_line, &options, &pipeline, live, sig.get(), logging->file.get(), json_log->get(),
        enrichment.geoip.get(), api.get(), &notifier);
  StopMetrics(metrics.get());
  ShutDown(sig->got.load(), std::move(api), &pipeline, json_log->get(), history_store->get(),
           ipfix_sink->get(), pcap_export->writer.get(), &notifier);
  return 0;
}

}  // namespace
}  // namespace rustnet

int main(int argc, char** argv) {
  // At most 4 malloc arenas (glibc's default is 8 per core). gRPC serves
  // each call on a thread of its pool, and each thread that allocates gets
  // an arena of its own: after a burst of clients the freed reply buffers
  // sit fragmented across dozens of arenas that malloc_trim cannot give
  // back (api_abuse_test: 45 MB at rest became 90 MB after 200 vanishing
  // clients; with 4 arenas it returns to baseline). The packet path barely
  // allocates, so fewer arenas cost it nothing measurable. Before any thread.
  mallopt(M_ARENA_MAX, 4);
#ifdef NDEBUG
  // Debian builds Abseil without NDEBUG, so its Mutex runs the deadlock
  // detector on every lock and unlock (a global graph behind a spinlock:
  // GraphCycles showed in the workers' profiles). Release builds of ours
  // switch it off; debug and sanitizer builds keep it, and TSan checks lock
  // order there too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  const std::vector<std::string> args(argv + 1, argv + argc);
  // /etc/rustnet/rustnetd.conf (or --config PATH), then the command line.
  auto options = rustnet::LoadDaemonOptions(args);
  if (!options.ok()) {
    std::fprintf(stderr, "rustnetd: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(rustnet::DaemonUsage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    std::printf("rustnetd %s\n", RUSTNET_VERSION);
    return 0;
  }
  if (options->list_interfaces) return rustnet::ListInterfaces();
  return rustnet::Run(*options, args);
}
