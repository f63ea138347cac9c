#include "daemon/options.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
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


// --- The flags, by name ------------------------------------------------------

using Arg = const std::string&;
// Sets a flag's value (`flag` names it in errors).
using ValueSetter = absl::Status (*)(Arg flag, Arg value, DaemonOptions* o);

template <std::string DaemonOptions::*kField>
absl::Status SetString(Arg /*flag*/, Arg value, DaemonOptions* o) {
  o->*kField = value;
  return absl::OkStatus();
}

// As SetString, and records that the flag was given.
template <std::string DaemonOptions::*kField, bool DaemonOptions::*kSet>
absl::Status SetStringMarked(Arg /*flag*/, Arg value, DaemonOptions* o) {
  o->*kField = value;
  o->*kSet = true;
  return absl::OkStatus();
}

// A duration for --ipfix-active-timeout and --ipfix-template-refresh: a
// whole number of seconds, or with s, m or h; `allow_zero` for "off".
absl::Status SetDurationUs(Arg flag, Arg value, bool allow_zero, int64_t* out_us) {
  const auto bad = [&] {
    return Invalid(flag, absl::StrCat("expected a duration such as 60s, 5m or 1h",
                                      allow_zero ? " (0: off)" : "", ", got \"", value, "\""));
  };
  std::string digits = value;
  int64_t unit_s = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 's': unit_s = 1; digits.pop_back(); break;
      case 'm': unit_s = 60; digits.pop_back(); break;
      case 'h': unit_s = 3600; digits.pop_back(); break;
      default: break;
    }
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n < 0 || n * unit_s > 86400 || (n == 0 && !allow_zero)) {
    return bad();
  }
  *out_us = n * unit_s * 1'000'000;
  return absl::OkStatus();
}

// --ipfix URL[,URL...], repeatable.
absl::Status AddIpfixCollector(Arg flag, Arg value, DaemonOptions* o) {
  for (const absl::string_view url : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    const absl::string_view u = absl::StripAsciiWhitespace(url);
    if (!absl::StartsWith(u, "udp://") && !absl::StartsWith(u, "tcp://")) {
      return Invalid(flag, absl::StrCat("expected udp://HOST:PORT or tcp://HOST:PORT, got \"", u,
                                        "\""));
    }
    o->ipfix.emplace_back(u);
  }
  if (o->ipfix.empty()) return Invalid(flag, "needs udp://HOST:PORT or tcp://HOST:PORT");
  return absl::OkStatus();
}

// --json-log-events opened,classified,closed (any of them, at least one).
absl::Status SetJsonLogEvents(Arg flag, Arg value, DaemonOptions* o) {
  o->json_log_opened = o->json_log_classified = o->json_log_closed = false;
  for (const absl::string_view name : absl::StrSplit(value, ',')) {
    if (name == "opened") {
      o->json_log_opened = true;
    } else if (name == "classified") {
      o->json_log_classified = true;
    } else if (name == "closed") {
      o->json_log_closed = true;
    } else {
      return Invalid(flag, absl::StrCat("unknown event \"", name,
                                        "\" (use a comma-separated list of opened, classified "
                                        "and closed)"));
    }
  }
  return absl::OkStatus();
}

// --history-retention 30d: a whole number with s, m, h or d; 0 alone keeps
// rows of any age.
absl::Status SetHistoryRetention(Arg flag, Arg value, DaemonOptions* o) {
  const auto bad = [&] {
    return Invalid(flag, absl::StrCat("expected a duration such as 30d, 12h, 90m or 3600s (0: keep "
                                      "forever), got \"", value, "\""));
  };
  if (value == "0") {
    o->history_retention_us = 0;
    return absl::OkStatus();
  }
  if (value.size() < 2) return bad();
  int64_t unit_s = 0;
  switch (value.back()) {
    case 's': unit_s = 1; break;
    case 'm': unit_s = 60; break;
    case 'h': unit_s = 3600; break;
    case 'd': unit_s = 86400; break;
    default: return bad();
  }
  int64_t n = 0;
  // Up to 100 years.
  if (!absl::SimpleAtoi(value.substr(0, value.size() - 1), &n) || n < 0 ||
      n > 36'500LL * 86400 / unit_s) {
    return bad();
  }
  o->history_retention_us = n * unit_s * 1'000'000;
  return absl::OkStatus();
}

