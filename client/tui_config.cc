#include "client/tui_config.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/theme.h"

namespace rustnet::client {
namespace {

struct ColumnName {
  std::string_view name;
  Column column;
};

// The first name of each column is the one documented.
constexpr ColumnName kColumnNames[] = {
    {"proto", Column::kProtocol},     {"protocol", Column::kProtocol},
    {"local", Column::kLocal},        {"local-address", Column::kLocal},
    {"remote", Column::kRemote},      {"remote-address", Column::kRemote},
    {"state", Column::kState},        {"service", Column::kService},
    {"application", Column::kApplication}, {"app", Column::kApplication},
    {"rate-in", Column::kRateIn},     {"rate-out", Column::kRateOut},
    {"process", Column::kProcess},    {"location", Column::kLocation},
    {"rtt", Column::kRtt},
};

constexpr std::string_view kSettings =
    "theme, refresh-interval, tab, columns, no-color and no-localhost";

std::string HomeDir() {
  if (const char* h = std::getenv("HOME"); h != nullptr && h[0] != '\0') return h;
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(getuid(), &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return found->pw_dir;
  }
  return "";
}

absl::StatusOr<bool> ParseSwitch(std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat("takes true or false, got \"",
                                                 std::string(value), "\""));
}

// One setting; errors are the part of the sentence after "PATH line N: ".
absl::Status Apply(std::string_view name, std::string_view value, ClientOptions* o) {
  const std::string n(name);
  const std::string v(value);
  if (n == "theme") {
    auto theme = ThemeByName(v);
    if (!theme.ok()) return theme.status();
    o->theme = theme->name();
  } else if (n == "refresh-interval") {
    int ms = 0;
    if (!absl::SimpleAtoi(v, &ms) || ms < 100 || ms > 60'000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refresh-interval expects milliseconds from 100 to 60000, got \"", v, "\""));
    }
    o->refresh_ms = ms;
  } else if (n == "tab") {
    auto tab = TabByName(absl::AsciiStrToLower(v));
    if (!tab) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown tab \"", v,
                       "\" (use overview, details, activity, graph, interfaces, history or help)"));
    }
    o->tab = *tab;
  } else if (n == "columns") {
    auto columns = ParseColumnList(v);
    if (!columns.ok()) return columns.status();
    o->columns = *std::move(columns);
  } else if (n == "no-color" || n == "no-localhost") {
    auto on = ParseSwitch(v);
    if (!on.ok()) return absl::InvalidArgumentError(absl::StrCat(n, " ", on.status().message()));
    (n == "no-color" ? o->no_color : o->no_localhost) = *on;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown setting \"", n, "\" (settings are ",
                                                   std::string(kSettings), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultTuiConfigPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    return absl::StrCat(xdg, "/rustnet/tui.conf");
  }
  const std::string home = HomeDir();
  return absl::StrCat(home.empty() ? "/nonexistent" : home, "/.config/rustnet/tui.conf");
}

std::optional<Tab> TabByName(std::string_view name) {
  if (name == "overview") return Tab::kOverview;
  if (name == "details") return Tab::kDetails;
  if (name == "activity") return Tab::kActivity;
  if (name == "graph") return Tab::kGraph;
  if (name == "interfaces") return Tab::kInterfaces;
  if (name == "history") return Tab::kHistory;
  if (name == "help") return Tab::kHelp;
  return std::nullopt;
}

std::vector<std::string> ColumnNames() {
  std::vector<std::string> names;
  Column last = Column::kLocation;
  bool first = true;
  for (const ColumnName& c : kColumnNames) {
    if (!first && c.column == last) continue;  // An alias.
    names.emplace_back(c.name);
    last = c.column;
    first = false;
  }
  return names;
}

absl::StatusOr<std::vector<Column>> ParseColumnList(std::string_view text) {
  std::vector<Column> out;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part));
    if (name.empty()) continue;
    const ColumnName* found = nullptr;
    for (const ColumnName& c : kColumnNames) {
      if (c.name == name) found = &c;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown column \"", name, "\" (use ",
                                                     absl::StrJoin(ColumnNames(), ", "), ")"));
    }
    bool seen = false;
    for (Column c : out) seen = seen || c == found->column;
    if (!seen) out.push_back(found->column);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("columns needs at least one of ", absl::StrJoin(ColumnNames(), ", ")));
  }
  return out;
}

absl::Status ApplyTuiConfig(std::string_view text, std::string_view path, ClientOptions* o) {
  const std::string where(path);
  int line_no = 0;
  std::map<std::string, int> seen;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    const auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " line ", line_no, ": ", std::string(why)));
    };
    absl::string_view s = absl::StripAsciiWhitespace(line);
    // A comment starts a line, or follows white space.
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '#' && (i == 0 || absl::ascii_isspace(static_cast<unsigned char>(s[i - 1])))) {
        s = absl::StripAsciiWhitespace(s.substr(0, i));
        break;
      }
    }
    if (s.empty()) continue;
    const size_t eq = s.find('=');
    if (eq == absl::string_view::npos) {
      return fail(absl::StrCat("expected name = value, got \"", std::string(s), "\""));
    }
    const std::string name(absl::StripAsciiWhitespace(s.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(s.substr(eq + 1)));
    if (name.empty()) return fail("a line starts with '='; expected name = value");
    if (value.empty()) return fail(absl::StrCat(name, " needs a value"));
    if (auto it = seen.find(name); it != seen.end()) {
      return fail(absl::StrCat(name, " is already set on line ", it->second, "; keep one of them"));
    }
    seen[name] = line_no;
    if (absl::Status st = Apply(name, value, o); !st.ok()) return fail(st.message());
  }
  return absl::OkStatus();
}

absl::Status LoadTuiConfig(const std::string& path, ClientOptions* o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": ",
                                                   std::strerror(errno),
                                                   "; fix its permissions or remove it"));
  }
  std::string text(kMaxTuiConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTuiConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is larger than ", kMaxTuiConfigBytes,
                                                   " bytes; a settings file is a few lines"));
  }
  return ApplyTuiConfig(text, path, o);
}

}  // namespace rustnet::client
