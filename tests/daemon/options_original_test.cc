// rustnetd accepts the original rustnet's capture flags by their names:
// -f/--bpf-filter (the same as --bpf, also in the configuration file) and
// --show-localhost (which overrides the file's no-localhost).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/options.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

TEST_CASE("options original: -f, --bpf-filter and --bpf set the capture filter") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-f", "tcp port 443"},
        std::vector<std::string>{"--bpf-filter", "tcp port 443"},
        std::vector<std::string>{"--bpf-filter=tcp port 443"},
        std::vector<std::string>{"--bpf", "tcp port 443"}, std::vector<std::string>{"-ftcp port 443"}}) {
    auto o = ParseDaemonOptions(args);
    INFO(args[0]);
    REQUIRE(o.ok());
    CHECK(o->bpf == "tcp port 443");
  }
  auto missing = ParseDaemonOptions({"--bpf-filter"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "--bpf-filter: needs a value; see rustnetd --help");
}

TEST_CASE("options original: bpf-filter in the configuration file, the command line wins") {
  testing::TempFile conf("bpf-filter = not port 22\n");
  auto o = LoadDaemonOptions({"--config", conf.path()});
  REQUIRE(o.ok());
  CHECK(o->bpf == "not port 22");
  o = LoadDaemonOptions({"--config", conf.path(), "-f", "udp"});
  REQUIRE(o.ok());
  CHECK(o->bpf == "udp");
}

TEST_CASE("options original: --show-localhost overrides the file's no-localhost") {
  testing::TempFile conf("no-localhost = true\n");
  auto o = LoadDaemonOptions({"--config", conf.path()});
  REQUIRE(o.ok());
  CHECK(o->no_localhost);
  o = LoadDaemonOptions({"--config", conf.path(), "--show-localhost"});
  REQUIRE(o.ok());
  CHECK_FALSE(o->no_localhost);
  // On its own it changes nothing: loopback is tracked by default.
  o = LoadDaemonOptions({"--show-localhost"}, "/nonexistent/rustnetd.conf");
  REQUIRE(o.ok());
  CHECK_FALSE(o->no_localhost);
  // It is a command-line override, not a setting of the file.
  testing::TempFile in_file("show-localhost = true\n");
  auto refused = LoadDaemonOptions({"--config", in_file.path()});
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string(refused.status().message()).find("line 1: \"show-localhost\" only works on "
                                                     "the command line") != std::string::npos);
}

}  // namespace
}  // namespace rustnet