// A size: bytes, or a whole number with K, M, G or T (powers of 1024), at
// least `min`.
absl::Status ParseSize(Arg flag, Arg value, uint64_t min, const char* zero_means, uint64_t* out) {
  const auto bad = [&] {
    return Invalid(flag, absl::StrCat("expected a size such as 2G, 500M, 64K or a number of bytes",
                                      zero_means, ", got \"", value, "\""));
  };
  if (value.empty()) return bad();
  uint64_t unit = 1;
  std::string digits = value;
  switch (value.back()) {
    case 'K': case 'k': unit = 1ULL << 10; break;
    case 'M': case 'm': unit = 1ULL << 20; break;
    case 'G': case 'g': unit = 1ULL << 30; break;
    case 'T': case 't': unit = 1ULL << 40; break;
    default: break;
  }
  if (unit != 1) digits.pop_back();
  uint64_t n = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &n) || n > (1ULL << 50) / unit) return bad();
  if (n * unit < min) {
    return Invalid(flag, absl::StrCat("must be at least ", min, " bytes, got \"", value, "\""));
  }
  *out = n * unit;
  return absl::OkStatus();
}

// --geoip-country FILE and its siblings: a path (checked when opened: a
// missing or broken file is logged and the daemon runs without it).
template <std::string DaemonOptions::*kField>
absl::Status SetGeoIpFile(Arg flag, Arg value, DaemonOptions* o) {
  if (value.empty()) return Invalid(flag, "needs the path of a MaxMind database (.mmdb)");
  o->*kField = value;
  return absl::OkStatus();
}

// --history-max-size 2G: bytes, or a whole number with K, M or G (powers of
// 1024); 0: no limit.
absl::Status SetHistoryMaxSize(Arg flag, Arg value, DaemonOptions* o) {
  return ParseSize(flag, value, 0, " (0: no limit)", &o->history_max_bytes);
}

// --pcap-export-size 100M: a file is rotated before it grows past it.
absl::Status SetPcapExportSize(Arg flag, Arg value, DaemonOptions* o) {
  return ParseSize(flag, value, 1024, "", &o->pcap_export_bytes);
}

