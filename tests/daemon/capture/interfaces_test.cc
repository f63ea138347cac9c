// ReadInterfaceCounters: the kernel's per-interface counters from a fake
// sysfs tree, and the names and file contents it must refuse.
#include "daemon/capture/interfaces.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace rustnet {
namespace {

class FakeSysfs {
 public:
  FakeSysfs() {
    char tmpl[] = "/tmp/rn_sysfs.XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~FakeSysfs() { std::system(("rm -rf '" + root_ + "'").c_str()); }
  const std::string& root() const { return root_; }
  // Writes every counter of `name` as `base + i`, i the file's position.
  void Add(const std::string& name, uint64_t base) {
    const std::string dir = root_ + "/" + name;
    mkdir(dir.c_str(), 0700);
    mkdir((dir + "/statistics").c_str(), 0700);
    uint64_t i = 0;
    for (const char* f : {"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors",
                          "tx_errors", "rx_dropped", "tx_dropped"}) {
      Write(name, f, std::to_string(base + i++) + "\n");
    }
  }
  void Write(const std::string& name, const std::string& file, const std::string& text) {
    std::ofstream(root_ + "/" + name + "/statistics/" + file) << text;
  }

 private:
  std::string root_;
};

TEST_CASE("interface_counters_read_from_sysfs", "[capture]") {
  FakeSysfs fs;
  fs.Add("eth0", 100);
  const auto c = ReadInterfaceCounters("eth0", fs.root());
  REQUIRE(c.has_value());
  CHECK(c->rx_bytes == 100);
  CHECK(c->tx_bytes == 101);
  CHECK(c->rx_packets == 102);
  CHECK(c->tx_packets == 103);
  CHECK(c->rx_errors == 104);
  CHECK(c->tx_errors == 105);
  CHECK(c->rx_dropped == 106);
  CHECK(c->tx_dropped == 107);
}

TEST_CASE("interface_counters_refuse_bad_names_and_contents", "[capture]") {
  FakeSysfs fs;
  fs.Add("eth0", 1);
  CHECK_FALSE(ReadInterfaceCounters("", fs.root()).has_value());
  CHECK_FALSE(ReadInterfaceCounters("..", fs.root()).has_value());
  CHECK_FALSE(ReadInterfaceCounters("../eth0", fs.root()).has_value());
  CHECK_FALSE(ReadInterfaceCounters("a-name-too-long-x", fs.root()).has_value());
  CHECK_FALSE(ReadInterfaceCounters("nosuch", fs.root()).has_value());
  fs.Write("eth0", "rx_errors", "12x\n");
  CHECK_FALSE(ReadInterfaceCounters("eth0", fs.root()).has_value());
  fs.Write("eth0", "rx_errors", "99999999999999999999999\n");  // Past 2^64.
  CHECK_FALSE(ReadInterfaceCounters("eth0", fs.root()).has_value());
  fs.Write("eth0", "rx_errors", std::string(100, '7'));  // Longer than one bounded read.
  CHECK_FALSE(ReadInterfaceCounters("eth0", fs.root()).has_value());
  fs.Write("eth0", "rx_errors", "42\n");
  REQUIRE(ReadInterfaceCounters("eth0", fs.root()).has_value());
  CHECK(ReadInterfaceCounters("eth0", fs.root())->rx_errors == 42);
}

TEST_CASE("interface_counters_of_loopback", "[capture]") {
  // The real sysfs: every network namespace has lo.
  REQUIRE(ReadInterfaceCounters("lo").has_value());
}

}  // namespace
}  // namespace rustnet
