#include "daemon/config.h"
#include "tests/test_util.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace rustnet {
namespace {

const std::string kMissing = "/nonexistent/rustnetd.conf";

TEST_CASE("config name = value lines, comments, quotes and switches") {
  auto file = ParseConfig(
      "# rustnetd.conf\n"
      "\n"
      "  interface = eth0  \n"
      "bpf = tcp port 443   # only HTTPS\n"
      "log-dir = \"/var/log/rust net\"  # quoted: spaces kept\n"
      "no-localhost = true\n"
      "no-dpi = false\r\n"
      "socket-group=\"a \\\"b\\\" \\\\ #c\"\n",
      "test.conf");
  REQUIRE(file.ok());
  REQUIRE(file->entries.size() == 6);
  CHECK(file->entries[0].name == "interface");
  CHECK(file->entries[0].value == "eth0");
  CHECK(file->entries[0].line == 3);
  CHECK(file->entries[1].value == "tcp port 443");
  CHECK(file->entries[2].value == "/var/log/rust net");
  CHECK(file->entries[3].value == "true");
  CHECK(file->entries[4].value == "false");
  CHECK(file->entries[5].value == "a \"b\" \\ #c");

  const auto args = ConfigArgs(*file, {});
  CHECK(args == std::vector<std::string>{"--interface=eth0", "--bpf=tcp port 443",
                                         "--log-dir=/var/log/rust net", "--no-localhost",
                                         "--socket-group=a \"b\" \\ #c"});
}

TEST_CASE("config a '#' inside a bare value is kept unless a space precedes it") {
  auto file = ParseConfig("tls-cert = /etc/ssl/a#b.pem\n", "t");
  REQUIRE(file.ok());
  CHECK(file->entries[0].value == "/etc/ssl/a#b.pem");
}

TEST_CASE("config mistakes name the file and line") {
  struct Case {
    std::string text;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"# ok\ninterfce = eth0\n", {"t.conf line 2", "unknown option \"interfce\"", "interface"}},
      {"interface eth0\n", {"t.conf line 1", "expected name = value"}},
      {"= eth0\n", {"t.conf line 1", "expected name = value"}},
      {"--interface = eth0\n", {"line 1", "without the dashes", "interface = ..."}},
      {"no-dpi = yes\n", {"line 1", "no-dpi takes true or false", "yes"}},
      {"threads =\n", {"line 1", "threads needs a value"}},
      {"threads = # none\n", {"line 1", "threads needs a value"}},
      {"bpf = \"tcp\n", {"line 1", "no closing quote"}},
      {"bpf = \"tcp\" port\n", {"line 1", "after the closing quote"}},
      {"threads = 2\n\nthreads = 3\n", {"line 3", "already set on line 1"}},
      {"dump = json\n", {"line 1", "only works on the command line"}},
      {"config = /x\n", {"line 1", "only works on the command line"}},
      {"help = true\n", {"line 1", "only works on the command line"}},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto file = ParseConfig(c.text, "t.conf");
    REQUIRE_FALSE(file.ok());
    const std::string message(file.status().message());
    INFO(message);
    for (const std::string& w : c.words) CHECK(message.find(w) != std::string::npos);
  }
}

TEST_CASE("config an empty quoted value is allowed") {
  auto file = ParseConfig("bpf = \"\"\n", "t");
  REQUIRE(file.ok());
  CHECK(file->entries[0].value.empty());
  CHECK(ConfigArgs(*file, {}) == std::vector<std::string>{"--bpf="});
}

TEST_CASE("config the command line wins") {
  testing::TempFile conf("threads = 2\nlog-level = debug\nbpf = udp\nno-localhost = true\n");
  auto o = LoadDaemonOptions({"--threads", "3", "-f", "tcp"}, conf.path());
  REQUIRE(o.ok());
  CHECK(o->threads == 3);
  CHECK(o->bpf == "tcp");
  CHECK(o->log_level == spdlog::level::debug);
  CHECK(o->no_localhost);
}

TEST_CASE("config exclusive pairs: the command line's choice drops the file's other") {
  testing::TempFile conf("interface = eth0\ninsecure-listen = 127.0.0.1:0\n");
  auto o = LoadDaemonOptions(
      {"--read", "x.pcap", "--listen=127.0.0.1:1", "--tls-cert", "c", "--tls-key", "k"},
      conf.path());
  REQUIRE(o.ok());
  CHECK(o->read_file == "x.pcap");
  CHECK(o->interface.empty());
  CHECK(o->insecure_listen.empty());
  auto live = LoadDaemonOptions({"-ieth1"}, conf.path());
  REQUIRE(live.ok());
  CHECK(live->interface == "eth1");
  CHECK(live->insecure_listen == "127.0.0.1:0");
  // The service's capture fan-out in the file, a file read on the command
  // line: one capture thread, no refusal.
  testing::TempFile fanout("interface = eth0\ncapture-threads = 2\n");
  auto file = LoadDaemonOptions({"--read", "x.pcap"}, fanout.path());
  REQUIRE(file.ok());
  CHECK(file->capture_threads == 1);
  auto served = LoadDaemonOptions({}, fanout.path());
  REQUIRE(served.ok());
  CHECK(served->capture_threads == 2);
}

