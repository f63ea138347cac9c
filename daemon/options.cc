#include "daemon/options.h"

#include <algorithm>
#include <functional>
#include <map>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace rustnet {
namespace {

absl::Status Invalid(const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why, "; see rustnetd --help"));
}

template <typename T>
absl::Status ParseNumber(const std::string& flag, const std::string& text, T min, T max, T* out) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < static_cast<int64_t>(min) ||
      v > static_cast<int64_t>(max)) {
    return Invalid(flag, absl::StrCat("expected a whole number from ", min, " to ", max,
                                      ", got \"", text, "\""));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

}  // namespace

size_t DefaultThreads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return std::clamp<size_t>(hw == 0 ? 1 : hw, 1, 4);
}

std::string DaemonUsage() {
  return R"(Usage: rustnetd [OPTIONS]

Capture packets, track every TCP/UDP/ICMP/ARP connection and serve them to
rustnet-tui and scripts.

Capture:
  -i, --interface IFACE      Interface to capture on ("any" for all); default:
                             the first interface that is up, not loopback,
                             and has an address
      --read FILE            Replay a pcap or pcapng file instead of capturing
  -f, --bpf EXPR             Capture only what the BPF filter EXPR matches
      --list-interfaces      Print the interfaces that can be captured and exit

Tracking:
      --no-localhost         Do not track loopback traffic
      --no-dpi               Disable deep packet inspection
      --no-process           Do not attribute connections to processes (live
                             capture reads sock_diag and /proc otherwise)
  -t, --threads N            Worker threads (default: min(cores, 4))
      --max-connections N    Connections tracked at most; past it the longest
                             idle are evicted, one-way and half-open ones
                             first (default: 1000000)

Output:
      --dump json            With --read: print the final connection table as
                             JSON Lines (rustnet.v1.Connection) and exit
      --dump-expired         With --dump: also print connections that expired
                             or closed before the end of the file

API (gRPC service rustnet.v1.Monitor, with reflection and health):
      --socket PATH          Unix socket (default: /run/rustnet/rustnetd.sock),
                             created 0660; its group is the access control
      --socket-group NAME    Group of the socket (default: rustnet, if it exists)
      --listen HOST:PORT     Also serve on TCP, with TLS (needs --tls-cert and
                             --tls-key)
      --tls-cert FILE        PEM certificate for --listen
      --tls-key FILE         PEM private key for --listen
      --tls-client-ca FILE   Require client certificates signed by this CA
      --insecure-listen HOST:PORT
                             Serve on plaintext TCP (no authentication: only
                             for trusted networks)
      --max-streams N        Concurrent Watch streams (default: 64)

Logging:
  -l, --log-level LEVEL      error, warn, info, debug or trace (default: info)
      --log-dir DIR          Where rustnet_YYYY-MM-DD_HH-MM-SS.log files go
                             (default: logs)
      --stats-interval SEC   Log capture statistics every SEC seconds (default: 10)

Configuration:
      --config PATH          Read options from PATH: one "name = value" per
                             line, names as the long options without "--"
                             (default: /etc/rustnet/rustnetd.conf, if it
                             exists); the command line wins. SIGHUP re-reads
                             it (log level, statistics interval) and reopens
                             the log file

  -h, --help                 Show this help and exit
  -V, --version              Show the version and exit
)";
}

