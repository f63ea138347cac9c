#include "daemon/options.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace rustnet {
namespace {

absl::StatusOr<DaemonOptions> Parse(std::vector<std::string> args) {
  return ParseDaemonOptions(args);
}

TEST_CASE("options defaults") {
  auto o = Parse({});
  REQUIRE(o.ok());
  CHECK(o->interface.empty());
  CHECK(o->max_connections == 1'000'000);
  CHECK(o->threads == DefaultThreads());
  CHECK(o->threads >= 1);
  CHECK(o->threads <= 4);
  CHECK(o->log_level == spdlog::level::info);
  CHECK(o->log_dir == "logs");
}

TEST_CASE("options short, long and inline forms") {
  auto o = Parse({"-i", "eth0", "--bpf=tcp port 443", "-t3", "--log-level", "debug",
                  "--no-localhost", "--no-dpi", "--max-connections", "5000"});
  REQUIRE(o.ok());
  CHECK(o->interface == "eth0");
  CHECK(o->bpf == "tcp port 443");
  CHECK(o->threads == 3);
  CHECK(o->log_level == spdlog::level::debug);
  CHECK(o->no_localhost);
  CHECK(o->no_dpi);
  CHECK(o->max_connections == 5000);
}

TEST_CASE("options read with dump json") {
  auto o = Parse({"--read", "x.pcap", "--dump", "json"});
  REQUIRE(o.ok());
  CHECK(o->read_file == "x.pcap");
  CHECK(o->dump == "json");
}

TEST_CASE("options mistakes are one sentence naming the flag") {
  const std::vector<std::vector<std::string>> bad = {
      {"--bogus"},          {"-z"},
      {"--threads", "abc"}, {"--threads", "0"},
      {"--dump", "xml", "--read", "f"}, {"--dump", "json"},
      {"-i"},               {"--log-level", "loud"},
      {"--read", "f", "-i", "eth0"},   {"--no-dpi=yes"},
      {"stray"},
  };
  for (const auto& args : bad) {
    auto o = Parse(args);
    INFO(args[0]);
    REQUIRE_FALSE(o.ok());
    const std::string msg(o.status().message());
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.find("--help") != std::string::npos);
  }
}

}  // namespace
}  // namespace rustnet