// Flags that take a value, by long name.
using ValueFlagMap = std::map<std::string, ValueSetter, std::less<>>;
const ValueFlagMap& FlagsWithValue() {
  static const auto* const flags = new ValueFlagMap{
      {"--interface", &SetString<&DaemonOptions::interface>},
      {"--read", &SetString<&DaemonOptions::read_file>},
      {"--bpf", &SetString<&DaemonOptions::bpf>},
      {"--bpf-filter", &SetString<&DaemonOptions::bpf>},  // The original rustnet's name.
      {"--dump",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v != "json") return Invalid(f, absl::StrCat("unknown format \"", v, "\" (use json)"));
         o->dump = v;
         return absl::OkStatus();
       }},
      {"--threads",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<size_t>(f, v, 1, 64, &o->threads);
       }},
      {"--capture-threads",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<size_t>(f, v, 1, 64, &o->capture_threads);
       }},
      {"--max-connections",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<size_t>(f, v, 1, 100'000'000, &o->max_connections);
       }},
      {"--history-size",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<size_t>(f, v, 0, 10'000'000, &o->history_size);
       }},
      {"--json-log",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v.empty()) return Invalid(f, "needs a path");
         o->json_log = v;
         return absl::OkStatus();
       }},
      {"--json-log-events", &SetJsonLogEvents},
      {"--history-db",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v.empty()) return Invalid(f, "needs a path");
         o->history_db = v;
         return absl::OkStatus();
       }},
      {"--history-retention", &SetHistoryRetention},
      {"--geoip-country", &SetGeoIpFile<&DaemonOptions::geoip_country>},
      {"--geoip-city", &SetGeoIpFile<&DaemonOptions::geoip_city>},
      {"--geoip-asn", &SetGeoIpFile<&DaemonOptions::geoip_asn>},
      {"--resolve-dns-rate",
       [](Arg f, Arg v, DaemonOptions* o) {
         std::string number = v;
         if (number.ends_with("/s")) number.resize(number.size() - 2);  // "20/s"
         return ParseNumber<int>(f, number, 1, 10'000, &o->resolve_dns_rate);
       }},
      {"--resolve-dns-server",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v.empty()) return Invalid(f, "needs ADDRESS[:PORT] (comma-separated for more)");
         o->resolve_dns_server = v;
         return absl::OkStatus();
        }},
      {"--ipfix", &AddIpfixCollector},
      {"--ipfix-active-timeout",
       [](Arg f, Arg v, DaemonOptions* o) {
         return SetDurationUs(f, v, true, &o->ipfix_active_timeout_us);
       }},
      {"--ipfix-template-refresh",
       [](Arg f, Arg v, DaemonOptions* o) {
         return SetDurationUs(f, v, false, &o->ipfix_template_refresh_us);
       }},
      {"--ipfix-domain",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<uint32_t>(f, v, 0, UINT32_MAX, &o->ipfix_domain);
       }},
      {"--history-max-size", &SetHistoryMaxSize},
      {"--metrics-listen", &SetString<&DaemonOptions::metrics_listen>},
      {"--metrics-web-config",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v.empty()) return Invalid(f, "needs a path");
         o->metrics_web_config = v;
         return absl::OkStatus();
       }},
      {"--metrics-top-processes",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<size_t>(f, v, 0, 1000, &o->metrics_top_processes);
        }},
      {"--pcap-export",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v.empty()) return Invalid(f, "needs a path");
         o->pcap_export = v;
         return absl::OkStatus();
       }},
      {"--pcap-export-size", &SetPcapExportSize},
      {"--pcap-export-count",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<size_t>(f, v, 1, 1000, &o->pcap_export_count);
       }},
      {"--log-level",
       [](Arg f, Arg v, DaemonOptions* o) {
         auto level = ParseLogLevel(v);
         if (!level) {
           return Invalid(f, absl::StrCat("unknown level \"", v,
                                          "\" (use error, warn, info, debug or trace)"));
         }
         o->log_level = *level;
         return absl::OkStatus();
       }},
      {"--log-dir", &SetStringMarked<&DaemonOptions::log_dir, &DaemonOptions::log_dir_set>},
      {"--stats-interval",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<int64_t>(f, v, 1, 86400, &o->stats_interval_s);
       }},
      {"--socket", &SetString<&DaemonOptions::socket>},
      {"--socket-group",
       &SetStringMarked<&DaemonOptions::socket_group, &DaemonOptions::socket_group_set>},
      {"--listen", &SetString<&DaemonOptions::listen>},
      {"--tls-cert", &SetString<&DaemonOptions::tls_cert>},
      {"--tls-key", &SetString<&DaemonOptions::tls_key>},
      {"--tls-client-ca", &SetString<&DaemonOptions::tls_client_ca>},
      {"--insecure-listen", &SetString<&DaemonOptions::insecure_listen>},
      {"--max-streams",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<int>(f, v, 1, 4096, &o->max_streams);
       }},
      {"--config",
       [](Arg f, Arg v, DaemonOptions* o) {
         if (v.empty()) return Invalid(f, "needs a path");
         o->config = v;
         return absl::OkStatus();
       }},
      {"--snapshot-interval-ms",
       [](Arg f, Arg v, DaemonOptions* o) {
         return ParseNumber<int64_t>(f, v, 100, 60'000, &o->snapshot_interval_ms);
       }},
  };
  return *flags;
}

// Flags without a value, by long name.
using SwitchMap = std::map<std::string, bool DaemonOptions::*, std::less<>>;
const SwitchMap& Switches() {
  static const auto* const switches = new SwitchMap{
      {"--list-interfaces", &DaemonOptions::list_interfaces},
      {"--dump-expired", &DaemonOptions::dump_expired},
      {"--no-localhost", &DaemonOptions::no_localhost},
      {"--show-localhost", &DaemonOptions::show_localhost},
      {"--no-dpi", &DaemonOptions::no_dpi},
      {"--no-process", &DaemonOptions::no_process},
      {"--no-ebpf", &DaemonOptions::no_ebpf},
      {"--no-history-db", &DaemonOptions::no_history_db},
      {"--no-geoip", &DaemonOptions::no_geoip},
      {"--resolve-dns", &DaemonOptions::resolve_dns},
      {"--no-resolve-dns", &DaemonOptions::no_resolve_dns},
      {"--show-ptr-lookups", &DaemonOptions::show_ptr_lookups},
      {"--netflow-v9", &DaemonOptions::netflow_v9},
      {"--ipfix-biflow", &DaemonOptions::ipfix_biflow},
      {"--help", &DaemonOptions::help},
      {"--version", &DaemonOptions::version},
  };
  return *switches;
}