absl::StatusOr<DaemonOptions> ParseDaemonOptions(const std::vector<std::string>& args) {
  DaemonOptions o;
  // Flags that take a value, by every name they answer to.
  using Setter = std::function<absl::Status(const std::string& flag, const std::string& value)>;
  std::map<std::string, Setter, std::less<>> with_value = {
      {"--interface", [&](auto&, auto& v) { o.interface = v; return absl::OkStatus(); }},
      {"--read", [&](auto&, auto& v) { o.read_file = v; return absl::OkStatus(); }},
      {"--bpf", [&](auto&, auto& v) { o.bpf = v; return absl::OkStatus(); }},
      {"--dump",
       [&](auto& f, auto& v) {
         if (v != "json") return Invalid(f, absl::StrCat("unknown format \"", v, "\" (use json)"));
         o.dump = v;
         return absl::OkStatus();
       }},
      {"--threads",
       [&](auto& f, auto& v) { return ParseNumber<size_t>(f, v, 1, 64, &o.threads); }},
      {"--max-connections",
       [&](auto& f, auto& v) {
         return ParseNumber<size_t>(f, v, 1, 100'000'000, &o.max_connections);
       }},
      {"--log-level",
       [&](auto& f, auto& v) {
         auto level = ParseLogLevel(v);
         if (!level) {
           return Invalid(f, absl::StrCat("unknown level \"", v,
                                          "\" (use error, warn, info, debug or trace)"));
         }
         o.log_level = *level;
         return absl::OkStatus();
       }},
      {"--log-dir",
       [&](auto&, auto& v) {
         o.log_dir = v;
         o.log_dir_set = true;
         return absl::OkStatus();
       }},
      {"--stats-interval",
       [&](auto& f, auto& v) {
         return ParseNumber<int64_t>(f, v, 1, 86400, &o.stats_interval_s);
       }},
      {"--socket", [&](auto&, auto& v) { o.socket = v; return absl::OkStatus(); }},
      {"--socket-group",
       [&](auto&, auto& v) {
         o.socket_group = v;
         o.socket_group_set = true;
         return absl::OkStatus();
       }},
      {"--listen", [&](auto&, auto& v) { o.listen = v; return absl::OkStatus(); }},
      {"--tls-cert", [&](auto&, auto& v) { o.tls_cert = v; return absl::OkStatus(); }},
      {"--tls-key", [&](auto&, auto& v) { o.tls_key = v; return absl::OkStatus(); }},
      {"--tls-client-ca", [&](auto&, auto& v) { o.tls_client_ca = v; return absl::OkStatus(); }},
      {"--insecure-listen",
       [&](auto&, auto& v) { o.insecure_listen = v; return absl::OkStatus(); }},
      {"--max-streams",
       [&](auto& f, auto& v) { return ParseNumber<int>(f, v, 1, 4096, &o.max_streams); }},
      {"--config",
       [&](auto& f, auto& v) {
         if (v.empty()) return Invalid(f, "needs a path");
         o.config = v;
         return absl::OkStatus();
       }},
      {"--snapshot-interval-ms",
       [&](auto& f, auto& v) {
         return ParseNumber<int64_t>(f, v, 100, 60'000, &o.snapshot_interval_ms);
       }},
  };
  const std::map<std::string, bool*, std::less<>> switches = {
      {"--list-interfaces", &o.list_interfaces},
      {"--dump-expired", &o.dump_expired},
      {"--no-localhost", &o.no_localhost},
      {"--no-dpi", &o.no_dpi},
      {"--no-process", &o.no_process},
      {"--help", &o.help},
      {"--version", &o.version},
  };
  const std::map<char, std::string> short_names = {
      {'i', "--interface"}, {'f', "--bpf"}, {'t', "--threads"}, {'l', "--log-level"},
      {'h', "--help"},      {'V', "--version"},
  };

  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_inline_value = false;
    if (arg.size() == 2 && arg[0] == '-' && arg[1] != '-') {
      auto it = short_names.find(arg[1]);
      if (it == short_names.end()) return Invalid(arg, "unknown option");
      arg = it->second;
    } else if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-') {
      // -ieth0 style.
      auto it = short_names.find(arg[1]);
      if (it == short_names.end() || !with_value.contains(it->second)) {
        return Invalid(arg, "unknown option");
      }
      value = arg.substr(2);
      has_inline_value = true;
      arg = it->second;
    } else if (arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        has_inline_value = true;
        arg = arg.substr(0, eq);
      }
    } else {
      return Invalid(arg, "unexpected argument (options start with - or --)");
    }

    if (auto sw = switches.find(arg); sw != switches.end()) {
      if (has_inline_value) return Invalid(arg, "takes no value");
      *sw->second = true;
      continue;
    }
    auto setter = with_value.find(arg);
    if (setter == with_value.end()) return Invalid(arg, "unknown option");
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return Invalid(arg, "needs a value");
      value = args[++i];
    }
    if (absl::Status s = setter->second(arg, value); !s.ok()) return s;
  }

  if (o.dump_expired && o.dump.empty()) {
    return Invalid("--dump-expired", "only works with --dump json");
  }
  if (!o.dump.empty() && o.read_file.empty()) {
    return Invalid("--dump", "only works with --read FILE");
  }
  if (!o.read_file.empty() && !o.interface.empty()) {
    return Invalid("--read", "cannot be combined with -i; choose a file or an interface");
  }
  auto is_host_port = [](const std::string& v) {
    const size_t colon = v.rfind(':');
    return colon != std::string::npos && colon > 0 && colon + 1 < v.size();
  };
  if (!o.listen.empty() && !is_host_port(o.listen)) {
    return Invalid("--listen", absl::StrCat("expected HOST:PORT, got \"", o.listen, "\""));
  }
  if (!o.insecure_listen.empty() && !is_host_port(o.insecure_listen)) {
    return Invalid("--insecure-listen",
                   absl::StrCat("expected HOST:PORT, got \"", o.insecure_listen, "\""));
  }
  if (!o.listen.empty() && !o.insecure_listen.empty()) {
    return Invalid("--listen", "cannot be combined with --insecure-listen; choose one");
  }
  if (!o.listen.empty() && (o.tls_cert.empty() || o.tls_key.empty())) {
    return Invalid("--listen",
                   "needs --tls-cert and --tls-key (plaintext TCP only with --insecure-listen)");
  }
  if (o.listen.empty() && (!o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_client_ca.empty())) {
    return Invalid("--tls-cert", "--tls-cert, --tls-key and --tls-client-ca only work with --listen");
  }
  if (o.socket.empty()) return Invalid("--socket", "needs a path");
  if (o.threads == 0) o.threads = DefaultThreads();
  return o;
}

}  // namespace rustnet
