#include "daemon/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rustnet {
namespace {

struct OptionSpec {
  absl::string_view name;
  bool is_switch;  // Takes no value on the command line; true/false in the file.
  bool in_file;    // May be set in the file.
};

// rustnetd's long options (daemon/options.cc). A new option must be added
// here too; tests/daemon/config_test.cc checks this list against --help.
constexpr OptionSpec kOptions[] = {
    {"interface", false, true},
    {"read", false, true},
    {"bpf", false, true},
    {"bpf-filter", false, true},  // The same, by the original rustnet's name.
    {"no-localhost", true, true},
    {"show-localhost", true, false},  // Overrides the file's no-localhost.
    {"no-dpi", true, true},
    {"no-process", true, true},
    {"no-ebpf", true, true},
    {"threads", false, true},
    {"capture-threads", false, true},
    {"max-connections", false, true},
    {"history-size", false, true},
    {"json-log", false, true},
    {"json-log-events", false, true},
    {"history-db", false, true},
    {"no-history-db", true, true},
    {"geoip-country", false, true},
    {"geoip-city", false, true},
    {"geoip-asn", false, true},
    {"no-geoip", true, true},
    {"resolve-dns", true, true},
    {"no-resolve-dns", true, true},
    {"resolve-dns-rate", false, true},
    {"resolve-dns-server", false, true},
    {"show-ptr-lookups", true, true},
    {"history-retention", false, true},
    {"history-max-size", false, true},
    {"ipfix", false, true},
    {"netflow-v9", true, true},
    {"ipfix-biflow", true, true},
    {"ipfix-active-timeout", false, true},
    {"ipfix-template-refresh", false, true},
    {"ipfix-domain", false, true},
    {"metrics-listen", false, true},
    {"metrics-web-config", false, true},
    {"metrics-top-processes", false, true},
    {"pcap-export", false, true},
    {"pcap-export-size", false, true},
    {"pcap-export-count", false, true},
    {"log-level", false, true},
    {"log-dir", false, true},
    {"stats-interval", false, true},
    {"snapshot-interval-ms", false, true},
    {"socket", false, true},
    {"socket-group", false, true},
    {"listen", false, true},
    {"tls-cert", false, true},
    {"tls-key", false, true},
    {"tls-client-ca", false, true},
    {"insecure-listen", false, true},
    {"max-streams", false, true},
    // One run's business, not a configuration's.
    {"config", false, false},
    {"dump", false, false},
    {"dump-expired", true, false},
    {"list-interfaces", true, false},
    {"help", true, false},
    {"version", true, false},
};

// Options that exclude each other: setting one on the command line drops
// the file's value of the other.
constexpr absl::string_view kExclusive[][2] = {
    {"interface", "read"},
    // The service's fan-out, set in the file, does not stop `--read FILE`.
    {"capture-threads", "read"},
    {"listen", "insecure-listen"},
};

const std::map<char, absl::string_view>& ShortNames() {
  static const auto* names =
      new std::map<char, absl::string_view>{{'i', "interface"}, {'f', "bpf"},  {'t', "threads"},
                                            {'l', "log-level"}, {'h', "help"}, {'V', "version"}};
  return *names;
}

const OptionSpec* FindOption(absl::string_view name) {
  for (const OptionSpec& o : kOptions) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

// The options the command line sets, by long name, with their values
// ("" for switches). Arguments that are not options are skipped;
// ParseDaemonOptions reports them.
std::vector<std::pair<std::string, std::string>> CommandLineOptions(
    const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string name;
    std::optional<std::string> value;
    if (absl::StartsWith(arg, "--") && arg.size() > 2) {
      name = arg.substr(2);
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
    } else if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
      auto it = ShortNames().find(arg[1]);
      if (it == ShortNames().end()) continue;
      name = std::string(it->second);
      if (arg.size() > 2) value = arg.substr(2);
    } else {
      continue;
    }
    const OptionSpec* spec = FindOption(name);
    if (!value && spec != nullptr && !spec->is_switch && i + 1 < args.size()) value = args[++i];
    out.emplace_back(name, value.value_or(""));
  }
  return out;
}

bool Sets(const std::vector<std::pair<std::string, std::string>>& options, absl::string_view name) {
  return std::any_of(options.begin(), options.end(),
                     [name](const auto& o) { return o.first == name; });
}

// Levenshtein distance, for "did you mean".
size_t Distance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Suggestion(absl::string_view name) {
  absl::string_view best;
  size_t best_distance = 3;  // At most two edits away.
  for (const OptionSpec& o : kOptions) {
    if (!o.in_file) continue;
    const size_t d = Distance(name, o.name);
    if (d < best_distance) {
      best_distance = d;
      best = o.name;
    }
  }
  return best.empty() ? "" : absl::StrCat(" (did you mean \"", best, "\"?)");
}