const std::map<char, std::string>& ShortNames() {
  static const auto* const names = new std::map<char, std::string>{
      {'i', "--interface"}, {'f', "--bpf"}, {'t', "--threads"}, {'l', "--log-level"},
      {'h', "--help"},      {'V', "--version"},
  };
  return *names;
}

// --- Parsing -----------------------------------------------------------------

// One argument as a long flag name and the value written into it, if any
// ("-ieth0", "--read=FILE").
struct Argument {
  std::string flag;
  std::string value;
  bool has_inline_value = false;
};

absl::StatusOr<Argument> SplitArgument(const std::string& arg) {
  Argument a;
  if (arg.size() == 2 && arg[0] == '-' && arg[1] != '-') {
    auto it = ShortNames().find(arg[1]);
    if (it == ShortNames().end()) return Invalid(arg, "unknown option");
    a.flag = it->second;
  } else if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-') {
    // -ieth0 style.
    auto it = ShortNames().find(arg[1]);
    if (it == ShortNames().end() || !FlagsWithValue().contains(it->second)) {
      return Invalid(arg, "unknown option");
    }
    a.flag = it->second;
    a.value = arg.substr(2);
    a.has_inline_value = true;
  } else if (arg.rfind("--", 0) == 0) {
    a.flag = arg;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      a.flag = arg.substr(0, eq);
      a.value = arg.substr(eq + 1);
      a.has_inline_value = true;
    }
  } else {
    return Invalid(arg, "unexpected argument (options start with - or --)");
  }
  return a;
}

// Applies args[*i] to `o`; a flag whose value is the next argument moves *i
// past it.
absl::Status ApplyArgument(const std::vector<std::string>& args, size_t* i, DaemonOptions* o) {
  absl::StatusOr<Argument> a = SplitArgument(args[*i]);
  if (!a.ok()) return a.status();
  if (auto sw = Switches().find(a->flag); sw != Switches().end()) {
    if (a->has_inline_value) return Invalid(a->flag, "takes no value");
    o->*(sw->second) = true;
    return absl::OkStatus();
  }
  auto setter = FlagsWithValue().find(a->flag);
  if (setter == FlagsWithValue().end()) return Invalid(a->flag, "unknown option");
  if (!a->has_inline_value) {
    if (*i + 1 >= args.size()) return Invalid(a->flag, "needs a value");
    a->value = args[++*i];
  }
  return setter->second(a->flag, a->value, o);
}

