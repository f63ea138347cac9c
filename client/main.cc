// rustnet-tui: the unprivileged terminal client of rustnetd.
//
// Threads: the UI thread (this file's loop: keys, drawing, signals) and the
// fetcher thread (client/fetcher.h) that makes the RPCs; gRPC adds its own.
// The UI never waits for the network: keys are read with a 50 ms timeout
// and results are picked up between keys.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/fetcher.h"
#include "client/format.h"
#include "client/options.h"
#include "client/rpc_client.h"
#include "client/terminal.h"
#include "client/theme.h"
#include "client/tui_config.h"
#include "client/view_model.h"
#include "common/logging.h"
#include "grpc/support/log.h"
#include "spdlog/spdlog.h"

#ifndef RUSTNET_VERSION
#define RUSTNET_VERSION "0.0.0"
#endif

namespace rustnet::client {
namespace {

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "rustnet-tui: %s\n", message.c_str());
  return code;
}

// mkdir -p with mode 0700 for what it creates.
bool MakeDirs(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

// gRPC's own log lines go to our log file, never to the screen.
void GrpcLog(gpr_log_func_args* args) {
  const char* message = args->message != nullptr ? args->message : "";
  switch (args->severity) {
    case GPR_LOG_SEVERITY_ERROR: spdlog::warn("grpc: {}", message); break;
    case GPR_LOG_SEVERITY_INFO: spdlog::debug("grpc: {}", message); break;
    default: spdlog::trace("grpc: {}", message); break;
  }
}

bool NoColorRequested() {
  const char* v = std::getenv("NO_COLOR");
  return v != nullptr && v[0] != '\0';  // https://no-color.org
}

// Returns the exit code; `error` is what to print once stderr is the
// terminal's again.
int RunUi(const ClientOptions& options, RpcClient* rpc, std::string* error) {
  // Threads started from here on (the fetcher, gRPC's) leave the UI's
  // signals to this thread.
  BlockUiSignals();
  const absl::Duration interval = absl::Milliseconds(options.refresh_ms);
  const absl::Duration timeout = absl::Seconds(3);  // Every call's deadline.
  Fetcher fetcher(rpc, interval, timeout);

  Theme theme = Theme::Monochrome();
  if (!options.no_color && !NoColorRequested()) {
    auto chosen =
        ThemeByName(options.theme.empty() ? std::string(kDefaultThemeName) : options.theme);
    if (chosen.ok()) theme = *std::move(chosen);  // Checked when parsed.
  }
  auto terminal = Terminal::Start(theme);
  if (!terminal.ok()) {
    *error = std::string(terminal.status().message());
    return 1;
  }
  Terminal& term = **terminal;

  ViewModel::Options vm_options;
  vm_options.filter = options.filter;
  vm_options.hide_loopback = options.no_localhost;
  vm_options.target = options.target.Description();
  vm_options.unicode = term.unicode();
  vm_options.retry_interval = fetcher.retry_interval();
  vm_options.tab = options.tab;
  vm_options.columns = options.columns;
  ViewModel vm(vm_options);
  auto [width, height] = term.Size();
  vm.Resize(width, height);

  fetcher.SetApiRequest(vm.CurrentApiRequest(absl::Now()));
  fetcher.Start(vm.CurrentQuery());
  UnblockUiSignals();

  bool dirty = true;
  absl::Time last_draw = absl::InfinitePast();
  std::string last_message;
  int exit_signal = 0;
  for (;;) {
    if (const int sig = PendingQuitSignal(); sig != 0) {
      spdlog::info("signal {}: quitting", sig);
      exit_signal = sig;
      break;
    }
    const absl::Time now = absl::Now();
    if (auto [w, h] = term.Size(); w != vm.width() || h != vm.height()) {
      vm.Resize(w, h);
      dirty = true;
    }
    if (std::optional<FetchResult> result = fetcher.Take()) {
      if (result->status.ok()) {
        vm.OnPage(result->query, result->page);
      } else if (result->problem) {
        vm.OnUnreachable(*result->problem);
      } else {
        vm.OnQueryError(result->query, std::string(result->status.message()), now);
      }
      if (result->stats) vm.OnStats(*result->stats);
      if (result->api) vm.OnApiReply(*result->api);
      dirty = true;
    }
    // Messages expire and ages grow: redraw now and then even when idle.
    const std::string message = vm.Message(now);
    if (message != last_message) {
      last_message = message;
      dirty = true;
    }
    if (dirty || now - last_draw > absl::Milliseconds(500)) {
      term.Draw(vm.Render(now), vm.Cursor());
      last_draw = now;
      dirty = false;
    }
    fetcher.SetQuery(vm.CurrentQuery());
    fetcher.SetApiRequest(vm.CurrentApiRequest(absl::Now()));

    std::optional<Key> key = term.ReadKey();
    if (!key) continue;
    const ViewModel::KeyResult r = vm.HandleKey(*key, absl::Now());
    dirty = true;
    if (r.quit) break;
    if (!r.copy.empty()) {
      term.Draw(vm.Render(absl::Now()), vm.Cursor());
      term.WriteRaw(Osc52(r.copy));
      spdlog::info("copied {} to the clipboard (OSC 52)", r.copy);
    }
    if (r.suspend) term.Suspend();
    if (r.redraw) term.ForceRepaint();
    fetcher.SetQuery(vm.CurrentQuery());
    fetcher.SetApiRequest(vm.CurrentApiRequest(absl::Now()));
  }
  // Give the terminal back first, then stop the fetcher (its call in flight
  // is cancelled).
  term.Stop();
  fetcher.Stop();
  spdlog::info("rustnet-tui stopped");
  spdlog::shutdown();
  if (exit_signal != 0) {
    // Die of the signal, as the caller expects.
    signal(exit_signal, SIG_DFL);
    raise(exit_signal);
  }
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseClientOptions(args);
  if (!parsed.ok()) return Fail(2, std::string(parsed.status().message()));
  ClientOptions options = *parsed;
  if (options.help) {
    std::fputs(ClientUsage().c_str(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("rustnet-tui %s\n", RUSTNET_VERSION);
    return 0;
  }
  // tui.conf's settings, then the command line again over them (it wins).
  ClientOptions from_file;
  if (absl::Status s = LoadTuiConfig(DefaultTuiConfigPath(), &from_file); !s.ok()) {
    return Fail(2, std::string(s.message()));
  }
  parsed = ParseClientOptions(args, std::move(from_file));
  if (!parsed.ok()) return Fail(2, std::string(parsed.status().message()));
  options = *parsed;
  // Before anything else is written: the TLS files, and a terminal.
  gpr_set_log_function(GrpcLog);
  auto rpc = RpcClient::Create(options.target);
  if (!rpc.ok()) return Fail(1, std::string(rpc.status().message()));
  if (isatty(STDIN_FILENO) == 0 || isatty(STDOUT_FILENO) == 0) {
    return Fail(1,
                "needs a terminal: run it in a terminal, not with its input or output "
                "redirected");
  }

  LoggingOptions logging;
  logging.level = options.log_level;
  logging.dir = options.log_dir.empty() ? DefaultLogDir() : options.log_dir;
  logging.prefix = "rustnet-tui";
  logging.to_stderr = false;
  if (!MakeDirs(logging.dir)) {
    return Fail(1, absl::StrCat("cannot create log directory ", logging.dir, ": ",
                                std::strerror(errno), "; choose another with --log-dir"));
  }
  auto log_path = SetupLogging(logging);
  if (!log_path.ok()) return Fail(1, std::string(log_path.status().message()));

  spdlog::info("rustnet-tui {} starting: daemon {}, refresh {} ms, filter \"{}\"", RUSTNET_VERSION,
               options.target.Description(), options.refresh_ms, options.filter);

  // Whatever still writes to stderr (a library, a sanitizer report) goes to
  // the log file instead of over the screen.
  const int saved_stderr = dup(STDERR_FILENO);
  const int log_fd = open(log_path->c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (log_fd >= 0) {
    dup2(log_fd, STDERR_FILENO);
    close(log_fd);
  }
  std::string error;
  const int code = RunUi(options, rpc->get(), &error);
  if (saved_stderr >= 0) {
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
  }
  if (!error.empty()) return Fail(code, error);
  return code;
}

}  // namespace
}  // namespace rustnet::client

int main(int argc, char** argv) { return rustnet::client::Main(argc, argv); }