// The value after '=': quoted ("..." with \" and \\) or bare up to a " #"
// comment. Sets *quoted.
absl::StatusOr<std::string> ParseValue(absl::string_view raw, bool* quoted) {
  *quoted = !raw.empty() && raw[0] == '"';
  if (!*quoted) {
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(raw[i - 1])))) {
        raw = raw.substr(0, i);
        break;
      }
    }
    return std::string(absl::StripAsciiWhitespace(raw));
  }
  std::string value;
  for (size_t i = 1; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\' && i + 1 < raw.size() && (raw[i + 1] == '"' || raw[i + 1] == '\\')) {
      value += raw[++i];
    } else if (c == '"') {
      const absl::string_view rest = absl::StripAsciiWhitespace(raw.substr(i + 1));
      if (!rest.empty() && rest[0] != '#') {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected text after the closing quote: ", rest));
      }
      return value;
    } else {
      value += c;
    }
  }
  return absl::InvalidArgumentError("the quoted value has no closing quote");
}

}  // namespace

absl::StatusOr<ConfigFile> ParseConfig(std::string_view text_in, std::string_view path_in) {
  const absl::string_view text(text_in.data(), text_in.size());
  const absl::string_view path(path_in.data(), path_in.size());
  ConfigFile file;
  file.path = std::string(path);
  std::map<std::string, int> seen;  // name -> line
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", line_no, ": ", why));
    };
    const absl::string_view s = absl::StripAsciiWhitespace(line);
    if (s.empty() || s[0] == '#') continue;
    const size_t eq = s.find('=');
    if (eq == absl::string_view::npos) {
      return fail(absl::StrCat("expected name = value, got \"", s, "\""));
    }
    const std::string name(absl::StripAsciiWhitespace(s.substr(0, eq)));
    const absl::string_view raw = absl::StripAsciiWhitespace(s.substr(eq + 1));
    if (name.empty()) return fail("a line starts with '='; expected name = value");
    if (name[0] == '-') {
      const size_t start = name.find_first_not_of('-');
      return fail(absl::StrCat("write option names without the dashes: ",
                               start == std::string::npos ? "" : name.substr(start), " = ..."));
    }
    const OptionSpec* spec = FindOption(name);
    if (spec == nullptr) {
      return fail(absl::StrCat("unknown option \"", name, "\"", Suggestion(name),
                               "; use rustnetd's long option names without the dashes "
                               "(see rustnetd --help)"));
    }
    if (!spec->in_file) {
      return fail(
          absl::StrCat("\"", name, "\" only works on the command line; remove it from the file"));
    }
    bool quoted = false;
    auto value = ParseValue(raw, &quoted);
    if (!value.ok()) return fail(absl::StrCat(name, ": ", value.status().message()));
    if (spec->is_switch) {
      if (*value != "true" && *value != "false") {
        return fail(absl::StrCat(name, " takes true or false, got \"", *value, "\""));
      }
    } else if (value->empty() && !quoted) {
      return fail(absl::StrCat(name, " needs a value (\"\" for an empty one)"));
    }
    if (auto it = seen.find(name); it != seen.end()) {
      return fail(absl::StrCat(name, " is already set on line ", it->second, "; keep one of them"));
    }
    seen[name] = line_no;
    file.entries.push_back({name, *value, line_no});
  }
  return file;
}

absl::StatusOr<ConfigFile> ReadConfigFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read configuration file ", path, ": ",
                                            std::strerror(errno),
                                            "; check the path given to --config"));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("configuration file ", path, " is a directory; give a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read configuration file ", path, ": ", std::strerror(errno),
                     "; make it readable by the user rustnetd runs as"));
  }
  // Read at most one byte past the limit (not trusting st_size: /dev/null
  // and pipes have none).
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat("configuration file ", path,
                                                   " is larger than ", kMaxConfigBytes,
                                                   " bytes; is it the right file?"));
  }
  return ParseConfig(text, path);
}

ConfigChoice ChooseConfigFile(const std::vector<std::string>& command_line,
                              std::string_view default_path) {
  ConfigChoice choice;
  choice.path = std::string(default_path);
  for (const auto& [name, value] : CommandLineOptions(command_line)) {
    if (name != "config") continue;
    choice.path = value;
    choice.explicit_path = true;
  }
  return choice;
}

std::vector<std::string> ConfigArgs(const ConfigFile& file,
                                    const std::vector<std::string>& command_line) {
  const auto given = CommandLineOptions(command_line);
  auto overridden = [&given](absl::string_view name) {
    for (const auto& pair : kExclusive) {
      if ((pair[0] == name || pair[1] == name) && (Sets(given, pair[0]) || Sets(given, pair[1]))) {
        return true;
      }
    }
    return false;
  };
  std::vector<std::string> args;
  for (const ConfigEntry& e : file.entries) {
    if (overridden(e.name)) continue;
    const OptionSpec* spec = FindOption(e.name);
    if (spec != nullptr && spec->is_switch) {
      if (e.value == "true") args.push_back(absl::StrCat("--", e.name));
      continue;
    }
    args.push_back(absl::StrCat("--", e.name, "=", e.value));
  }
  return args;
}

