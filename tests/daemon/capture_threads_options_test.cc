// --capture-threads (capture fan-out): its default, its range, and the one
// sentence for each combination it does not work with.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "daemon/options.h"

namespace rustnet {
namespace {

TEST_CASE("capture_threads: default is min(workers, cores / 2), at least 1", "[fanout]") {
  CHECK(DefaultCaptureThreads(2, 2) == 1);
  CHECK(DefaultCaptureThreads(4, 1) == 1);
  CHECK(DefaultCaptureThreads(4, 8) == 4);
  CHECK(DefaultCaptureThreads(4, 6) == 3);
  CHECK(DefaultCaptureThreads(2, 16) == 2);
  CHECK(DefaultCaptureThreads(1, 16) == 1);
  auto o = ParseDaemonOptions({});
  REQUIRE(o.ok());
  CHECK(o->capture_threads >= 1);
  CHECK(o->capture_threads <= o->threads);
}

TEST_CASE("capture_threads: set, and 1 for files and the pcap export", "[fanout]") {
  auto o = ParseDaemonOptions({"-i", "eth0", "--capture-threads", "3"});
  REQUIRE(o.ok());
  CHECK(o->capture_threads == 3);
  auto file = ParseDaemonOptions({"--read", "f.pcap", "-t", "4"});
  REQUIRE(file.ok());
  CHECK(file->capture_threads == 1);
  auto one = ParseDaemonOptions({"--read", "f.pcap", "--capture-threads", "1"});
  REQUIRE(one.ok());
  CHECK(one->capture_threads == 1);
  auto exported = ParseDaemonOptions({"--pcap-export", "/tmp/x.pcapng", "-t", "4"});
  REQUIRE(exported.ok());
  CHECK(exported->capture_threads == 1);
}

TEST_CASE("capture_threads: mistakes get one sentence", "[fanout]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--capture-threads", "0"},
       "--capture-threads: expected a whole number from 1 to 64, got \"0\""},
      {{"--read", "f.pcap", "--capture-threads", "2"},
       "--capture-threads: is for live interfaces only (a file is read by one thread); leave "
       "it out with --read"},
      {{"--pcap-export", "x.pcapng", "--capture-threads", "2"},
       "--capture-threads: cannot be combined with --pcap-export (its frames are numbered by "
       "one capture thread); leave it out or set it to 1"},
  };
  for (const auto& [args, message] : cases) {
    auto o = ParseDaemonOptions(args);
    REQUIRE_FALSE(o.ok());
    const std::string got(o.status().message());
    INFO(got);
    CHECK(got.rfind(message, 0) == 0);  // (Then the pointer to --help.)
    CHECK(got.find('\n') == std::string::npos);
  }
}

}  // namespace
}  // namespace rustnet