bool IsHostPort(const std::string& v) {
  const size_t colon = v.rfind(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < v.size();
}

// The API's flags: addresses HOST:PORT, TLS only with --listen.
absl::Status CheckApiFlags(const DaemonOptions& o) {
  if (!o.listen.empty() && !IsHostPort(o.listen)) {
    return Invalid("--listen", absl::StrCat("expected HOST:PORT, got \"", o.listen, "\""));
  }
  if (!o.insecure_listen.empty() && !IsHostPort(o.insecure_listen)) {
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
    return Invalid("--tls-cert",
                   "--tls-cert, --tls-key and --tls-client-ca only work with --listen");
  }
  if (o.socket.empty()) return Invalid("--socket", "needs a path");
  return absl::OkStatus();
}

// Flags that only work together, or not at all.
absl::Status CheckCombinations(const DaemonOptions& o) {
  if (o.dump_expired && o.dump.empty()) {
    return Invalid("--dump-expired", "only works with --dump json");
  }
  if (!o.dump.empty() && o.read_file.empty()) {
    return Invalid("--dump", "only works with --read FILE");
  }
  if (!o.json_log_opened && !o.json_log_classified && !o.json_log_closed) {
    return Invalid("--json-log-events", "needs at least one of opened, classified and closed");
  }
  if (o.ipfix.empty() && (o.netflow_v9 || o.ipfix_biflow)) {
    return Invalid(o.netflow_v9 ? "--netflow-v9" : "--ipfix-biflow",
                   "only works with --ipfix udp://HOST:PORT (the collector to export to)");
  }
  if (o.netflow_v9 && o.ipfix_biflow) {
    return Invalid("--ipfix-biflow", "is IPFIX only (RFC 5103); leave out --netflow-v9");
  }
  if (o.netflow_v9) {
    for (const std::string& url : o.ipfix) {
      if (absl::StartsWith(url, "tcp://")) {
        return Invalid("--netflow-v9", "exports over UDP only; use udp://HOST:PORT");
      }
    }
  }
  if (!o.metrics_listen.empty() && !IsHostPort(o.metrics_listen)) {
    return Invalid("--metrics-listen",
                   absl::StrCat("expected HOST:PORT (such as 127.0.0.1:9876), got \"",
                                o.metrics_listen, "\""));
  }
  if (!o.metrics_web_config.empty() && o.metrics_listen.empty()) {
    return Invalid("--metrics-web-config", "only works with --metrics-listen HOST:PORT");
  }
  if (!o.metrics_listen.empty() && !o.dump.empty()) {
    return Invalid("--metrics-listen", "does not work with --dump (which exits at the end); "
                                       "replay without --dump to keep serving metrics");
  }
  if (!o.read_file.empty() && !o.interface.empty()) {
    return Invalid("--read", "cannot be combined with -i; choose a file or an interface");
  }
  if (o.capture_threads > 1 && !o.read_file.empty()) {
    return Invalid("--capture-threads",
                   "is for live interfaces only (a file is read by one thread); leave it out "
                   "with --read");
  }
  if (o.capture_threads > 1 && !o.pcap_export.empty()) {
    return Invalid("--capture-threads",
                   "cannot be combined with --pcap-export (its frames are numbered by one "
                   "capture thread); leave it out or set it to 1");
  }
  return CheckApiFlags(o);
}

}  // namespace

size_t DefaultThreads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return std::clamp<size_t>(hw == 0 ? 1 : hw, 1, 4);
}

size_t DefaultCaptureThreads(size_t workers, size_t cores) {
  return std::clamp<size_t>(std::min(workers, cores / 2), 1, 64);
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
  -f, --bpf-filter EXPR      Capture only what the BPF filter EXPR matches
                             (pcap-filter(7)); --bpf EXPR is the same
      --list-interfaces      Print the interfaces that can be captured and exit

Tracking:
      --no-localhost         Do not track loopback traffic
      --show-localhost       Track it even if the configuration file says
                             no-localhost (tracked by default)
      --no-dpi               Disable deep packet inspection
      --no-process           Do not attribute connections to processes (live
                             capture reads sock_diag and /proc otherwise)
      --no-ebpf              Attribute with sock_diag and /proc only, without
                             the eBPF socket tracker (which also sees
                             connections that live a millisecond)
  -t, --threads N            Worker threads (default: min(cores, 4))
      --capture-threads N    Live capture threads, each reading its share of
                             the interface (PACKET_FANOUT); not with --read
                             (default: min(worker threads, cores / 2), 1 on
                             2 cores)
      --max-connections N    Connections tracked at most; past it the longest
                             idle are evicted, one-way and half-open ones
                             first (default: 1000000)
      --history-size N       Closed connections kept in memory for the API's
                             include_closed, oldest dropped first; 0: none
                             (per-group totals are kept either way)
                             (default: 10000)

Output:
      --dump json            With --read: print the final connection table as
                             JSON Lines (rustnet.v1.Connection) and exit
      --dump-expired         With --dump: also print connections that expired
                             or closed before the end of the file
      --json-log FILE        Append every connection event to FILE as JSON
                             Lines (rustnet.v1.ConnectionEvent), mode 0600;
                             reopened on SIGHUP. Connections still open at
                             the end are written closed (CLOSE_REASON_SHUTDOWN)
      --json-log-events LIST Which events: opened, classified, closed,
                             comma-separated (default: all three)
      --history-db PATH      Store every closed connection in the SQLite
                             database PATH (API: QueryHistory); connections
                             still open at the end are stored closed
                             (default: none; the service passes
                             /var/lib/rustnet/history.db)
      --no-history-db        No history store, whatever the configuration says
      --history-retention DURATION
                             Delete stored rows closed longer ago than
                             DURATION: 30d, 12h, 90m, 3600s; 0: keep them
                             (default: 30d)
      --history-max-size SIZE
                             Keep the database under SIZE by deleting the
                             oldest rows: 2G, 500M, 64K, bytes; 0: no limit
                             (default: 2G)
      --pcap-export FILE     Write every captured packet to FILE as pcapng,
                             mode 0600, each commented with its connection id
                             and process (Wireshark shows them); packets are
                             dropped from the export, never from capture,
                             when the disk falls behind
      --pcap-export-size SIZE
                             Rotate FILE to FILE.1, FILE.1 to FILE.2, ...
                             before it grows past SIZE: 100M, 1G, 64K, bytes
                             (default: 100M)
      --pcap-export-count N  Files kept, FILE included; the oldest is deleted
                             (default: 5)

Enrichment (shown by the API; never on the packet path):
      --geoip-country FILE   GeoIP country database (MaxMind format, .mmdb)
      --geoip-city FILE      GeoIP city database
      --geoip-asn FILE       ASN database (AS number and organisation)
                             Without them: GeoLite2-Country.mmdb,
                             GeoLite2-City.mmdb, GeoLite2-ASN.mmdb (and the
                             ip-location-db names) are searched in
                             /usr/share/GeoIP, /var/lib/GeoIP and
                             /var/lib/rustnet/geoip. Files are re-read when
                             they change and on SIGHUP
      --no-geoip             No GeoIP/ASN lookups at all
      --resolve-dns          Look up PTR names for remote addresses that SNI,
                             HTTP or captured DNS did not name (off: each
                             lookup tells the resolver whom this host talks
                             to, and adds traffic to what is watched)
      --no-resolve-dns       No reverse DNS, whatever the configuration says
      --resolve-dns-rate N   At most N PTR queries per second (default: 20)
      --resolve-dns-server ADDR[:PORT]
                             Ask this server (comma-separated for more)
                             rather than those of /etc/resolv.conf
      --show-ptr-lookups     List reverse DNS's own queries (marked
                             own_lookup) instead of leaving them out