absl::StatusOr<DaemonOptions> LoadDaemonOptions(const std::vector<std::string>& command_line,
                                                std::string_view default_config) {
  const auto given = CommandLineOptions(command_line);
  if (Sets(given, "help") || Sets(given, "version")) return ParseDaemonOptions(command_line);

  const ConfigChoice choice = ChooseConfigFile(command_line, default_config);
  if (choice.explicit_path && choice.path.empty()) {
    return absl::InvalidArgumentError("--config: needs a path; see rustnetd --help");
  }
  std::optional<ConfigFile> file;
  struct stat st {};
  if (choice.explicit_path || stat(choice.path.c_str(), &st) == 0 || errno != ENOENT) {
    auto read = ReadConfigFile(choice.path);
    if (!read.ok()) return read.status();
    file = std::move(*read);
  }
  std::vector<std::string> args;
  if (file) args = ConfigArgs(*file, command_line);
  args.insert(args.end(), command_line.begin(), command_line.end());
  auto options = ParseDaemonOptions(args);
  if (options.ok() || !file) return options;

  // "--threads: ..." about an option only the file set: say where.
  const absl::string_view message = options.status().message();
  if (!absl::StartsWith(message, "--")) return options;
  const size_t colon = message.find(':');
  if (colon == absl::string_view::npos) return options;
  const absl::string_view flag = message.substr(2, colon - 2);
  if (Sets(given, flag)) return options;
  for (const ConfigEntry& e : file->entries) {
    if (e.name == flag) {
      return absl::InvalidArgumentError(absl::StrCat(file->path, " line ", e.line, ": ", message));
    }
  }
  return options;
}

std::vector<std::string> OptionsNeedingRestart(const DaemonOptions& before,
                                               const DaemonOptions& after) {
  std::vector<std::string> changed;
  auto check = [&changed](const char* name, bool differs) {
    if (differs) changed.emplace_back(name);
  };
  check("interface", before.interface != after.interface);
  check("read", before.read_file != after.read_file);
  check("bpf", before.bpf != after.bpf);
  check("no-localhost", before.no_localhost != after.no_localhost);
  check("no-dpi", before.no_dpi != after.no_dpi);
  check("no-process", before.no_process != after.no_process);
  check("no-ebpf", before.no_ebpf != after.no_ebpf);
  check("threads", before.threads != after.threads);
  check("capture-threads", before.capture_threads != after.capture_threads);
  check("max-connections", before.max_connections != after.max_connections);
  check("history-size", before.history_size != after.history_size);
  check("json-log", before.json_log != after.json_log);
  check("json-log-events", before.json_log_opened != after.json_log_opened ||
                               before.json_log_classified != after.json_log_classified ||
                               before.json_log_closed != after.json_log_closed);
  check("history-db", before.history_db != after.history_db);
  check("history-retention", before.history_retention_us != after.history_retention_us);
  check("history-max-size", before.history_max_bytes != after.history_max_bytes);
  // SIGHUP re-opens the GeoIP files in use; other paths need a restart.
  check("geoip-country", before.geoip_country != after.geoip_country);
  check("geoip-city", before.geoip_city != after.geoip_city);
  check("geoip-asn", before.geoip_asn != after.geoip_asn);
  check("no-geoip", before.no_geoip != after.no_geoip);
  check("resolve-dns", before.resolve_dns != after.resolve_dns);
  check("resolve-dns-rate", before.resolve_dns_rate != after.resolve_dns_rate);
  check("resolve-dns-server", before.resolve_dns_server != after.resolve_dns_server);
  check("show-ptr-lookups", before.show_ptr_lookups != after.show_ptr_lookups);
  check("metrics-listen", before.metrics_listen != after.metrics_listen);
  check("metrics-web-config", before.metrics_web_config != after.metrics_web_config);
  check("metrics-top-processes", before.metrics_top_processes != after.metrics_top_processes);
  check("pcap-export", before.pcap_export != after.pcap_export);
  check("pcap-export-size", before.pcap_export_bytes != after.pcap_export_bytes);
  check("pcap-export-count", before.pcap_export_count != after.pcap_export_count);
  check("log-dir", before.log_dir_set != after.log_dir_set ||
                       (after.log_dir_set && before.log_dir != after.log_dir));
  check("snapshot-interval-ms", before.snapshot_interval_ms != after.snapshot_interval_ms);
  check("socket", before.socket != after.socket);
  check("socket-group", before.socket_group_set != after.socket_group_set ||
                            before.socket_group != after.socket_group);
  check("listen", before.listen != after.listen);
  check("tls-cert", before.tls_cert != after.tls_cert);
  check("tls-key", before.tls_key != after.tls_key);
  check("tls-client-ca", before.tls_client_ca != after.tls_client_ca);
  check("insecure-listen", before.insecure_listen != after.insecure_listen);
  check("max-streams", before.max_streams != after.max_streams);
  return changed;
}

std::vector<std::string> ConfigOptionNames() {
  std::vector<std::string> names;
  for (const OptionSpec& o : kOptions) {
    if (o.in_file) names.emplace_back(o.name);
  }
  return names;
}

std::vector<std::string> CommandLineOnlyOptionNames() {
  std::vector<std::string> names;
  for (const OptionSpec& o : kOptions) {
    if (!o.in_file) names.emplace_back(o.name);
  }
  return names;
}

}  // namespace rustnet
