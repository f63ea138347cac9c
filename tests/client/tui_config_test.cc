// tui.conf: where it is, what it sets, one sentence per bad line, and the
// command line winning over it; the original rustnet's flags on the
// client's command line.
#include "client/tui_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "client/columns.h"
#include "client/options.h"
#include "client/view_model.h"

namespace rustnet::client {
namespace {

// Sets an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string ErrorOf(std::string_view text) {
  ClientOptions o;
  absl::Status s = ApplyTuiConfig(text, "/home/a/.config/rustnet/tui.conf", &o);
  REQUIRE_FALSE(s.ok());
  return std::string(s.message());
}

TEST_CASE("tui.conf: where it is", "[client][tuiconf]") {
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "/x/config");
    CHECK(DefaultTuiConfigPath() == "/x/config/rustnet/tui.conf");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", nullptr);
    ScopedEnv home("HOME", "/home/alice");
    CHECK(DefaultTuiConfigPath() == "/home/alice/.config/rustnet/tui.conf");
  }
  {
    // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    ScopedEnv xdg("XDG_CONFIG_HOME", "relative");
    ScopedEnv home("HOME", "/home/bob");
    CHECK(DefaultTuiConfigPath() == "/home/bob/.config/rustnet/tui.conf");
  }
}

TEST_CASE("tui.conf: every setting", "[client][tuiconf]") {
  ClientOptions o;
  REQUIRE(ApplyTuiConfig("# my settings\n"
                         "\n"
                         "  theme = Gruvbox   # warm\n"
                         "refresh-interval=500\n"
                         "tab = help\r\n"
                         "columns = remote, proto, Rate-In ,process\n"
                         "no-color = true\n"
                         "no-localhost = true\n",
                         "tui.conf", &o)
              .ok());
  CHECK(o.theme == "gruvbox");
  CHECK(o.refresh_ms == 500);
  CHECK(o.tab == Tab::kHelp);
  // The table's own order, whatever the file's.
  CHECK(o.columns ==
        std::vector<Column>{Column::kRemote, Column::kProtocol, Column::kRateIn, Column::kProcess});
  CHECK(o.no_color);
  CHECK(o.no_localhost);
  ClientOptions defaults;
  REQUIRE(ApplyTuiConfig("", "tui.conf", &defaults).ok());
  CHECK(defaults.theme.empty());
  CHECK(defaults.tab == Tab::kOverview);
  CHECK(defaults.columns.empty());
}

TEST_CASE("tui.conf: a bad line is one sentence with the file and line", "[client][tuiconf]") {
  const std::string f = "/home/a/.config/rustnet/tui.conf line ";
  CHECK(ErrorOf("theme = nord\ncolour = red\n") ==
        f + "2: unknown setting \"colour\" (settings are theme, refresh-interval, tab, columns, "
            "no-color and no-localhost)");
  CHECK(ErrorOf("theme = dark") ==
        f + "1: unknown theme \"dark\" (use classic, muted, vivid, catppuccin-mocha, "
            "tokyo-night, gruvbox, nord, light, colorblind)");
  CHECK(ErrorOf("\n\nrefresh-interval = 5") ==
        f + "3: refresh-interval expects milliseconds from 100 to 60000, got \"5\"");
  CHECK(ErrorOf("tab = graphs") ==
        f + "1: unknown tab \"graphs\" (use overview, details, activity, graph, interfaces, "
            "history or help)");
  CHECK(ErrorOf("columns = proto, ports") ==
        f + "1: unknown column \"ports\" (use proto, local, remote, state, service, application, "
            "rate-in, rate-out, process, location, rtt)");
  CHECK(ErrorOf("columns = ,") == f + "1: columns needs at least one of proto, local, remote, "
                                      "state, service, application, rate-in, rate-out, "
                                      "process, location, rtt");
  CHECK(ErrorOf("no-color = yes") == f + "1: no-color takes true or false, got \"yes\"");
  CHECK(ErrorOf("theme nord") == f + "1: expected name = value, got \"theme nord\"");
  CHECK(ErrorOf("= nord") == f + "1: a line starts with '='; expected name = value");
  CHECK(ErrorOf("theme =") == f + "1: theme needs a value");
  CHECK(ErrorOf("theme = nord\ntheme = light") ==
        f + "2: theme is already set on line 1; keep one of them");
}

TEST_CASE("tui.conf: read from disk, a missing file is no error", "[client][tuiconf]") {
  char dir[] = "/tmp/rntuiconf.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/tui.conf";
  ClientOptions o;
  CHECK(LoadTuiConfig(path, &o).ok());
  CHECK(LoadTuiConfig(std::string(dir) + "/no/such/dir/tui.conf", &o).ok());
  std::ofstream(path) << "theme = light\nrefresh-interval = 250\n";
  REQUIRE(LoadTuiConfig(path, &o).ok());
  CHECK(o.theme == "light");
  CHECK(o.refresh_ms == 250);
  // Too big to be a settings file.
  std::ofstream(path) << std::string(kMaxTuiConfigBytes + 1, '#');
  absl::Status big = LoadTuiConfig(path, &o);
  CHECK(big.message() == path + " is larger than 65536 bytes; a settings file is a few lines");
  std::remove(path.c_str());
  rmdir(dir);
}

