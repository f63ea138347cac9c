// The grouped Overview's tree and the expiry thresholds.
#include "client/tabs/overview_model.h"

#include <catch2/catch.hpp>

#include "google/protobuf/util/time_util.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;
using google::protobuf::util::TimeUtil;

v1::Connection Conn(uint64_t id, const std::string& process, double rate_in = 0,
                    uint64_t bytes_in = 0, bool closed = false) {
  v1::Connection c;
  c.set_id(id);
  if (!process.empty()) {
    c.mutable_process()->set_name(process);
    c.mutable_process()->set_pid(static_cast<uint32_t>(100 + id));
  }
  c.set_rate_in(rate_in);
  c.mutable_received()->set_bytes(bytes_in);
  c.set_closed(closed);
  return c;
}

TEST_CASE("overview: expiry colours past 75 and 90 percent of the idle timeout",
          "[client][tabs][overview]") {
  constexpr int64_t kSnap = 1'700'000'000'000'000;
  v1::Connection c;
  *c.mutable_idle_timeout() = TimeUtil::SecondsToDuration(100);
  const auto idle = [&](int64_t seconds) {
    *c.mutable_last_seen() = TimeUtil::MicrosecondsToTimestamp(kSnap - seconds * 1'000'000);
    return ExpiryOf(c, kSnap);
  };
  CHECK(idle(0) == Expiry::kNone);
  CHECK(idle(75) == Expiry::kNone);  // Past 75 %, not at it.
  CHECK(idle(76) == Expiry::kWarn);
  CHECK(idle(90) == Expiry::kWarn);
  CHECK(idle(91) == Expiry::kCritical);
  CHECK(idle(500) == Expiry::kCritical);
  // Closed connections, no timeout, no snapshot: never coloured.
  c.set_closed(true);
  CHECK(idle(95) == Expiry::kNone);
  c.set_closed(false);
  CHECK(ExpiryOf(c, 0) == Expiry::kNone);
  c.clear_idle_timeout();
  CHECK(idle(95) == Expiry::kNone);
}

TEST_CASE("overview: the process tree groups, totals, expands and collapses",
          "[client][tabs][overview]") {
  std::vector<v1::Connection> rows = {
      Conn(1, "curl", 10, 100), Conn(2, "curl", 5, 50, true), Conn(3, "sshd", 1, 7),
      Conn(4, ""),              Conn(5, "curl", 0, 1),
  };
  v1::Connection user_only;
  user_only.set_id(6);
  user_only.mutable_process()->set_user("bob");
  rows.push_back(user_only);
  GroupTree tree;
  tree.Build(rows);
  const auto& groups = tree.groups();
  REQUIRE(groups.size() == 4);
  CHECK(groups[0].key == "curl");
  CHECK(groups[0].connections == 3);
  CHECK(groups[0].open == 2);
  CHECK(groups[0].rate_in == 15);
  CHECK(groups[0].bytes_in == 151);
  CHECK(groups[0].rows == std::vector<size_t>{0, 1, 4});
  CHECK(groups[1].key == "sshd");
  CHECK(groups[2].key == "user bob");
  CHECK(groups[3].key == "");  // No process: last.
  CHECK(groups[3].rows == std::vector<size_t>{3});
  // Collapsed at first: one line per group.
  CHECK(tree.entries().size() == 4);
  tree.Toggle("curl");
  REQUIRE(tree.entries().size() == 7);
  CHECK(tree.entries()[0].is_group);
  CHECK_FALSE(tree.entries()[1].is_group);
  CHECK(tree.entries()[3].row == 4);
  CHECK(tree.entries()[4].is_group);
  // Expansion survives a rebuild (the next refresh).
  rows.push_back(Conn(7, "curl"));
  tree.Build(rows);
  CHECK(tree.expanded("curl"));
  CHECK(tree.entries().size() == 8);
  tree.SetExpanded("curl", false);
  CHECK(tree.entries().size() == 4);
  tree.Build({});
  CHECK(tree.entries().empty());
}

TEST_CASE("overview: process group keys and close reasons", "[client][tabs][overview]") {
  v1::Connection c;
  CHECK(ProcessGroupKey(c).empty());
  c.mutable_remote_process()->set_name("postgres");
  CHECK(ProcessGroupKey(c) == "postgres");
  c.mutable_process()->set_name("psql");
  CHECK(ProcessGroupKey(c) == "psql");
  CHECK(CloseReasonName(v1::CLOSE_REASON_FIN) == "fin");
  CHECK(CloseReasonName(v1::CLOSE_REASON_RESET) == "reset");
  CHECK(CloseReasonName(v1::CLOSE_REASON_TIMEOUT) == "timeout");
  CHECK(CloseReasonName(v1::CLOSE_REASON_UNSPECIFIED) == "closed");
}

}  // namespace
}  // namespace rustnet::client
