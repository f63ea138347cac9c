// rustnetd: capture, decode, track; serve the table (API: see proto/).
//
// Threads: main (start-up, periodic statistics, service notifications,
// SIGHUP reloads, shutdown), a signal thread (sigwait), the capture thread
// and the workers (daemon/pipeline/).
//
// Privileges are needed only to start: once the capture is open and the API
// listens, every thread drops the capabilities the running daemon does not
// need (daemon/service/capabilities.h).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "daemon/capture/interfaces.h"
#include "daemon/capture/pcap_source.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/rpc/monitor_service.h"
#include "daemon/rpc/server.h"
#include "daemon/service/capabilities.h"
#include "daemon/service/listen_fds.h"
#include "daemon/service/log_file.h"
#include "daemon/service/notify.h"
#include "daemon/service/watchdog.h"
#include "daemon/snapshot/event_hub.h"
#include "daemon/snapshot/convert.h"
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

// Prints the final table as JSON Lines, oldest connection first.
// Formatting is most of the work, so `threads` threads format it at once
// (the pipeline's capture and worker threads are idle by now: this uses
// no more cores than the replay did), a block of rows each per round, and
// the rounds are written in order. Output memory stays at one block per
// thread however big the table.
void DumpJson(const Pipeline& pipeline, size_t threads) {
  std::vector<const Connection*> all;
  pipeline.ForEachConnection([&all](const Connection& c) { all.push_back(&c); });
  std::sort(all.begin(), all.end(), [](const Connection* a, const Connection* b) {
    return a->first_seen_us != b->first_seen_us ? a->first_seen_us < b->first_seen_us
                                                : a->id < b->id;
  });
  const int64_t now = pipeline.clock_us();
  const std::string_view source = pipeline.source().name();
  constexpr size_t kBlockRows = 2048;  // About 2 MB of JSON.
  // At least one (std::clamp's bounds would cross for an empty table).
  threads = std::max<size_t>(1, std::min(threads, (all.size() + kBlockRows - 1) / kBlockRows));
  std::vector<std::string> blocks(threads);
  for (size_t round = 0; round < all.size(); round += threads * kBlockRows) {
    auto format = [&](size_t t) {
      std::string& out = blocks[t];
      out.clear();
      const size_t begin = std::min(all.size(), round + t * kBlockRows);
      const size_t end = std::min(all.size(), begin + kBlockRows);
      for (size_t i = begin; i < end; ++i) {
        AppendJsonLine(*all[i], now, source, &out);
        out += '\n';
      }
    };
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(format, t);
    format(0);
    for (std::thread& h : helpers) h.join();
    for (const std::string& out : blocks) std::fwrite(out.data(), 1, out.size(), stdout);
  }
  std::fflush(stdout);
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
            ReopenableFileSink* log_file, ServiceNotifier* notifier) {
  notifier->Reloading();
  std::string reopened;
  if (log_file != nullptr) {
    if (absl::Status s = log_file->Reopen(); !s.ok()) {
      spdlog::error("SIGHUP: {}; still writing the old file", std::string(s.message()));
    } else {
      reopened = absl::StrCat("; reopened ", log_file->path());
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

// Shared with the signal thread, which outlives Run.
struct Signals {
  std::atomic<int> got{0};
  std::atomic<bool> reload{false};
  absl::Notification stop;
};

int Run(DaemonOptions options, const std::vector<std::string>& command_line) {
  // Signals are handled by one thread with sigwait; block them everywhere
  // else before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ServiceNotifier notifier;

  LoggingOptions log_options;
  log_options.level = options.log_level;
  log_options.dir = options.log_dir;
  log_options.prefix = "rustnet";
  log_options.to_stderr = false;  // Start-up errors are printed by Fail().
  // Under systemd (stderr connected to the journal) log to the journal with
  // proper priorities; a log file only when --log-dir asks for one.
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string log_path = "the journal";
  std::shared_ptr<ReopenableFileSink> log_file;  // Reopened on SIGHUP.
  if (journal && !options.log_dir_set) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "rustnetd", std::make_shared<spdlog::sinks::systemd_sink_mt>("rustnetd")));
    spdlog::set_level(options.log_level);
  } else {
    auto path = SetupLogging(log_options);
    if (!path.ok()) return Fail(std::string(path.status().message()));
    log_path = *path;
    auto reopenable = MakeLogFileReopenable(log_path);
    if (!reopenable.ok()) return Fail(std::string(reopenable.status().message()));
    log_file = *reopenable;
    if (journal) {
      spdlog::default_logger()->sinks().push_back(
          std::make_shared<spdlog::sinks::systemd_sink_mt>("rustnetd"));
    }
  }
  spdlog::info("rustnetd {} starting (pid {}), logging to {}", RUSTNET_VERSION, getpid(),
               log_path);
  if (const ConfigChoice config = ChooseConfigFile(command_line);
      config.explicit_path || access(config.path.c_str(), F_OK) == 0) {
    spdlog::info("configuration file {}", config.path);
  }

  // Socket activation: rustnetd.socket (or systemd-socket-activate) may have
  // passed the API's listening socket. Taken before any thread starts.
  std::optional<PassedSocket> passed_socket;
  if (options.dump.empty()) {
    auto passed = TakePassedSocket();
    if (!passed.ok()) {
      spdlog::error("{}", std::string(passed.status().message()));
      return Fail(std::string(passed.status().message()));
    }
    passed_socket = *passed;
  }

  std::unique_ptr<PcapSource> source;
  std::shared_ptr<const LocalAddresses> local;
  if (!options.read_file.empty()) {
    auto opened = PcapSource::OpenFile(options.read_file, options.bpf);
    if (!opened.ok()) {
      spdlog::error("{}", std::string(opened.status().message()));
      return Fail(std::string(opened.status().message()));
    }
    source = std::move(*opened);
    spdlog::info("reading {}", options.read_file);
  } else {
    LiveCaptureOptions live;
    live.interface = options.interface;
    if (live.interface.empty()) {
      auto def = DefaultInterface();
      if (!def.ok()) return Fail(std::string(def.status().message()));
      live.interface = *def;
    }
    live.bpf = options.bpf;
    auto opened = PcapSource::OpenLive(live);
    if (!opened.ok()) {
      spdlog::error("{}", std::string(opened.status().message()));
      return Fail(std::string(opened.status().message()));
    }
    source = std::move(*opened);
    local = MachineAddresses();
    spdlog::info("capturing on {} ({} local addresses)", live.interface, local->size());
  }
  if (!options.bpf.empty()) spdlog::info("BPF filter: {}", options.bpf);
  if (options.no_dpi) spdlog::info("deep packet inspection disabled (--no-dpi)");

  PipelineOptions p;
  p.workers = options.threads;
  p.max_connections = options.max_connections;
  p.no_localhost = options.no_localhost;
  p.local_addresses = local;
  p.publish_snapshots = options.dump.empty();
  p.dpi = !options.no_dpi;
  p.keep_removed = options.dump_expired;
  // Sockets of this host only exist for live capture.
  p.attribution = source->live() && !options.no_process;
  p.attribution_procfs = std::getenv("RUSTNET_SOCKET_TABLE") != nullptr &&
                         std::string_view(std::getenv("RUSTNET_SOCKET_TABLE")) == "procfs";
  if (options.no_process) spdlog::info("process attribution disabled (--no-process)");
  p.snapshot_interval_us = options.snapshot_interval_ms * 1000;
  EventHub events;
  p.events = &events;
  const bool live = source->live();
  Pipeline pipeline(p, std::move(source));
  spdlog::info("{} worker threads, up to {} connections", p.workers, p.max_connections);

  // The API (not for one-shot dumps). Started before the packets flow, so
  // a second daemon on the same socket fails before it captures anything.
  MonitorServiceOptions service_options;
  service_options.version = RUSTNET_VERSION;
  service_options.max_streams = options.max_streams;
  service_options.max_connections = p.max_connections;
  service_options.workers = p.workers;
  MonitorService service(service_options, &pipeline, &events);
  std::unique_ptr<ApiServer> api;
  if (options.dump.empty()) {
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
    if (passed_socket) {
      a.listen_fd = passed_socket->fd;
      if (!passed_socket->path.empty()) a.socket_path = passed_socket->path;
    }
    auto started = ApiServer::Start(a, &service);
    if (!started.ok()) {
      spdlog::error("{}", std::string(started.status().message()));
      return Fail(std::string(started.status().message()));
    }
    api = std::move(*started);
    spdlog::info("API listening on unix:{}{}{}", api->socket_path(),
                 passed_socket ? " (socket passed by the service manager)" : "",
                 api->tcp_address().empty()
                     ? ""
                     : absl::StrCat(" and ", api->tcp_address(),
                                    options.listen.empty() ? " (plaintext)" : " (TLS)"));
  }

  // Everything privileged is done: the capture is open, the API listens.
  if (absl::Status s = DropCapabilities(RuntimeCapabilities(live)); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return Fail(absl::StrCat(s.message(),
                             "; rustnetd does not run with more privileges than it needs"));
  }
  if (auto caps = CurrentCapabilities(); caps.ok()) {
    spdlog::info("capabilities: {}", caps->effective.ToString());
  }

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
      return;
    }
  }).detach();
  std::atomic<int>& got_signal = sig->got;
  absl::Notification& stop = sig->stop;

  pipeline.Start();
  EnableStderrLogging(spdlog::level::warn);

  if (!options.dump.empty()) {
    // One-shot: wait for the file to end (or a signal), then print.
    while (!pipeline.capture_done()) {
      if (stop.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
        pipeline.Stop();
        break;
      }
    }
    pipeline.Join();
    LogStats(pipeline);
    if (got_signal.load() != 0) {
      spdlog::info("interrupted by signal {}", got_signal.load());
      return 130;
    }
    const std::string err = pipeline.source_error();
    if (!err.empty() && pipeline.Stats().capture.received == 0) {
      // Not one record could be read: the file is not usable at all.
      // (Logged at info: stderr gets exactly the one sentence below.)
      spdlog::info("cannot read capture file {}: {}", options.read_file, err);
      return Fail(absl::StrCat("cannot read capture file ", options.read_file, ": ", err,
                               "; check that it is a complete pcap or pcapng file"));
    }
    if (!err.empty()) {
      spdlog::warn("capture file {} is damaged: {}; the packets before it were processed",
                   options.read_file, err);
    }
    // As many threads as the replay ran: the capture thread and the workers.
    DumpJson(pipeline, options.threads + 1);
    return 0;
  }

  // Serving: tell systemd (Type=notify), then keep it informed.
  notifier.Ready();
  const std::optional<absl::Duration> ping_every = notifier.watchdog_interval();
  ProgressWatchdog watchdog(StallLimitFor(ping_every.value_or(absl::Seconds(10))));
  bool stalled = false;
  absl::Time next_ping = absl::Now();
  absl::Time status_time = absl::InfinitePast();
  uint64_t status_packets = 0;

  bool announced_end = false;
  absl::Duration stats_every = absl::Seconds(options.stats_interval_s);
  absl::Time next_stats = absl::Now() + stats_every;
  while (!stop.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
    if (sig->reload.exchange(false)) {
      Reload(command_line, &options, log_file.get(), &notifier);
      stats_every = absl::Seconds(options.stats_interval_s);
      next_stats = absl::Now() + stats_every;
    }
    if (pipeline.capture_done() && !announced_end) {
      announced_end = true;
      const std::string err = pipeline.source_error();
      if (!err.empty()) {
        // (Live sources do not fail: they wait for their interface.)
        spdlog::error("capture on {} failed: {}", pipeline.source().name(), err);
        if (live) break;
      }
      LogStats(pipeline);
      spdlog::info("end of {}; keeping the final table until stopped",
                   pipeline.source().name());
    }
    if (absl::Now() >= next_stats) {
      next_stats += stats_every;
      if (!announced_end) LogStats(pipeline);
    }
    const absl::Time now = absl::Now();
    if (notifier.enabled() && now - status_time >= absl::Seconds(1)) {
      const PipelineStats s = pipeline.Stats();
      const double seconds = absl::ToDoubleSeconds(now - status_time);
      const double rate = status_time == absl::InfinitePast()
                              ? 0
                              : static_cast<double>(s.packets - status_packets) / seconds;
      std::string label = pipeline.source().name();
      if (announced_end) {
        absl::StrAppend(&label, " (ended)");
      } else if (s.capture.state == CaptureState::kWaiting) {
        absl::StrAppend(&label, " (waiting: ", s.capture.waiting_for, ")");
      }
      notifier.Status(ServiceStatusLine(label, rate,
          s.connections, s.capture.dropped_kernel + s.capture.dropped_interface + s.queue_dropped));
      status_time = now;
      status_packets = s.packets;
    }
    if (ping_every && now >= next_ping) {
      // WATCHDOG=1 only while the pipeline moves: a wedged capture thread
      // or worker gets the daemon restarted.
      next_ping = now + *ping_every;
      const std::string why = watchdog.Check(Progress(pipeline), now);
      if (why.empty()) {
        notifier.Watchdog();
        if (stalled) spdlog::info("watchdog: the pipeline moves again");
      } else if (!stalled) {
        spdlog::error("watchdog: {}; not telling systemd we are alive", why);
      }
      stalled = !why.empty();
    }
  }
  notifier.Stopping();
  spdlog::info("shutting down (signal {})", got_signal.load());
  if (api) api->Shutdown(absl::Seconds(2));
  pipeline.Stop();
  pipeline.Join();
  LogStats(pipeline);
  api.reset();
  spdlog::info("rustnetd stopped");
  StopLibraryLogging();
  spdlog::shutdown();
  return 0;
}

}  // namespace
}  // namespace rustnet

int main(int argc, char** argv) {
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