Flow export (IPFIX, RFC 7011; NetFlow v9, RFC 3954):
      --ipfix URL            Export flow records to the collector at URL,
                             udp://HOST:PORT or tcp://HOST:PORT (IPv6 as
                             [::1]:4739); repeat, or separate with commas,
                             for several (default: none)
      --netflow-v9           Export NetFlow v9 instead of IPFIX (UDP only)
      --ipfix-biflow         One record per connection with RFC 5103 reverse
                             counters instead of one per direction
      --ipfix-active-timeout DURATION
                             Export long-lived flows' counts every DURATION
                             (60s, 5m; 0: only at their end) (default: 60s)
      --ipfix-template-refresh DURATION
                             Resend the templates over UDP every DURATION
                             (default: 60s)
      --ipfix-domain N       Observation Domain ID (NetFlow v9: Source ID)
                             (default: 0)

Metrics (Prometheus):
      --metrics-listen HOST:PORT
                             Serve GET /metrics over HTTP on HOST:PORT
                             (default: off; 127.0.0.1:9876 keeps it local)
      --metrics-web-config FILE
                             TLS and basic authentication for it, in the
                             web configuration format of Prometheus'
                             exporters (tls_server_config: cert_file,
                             key_file; basic_auth_users: bcrypt hashes)
      --metrics-top-processes N
                             Processes named in rustnet_process_bytes_total,
                             the rest summed as "other" (default: 20)

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
  for (size_t i = 0; i < args.size(); ++i) {
    if (absl::Status s = ApplyArgument(args, &i, &o); !s.ok()) return s;
  }
  if (absl::Status s = CheckCombinations(o); !s.ok()) return s;
  if (o.threads == 0) o.threads = DefaultThreads();
  if (o.capture_threads == 0) {
    const unsigned hw = std::thread::hardware_concurrency();
    o.capture_threads = !o.read_file.empty() || !o.pcap_export.empty()
                            ? 1
                            : DefaultCaptureThreads(o.threads, hw == 0 ? 1 : hw);
  }
  if (o.no_history_db) o.history_db.clear();
  if (o.no_resolve_dns) o.resolve_dns = false;
  if (o.show_localhost) o.no_localhost = false;
  return o;
}

}  // namespace rustnet