TEST_CASE("config a missing default file is no error; no file, no change") {
  auto o = LoadDaemonOptions({"-i", "lo"}, kMissing);
  REQUIRE(o.ok());
  CHECK(o->interface == "lo");
}

TEST_CASE("config a bad value in the file names the file and line") {
  testing::TempFile conf("# x\nthreads = lots\n");
  auto o = LoadDaemonOptions({}, conf.path());
  REQUIRE_FALSE(o.ok());
  const std::string message(o.status().message());
  INFO(message);
  CHECK(message.rfind(conf.path() + " line 2: --threads:", 0) == 0);
  // The same mistake on the command line is the command line's.
  auto cli = LoadDaemonOptions({"--threads", "lots"}, conf.path());
  REQUIRE_FALSE(cli.ok());
  CHECK(std::string(cli.status().message()).rfind("--threads:", 0) == 0);
}

TEST_CASE("config a broken file does not hide --help or --version") {
  testing::TempFile conf("what is this\n");
  CHECK(LoadDaemonOptions({"--help"}, conf.path()).ok());
  CHECK(LoadDaemonOptions({"-V"}, conf.path()).ok());
  CHECK_FALSE(LoadDaemonOptions({}, conf.path()).ok());
}

TEST_CASE("config --config chooses the file, the last one wins") {
  CHECK_FALSE(ChooseConfigFile({}, "/d").explicit_path);
  CHECK(ChooseConfigFile({}, "/d").path == "/d");
  auto c = ChooseConfigFile({"--config", "/a", "-i", "lo", "--config=/b"}, "/d");
  CHECK(c.explicit_path);
  CHECK(c.path == "/b");
  // A value that looks like --config is a value.
  CHECK_FALSE(ChooseConfigFile({"--bpf", "--config"}, "/d").explicit_path);
}

TEST_CASE("config /dev/null is an empty file; a directory is refused") {
  auto empty = LoadDaemonOptions({"--threads=2"}, "/dev/null");
  REQUIRE(empty.ok());
  CHECK(empty->threads == 2);
  auto dir = ReadConfigFile("/tmp");
  REQUIRE_FALSE(dir.ok());
  CHECK(std::string(dir.status().message()).find("is a directory") != std::string::npos);
}

TEST_CASE("config an explicit file that is missing is an error") {
  auto o = LoadDaemonOptions({"--config", kMissing}, "/d");
  REQUIRE_FALSE(o.ok());
  const std::string message(o.status().message());
  CHECK(message.find("cannot read configuration file /nonexistent/rustnetd.conf") !=
        std::string::npos);
  CHECK(message.find("--config") != std::string::npos);
}

TEST_CASE("config every file option is a rustnetd option and every option has a place") {
  // Each file name is accepted by the command-line parser...
  for (const std::string& name : ConfigOptionNames()) {
    INFO(name);
    auto o = ParseDaemonOptions({"--" + name + "=1"});
    if (!o.ok()) {
      CHECK(std::string(o.status().message()).find("unknown option") == std::string::npos);
    }
  }
  // ... and each option --help documents is either allowed in the file or
  // listed as command-line only (a new option must be added to config.cc).
  std::set<std::string> known;
  for (const auto& n : ConfigOptionNames()) known.insert(n);
  for (const auto& n : CommandLineOnlyOptionNames()) known.insert(n);
  const std::string usage = DaemonUsage();
  const std::regex long_option(R"((^|[\s,])--([a-z][a-z0-9-]+))");
  int documented = 0;
  for (auto it = std::sregex_iterator(usage.begin(), usage.end(), long_option);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2];
    INFO("--" << name << " is in rustnetd --help but not in daemon/config.cc's kOptions");
    CHECK(known.contains(name));
    ++documented;
  }
  CHECK(documented > 15);
}

TEST_CASE("config the installed example names only real options") {
  // packaging/rustnetd.conf: every option commented out with its default.
  const std::string path = std::string(RUSTNET_FIXTURES_DIR) + "/../../packaging/rustnetd.conf";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string text;
  std::string uncommented;
  for (std::string line; std::getline(in, line);) {
    text += line + "\n";
    // "#name = value" lines are examples; "# prose" lines stay comments.
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ') line.erase(0, 1);
    uncommented += line + "\n";
  }
  auto as_shipped = ParseConfig(text, path);
  REQUIRE(as_shipped.ok());
  CHECK(as_shipped->entries.empty());
  auto all = ParseConfig(uncommented, path);
  INFO(all.status().message());
  REQUIRE(all.ok());
  std::set<std::string> names;
  for (const ConfigEntry& e : all->entries) names.insert(e.name);
  // Every option the file may hold is shown.
  for (const std::string& name : ConfigOptionNames()) {
    INFO(name << " is not in packaging/rustnetd.conf");
    CHECK((names.contains(name) || name == "snapshot-interval-ms"));
  }
}

TEST_CASE("config which changes need a restart") {
  DaemonOptions a;
  DaemonOptions b = a;
  b.log_level = spdlog::level::debug;
  b.stats_interval_s = 3;
  CHECK(OptionsNeedingRestart(a, b).empty());
  b.interface = "eth9";
  b.threads = a.threads + 1;
  CHECK(OptionsNeedingRestart(a, b) == std::vector<std::string>{"interface", "threads"});
}

}  // namespace
}  // namespace rustnet
