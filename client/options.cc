#include "client/options.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/theme.h"
#include "common/filter.h"
#include "common/logging.h"

namespace rustnet::client {
namespace {

absl::Status Invalid(const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why, "; see rustnet-tui --help"));
}

}  // namespace

std::string ClientUsage() {
  return R"(Usage: rustnet-tui [OPTIONS]

Show the connections rustnetd tracks, live, in the terminal. Needs no
privileges: access to the daemon's socket is enough (group rustnet).

Daemon:
      --socket PATH          rustnetd's Unix socket
                             (default: /run/rustnet/rustnetd.sock)
      --connect HOST:PORT    A remote rustnetd (started with --listen), over TLS
      --tls-ca FILE          CA certificate (PEM) to check the daemon with
                             (default: the system's CAs)
      --tls-cert FILE        Client certificate (PEM), if the daemon asks for one
      --tls-key FILE         Its private key (PEM)
      --insecure             With --connect: plaintext TCP, for daemons started
                             with --insecure-listen (trusted networks only)

Display:
  -r, --refresh-interval MS  How often the table is refreshed (default: 1000)
      --no-localhost         Hide connections between loopback addresses
      --show-localhost       Show them (the default; overrides tui.conf)
      --filter EXPR          Start with this filter (the / prompt's syntax,
                             the original rustnet's too: sport:, dst:,
                             state:syn_recv, /regex/)
      --theme NAME           Colours: classic (default), muted, vivid,
                             catppuccin-mocha, tokyo-night, gruvbox, nord,
                             light (light backgrounds), colorblind
      --no-color             No colours at all (as the NO_COLOR variable)

Settings: $XDG_CONFIG_HOME/rustnet/tui.conf (~/.config/rustnet/tui.conf):
"theme = nord", "refresh-interval = 500", "tab = overview", "columns =
proto, local, remote, state, rate-in, rate-out", "no-color = true",
"no-localhost = true"; the command line wins.

Capture (the original rustnet's -i, -f/--bpf-filter and --no-dpi) is
rustnetd's business: give them to it (rustnetd(8), rustnetd.conf).

Logging (to a file, never to the screen):
  -l, --log-level LEVEL      error, warn, info (default), debug or trace
      --log-dir DIR          Where rustnet-tui_YYYY-MM-DD_HH-MM-SS.log files go
                             (default: $XDG_STATE_HOME/rustnet, or
                             ~/.local/state/rustnet)

  -h, --help                 Show this help and exit
  -V, --version              Show the version and exit

Keys: q q quit, Ctrl+C quit at once, Tab tabs, arrows or j/k move, Enter
details, Esc back, / filter, s/S sort, c copy the remote address, h help.
)";
}

std::string DefaultLogDir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    return absl::StrCat(state, "/rustnet");
  }
  std::string home;
  if (const char* h = std::getenv("HOME"); h != nullptr && h[0] != '\0') {
    home = h;
  } else {
    passwd entry{};
    passwd* found = nullptr;
    char buffer[4096];
    if (getpwuid_r(getuid(), &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
      home = found->pw_dir;
    }
  }
  if (home.empty()) home = "/tmp";
  return absl::StrCat(home, "/.local/state/rustnet");
}

// The original rustnet's capture flags, which rustnetd takes: a sentence
// saying where they go instead.
absl::Status DaemonsFlag(const std::string& flag, const std::string& value) {
  if (flag == "--interface") {
    return absl::InvalidArgumentError(absl::StrCat(
        "-i ", value, " is rustnetd's option (the capture interface): start rustnetd -i ",
        value, " or set \"interface = ", value,
        "\" in /etc/rustnet/rustnetd.conf; to show only its connections here, use --filter "
        "iface:",
        value));
  }
  if (flag == "--no-dpi") {
    return absl::InvalidArgumentError(
        "--no-dpi is rustnetd's option: start rustnetd --no-dpi or set \"no-dpi = true\" in "
        "/etc/rustnet/rustnetd.conf");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag, " \"", value,
      "\" is rustnetd's option (the capture filter): start rustnetd -f '", value,
      "' or set bpf-filter in /etc/rustnet/rustnetd.conf; to filter what is shown here, use "
      "--filter (the / prompt's syntax)"));
}