TEST_CASE("tui.conf: the command line wins over it", "[client][tuiconf]") {
  ClientOptions base;
  REQUIRE(ApplyTuiConfig("theme = nord\nrefresh-interval = 300\nno-localhost = true\n"
                         "no-color = true\n",
                         "tui.conf", &base)
              .ok());
  auto kept = ParseClientOptions({}, base);
  REQUIRE(kept.ok());
  CHECK(kept->theme == "nord");
  CHECK(kept->refresh_ms == 300);
  CHECK(kept->no_localhost);
  auto over = ParseClientOptions({"--theme", "light", "-r", "2000", "--show-localhost"}, base);
  REQUIRE(over.ok());
  CHECK(over->theme == "light");
  CHECK(over->refresh_ms == 2000);
  CHECK_FALSE(over->no_localhost);
  CHECK(over->no_color);  // The file's; the command line has no --color.
}

TEST_CASE("options: the original's capture flags say where they go", "[client][options]") {
  const auto error = [](const std::vector<std::string>& args) {
    auto o = ParseClientOptions(args);
    REQUIRE_FALSE(o.ok());
    return std::string(o.status().message());
  };
  CHECK(error({"-i", "eth0"}) ==
        "-i eth0 is rustnetd's option (the capture interface): start rustnetd -i eth0 or set "
        "\"interface = eth0\" in /etc/rustnet/rustnetd.conf; to show only its connections here, "
        "use --filter iface:eth0");
  CHECK(error({"--interface=wlan0"}).starts_with("-i wlan0 is rustnetd's option"));
  CHECK(error({"-ieth1"}).starts_with("-i eth1 is rustnetd's option"));
  CHECK(error({"-f", "port 22"}) ==
        "--bpf-filter \"port 22\" is rustnetd's option (the capture filter): start rustnetd -f "
        "'port 22' or set bpf-filter in /etc/rustnet/rustnetd.conf; to filter what is shown "
        "here, use --filter (the / prompt's syntax)");
  CHECK(error({"--bpf-filter", "tcp"}).starts_with("--bpf-filter \"tcp\" is rustnetd's option"));
  CHECK(error({"--no-dpi"}) ==
        "--no-dpi is rustnetd's option: start rustnetd --no-dpi or set \"no-dpi = true\" in "
        "/etc/rustnet/rustnetd.conf");
  // The display flags are the client's.
  auto o = ParseClientOptions({"--show-localhost", "--filter", "sport:22 state:syn_recv /ssh/"});
  REQUIRE(o.ok());
  CHECK_FALSE(o->no_localhost);
  CHECK(o->filter == "sport:22 state:syn_recv /ssh/");
  // --filter is checked by the shared parser, the original's syntax too.
  CHECK(error({"--filter", "state:udp_idle"}).starts_with("--filter: bad filter"));
}

TEST_CASE("columns: tui.conf's columns choose which are laid out", "[client][tuiconf]") {
  const std::vector<Column> only = {Column::kProcess, Column::kProtocol, Column::kRemote};
  const auto placed = LayoutColumns(200, only);
  REQUIRE(placed.size() == 3);
  // Display order, not the list's.
  CHECK(placed[0].column == Column::kProtocol);
  CHECK(placed[1].column == Column::kRemote);
  CHECK(placed[2].column == Column::kProcess);
  // Narrow: the chosen ones by priority, still.
  const auto narrow = LayoutColumns(30, only);
  REQUIRE(narrow.size() == 2);
  CHECK(narrow[1].column == Column::kRemote);
  // Empty: all that fit, as before.
  CHECK(LayoutColumns(200, {}).size() == AllColumns().size());
}

TEST_CASE("view model: tui.conf's tab and columns", "[client][tuiconf]") {
  ViewModel::Options options;
  options.tab = Tab::kHelp;
  options.columns = {Column::kProtocol, Column::kState};
  ViewModel help(options);
  CHECK(help.tab() == Tab::kHelp);
  options.tab = Tab::kOverview;
  ViewModel vm(options);
  vm.Resize(120, 30);
  CHECK(vm.tab() == Tab::kOverview);
  // The header row names the chosen columns only.
  bool found = false;
  for (const Line& line : vm.Render(absl::Now())) {
    const std::string text = line.Text();
    if (text.find("Proto") != std::string::npos && text.find("State") != std::string::npos) {
      found = true;
      CHECK(text.find("Remote address") == std::string::npos);
      CHECK(text.find("Rate in") == std::string::npos);
    }
  }
  CHECK(found);
}

}  // namespace
}  // namespace rustnet::client