absl::StatusOr<ClientOptions> ParseClientOptions(const std::vector<std::string>& args,
                                                 ClientOptions base) {
  ClientOptions o = std::move(base);
  bool show_localhost = false;
  bool socket_set = false;
  using Setter = std::function<absl::Status(const std::string& flag, const std::string& value)>;
  const auto text = [](std::string* out) -> Setter {
    return [out](const std::string& flag, const std::string& v) {
      if (v.empty()) return Invalid(flag, "needs a non-empty value");
      *out = v;
      return absl::OkStatus();
    };
  };
  const std::map<std::string, Setter, std::less<>> with_value = {
      {"--socket",
       [&](const std::string& f, const std::string& v) {
         socket_set = true;
         return text(&o.target.socket_path)(f, v);
       }},
      {"--connect",
       [&](const std::string& f, const std::string& v) {
         const size_t colon = v.rfind(':');
         uint32_t port = 0;
         if (colon == std::string::npos || colon == 0 ||
             !absl::SimpleAtoi(v.substr(colon + 1), &port) || port == 0 || port > 65535) {
           return Invalid(f, absl::StrCat("expected HOST:PORT, got \"", v, "\""));
         }
         o.target.connect = v;
         return absl::OkStatus();
       }},
      {"--tls-ca", text(&o.target.tls_ca)},
      {"--tls-cert", text(&o.target.tls_cert)},
      {"--tls-key", text(&o.target.tls_key)},
      {"--refresh-interval",
       [&](const std::string& f, const std::string& v) {
         int ms = 0;
         if (!absl::SimpleAtoi(v, &ms) || ms < 100 || ms > 60'000) {
           return Invalid(f,
                          absl::StrCat("expected milliseconds from 100 to 60000, got \"", v, "\""));
         }
         o.refresh_ms = ms;
         return absl::OkStatus();
       }},
      {"--filter",
       [&](const std::string& f, const std::string& v) {
         auto parsed = ParseFilter(v);
         if (!parsed.ok()) {
           return Invalid(
               f, absl::StrCat("bad filter \"", v, "\": ", std::string(parsed.status().message())));
         }
         o.filter = v;
         return absl::OkStatus();
       }},
      {"--log-level",
       [&](const std::string& f, const std::string& v) {
         auto level = ParseLogLevel(v);
         if (!level) {
           return Invalid(f, absl::StrCat("unknown level \"", v,
                                          "\" (use error, warn, info, debug or trace)"));
         }
         o.log_level = *level;
         return absl::OkStatus();
       }},
      {"--log-dir", text(&o.log_dir)},
      {"--theme",
       [&](const std::string& f, const std::string& v) {
         auto theme = ThemeByName(v);
         if (!theme.ok()) return Invalid(f, std::string(theme.status().message()));
         o.theme = theme->name();
         return absl::OkStatus();
       }},
      {"--interface", [](const std::string& f, const std::string& v) { return DaemonsFlag(f, v); }},
      {"--bpf-filter", [](const std::string& f, const std::string& v) { return DaemonsFlag(f, v); }},
      {"--bpf", [](const std::string& f, const std::string& v) { return DaemonsFlag(f, v); }},
  };
  const std::map<std::string, bool*, std::less<>> switches = {
      {"--no-localhost", &o.no_localhost},
      {"--show-localhost", &show_localhost},
      {"--no-color", &o.no_color},
      {"--insecure", &o.target.insecure},
      {"--help", &o.help},
      {"--version", &o.version},
  };
  const std::map<char, std::string> short_names = {
      {'r', "--refresh-interval"}, {'l', "--log-level"}, {'h', "--help"}, {'V', "--version"},
      {'i', "--interface"},        {'f', "--bpf-filter"}};

  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_inline_value = false;
    if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
      auto it = short_names.find(arg[1]);
      if (it == short_names.end()) return Invalid(arg, "unknown option");
      if (arg.size() > 2) {  // -r500
        if (!with_value.contains(it->second)) return Invalid(arg, "unknown option");
        value = arg.substr(2);
        has_inline_value = true;
      }
      arg = it->second;
    } else if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        has_inline_value = true;
        arg = arg.substr(0, eq);
      }
    } else {
      return Invalid(arg, "unexpected argument (options start with - or --)");
    }

    if (arg == "--no-dpi") return DaemonsFlag(arg, "");
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
  if (o.help || o.version) return o;
  if (show_localhost) o.no_localhost = false;

  const RpcTarget& t = o.target;
  if (!t.connect.empty() && socket_set) {
    return Invalid("--connect", "use either --socket or --connect, not both");
  }
  const bool any_tls = !t.tls_ca.empty() || !t.tls_cert.empty() || !t.tls_key.empty();
  if (t.connect.empty() && (any_tls || t.insecure)) {
    return Invalid(any_tls ? "--tls-*" : "--insecure",
                   "only applies to a remote daemon (--connect HOST:PORT)");
  }
  if (t.insecure && any_tls) return Invalid("--insecure", "plaintext excludes --tls-* options");
  if (t.tls_cert.empty() != t.tls_key.empty()) {
    return Invalid(t.tls_cert.empty() ? "--tls-key" : "--tls-cert",
                   "--tls-cert and --tls-key go together");
  }
  return o;
}

}  // namespace rustnet::client
