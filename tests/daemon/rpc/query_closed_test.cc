// Connection queries with include_closed: live snapshots and the closed
// connections' history filtered, sorted and paged as one list, closed rows
// marked, a connection in both returned once (live).
#include <arpa/inet.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "daemon/rpc/query.h"
#include "daemon/snapshot/closed_history.h"
#include "rustnet/v1/connection.pb.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;
using Snapshots = std::vector<std::shared_ptr<const WorkerSnapshot>>;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kNow = 1'700'000'000 * kSecond;

IpAddress Addr(const std::string& text) {
  uint8_t b[16];
  REQUIRE(inet_pton(AF_INET, text.c_str(), b) == 1);
  return IpAddress::FromV4(b);
}

// 10.0.0.1:lport -> 93.184.215.14:rport, outbound, `bytes` sent.
Connection Conn(uint64_t id, int64_t first_seen_us, uint16_t rport = 443, uint64_t bytes = 0) {
  Connection c;
  bool local_is_a = false;
  c.key = MakeFlowKey(kIpProtoTcp, 4, Addr("10.0.0.1"), static_cast<uint16_t>(40000 + id),
                      Addr("93.184.215.14"), rport, &local_is_a);
  c.local = local_is_a ? 0 : 1;
  c.initiator = c.local;
  c.id = id;
  c.first_seen_us = first_seen_us;
  c.last_seen_us = first_seen_us;
  c.bytes[c.local] = bytes;
  c.packets[c.local] = 1;
  c.state = ConnState::kEstablished;
  c.in_use = true;
  return c;
}

void Close(ClosedHistory* h, const Connection& c, CloseReason reason, int64_t at_us) {
  const ClosedConnection closed{&c, reason, at_us};
  h->OnClosed(std::span<const ClosedConnection>(&closed, 1), "eth0");
}

ConnectionQuery Query(std::string_view filter, int sort, int order, uint32_t offset,
                      uint32_t limit, bool include_closed = true) {
  auto q = MakeQuery(filter, sort, order, offset, limit, false, include_closed);
  REQUIRE(q.ok());
  return *q;
}

std::vector<uint64_t> Ids(const v1::ListConnectionsResponse& r) {
  std::vector<uint64_t> ids;
  for (const auto& c : r.connections()) ids.push_back(c.id());
  return ids;
}

TEST_CASE("query: include_closed adds the history's rows, marked", "[query]") {
  const Snapshots live = {SnapshotOf(kNow, {Conn(1, kNow - 10 * kSecond),
                                            Conn(2, kNow - 5 * kSecond)})};
  ClosedHistory history(10);
  Close(&history, Conn(3, kNow - 8 * kSecond, 443, 700), CloseReason::kFin, kNow - 2 * kSecond);
  Close(&history, Conn(4, kNow - 20 * kSecond), CloseReason::kTimeout, kNow - kSecond);
  const ClosedHistory::Snapshot closed = history.Take();

  v1::ListConnectionsResponse r;
  RunQuery(Query("", 0, 0, 0, 0, false), live, "eth0", &r, &closed);
  CHECK(Ids(r) == std::vector<uint64_t>{1, 2});  // Not asked for.
  CHECK(r.total() == 2);

  RunQuery(Query("", v1::SORT_FIELD_UNSPECIFIED, 0, 0, 0), live, "eth0", &r, &closed);
  CHECK(Ids(r) == std::vector<uint64_t>{4, 1, 3, 2});  // First seen order.
  CHECK(r.total() == 4);
  CHECK(r.matched() == 4);
  for (const auto& c : r.connections()) {
    INFO("id " << c.id());
    CHECK(c.closed() == (c.id() >= 3));
    CHECK(c.has_closed_at() == (c.id() >= 3));
  }
  const v1::Connection& fin = r.connections(2);
  CHECK(fin.close_reason() == v1::CLOSE_REASON_FIN);
  CHECK(fin.closed_at().seconds() == (kNow - 2 * kSecond) / kSecond);
  CHECK(fin.sent().bytes() == 700);
  CHECK(fin.interface() == "eth0");
  CHECK(r.connections(0).close_reason() == v1::CLOSE_REASON_TIMEOUT);
  CHECK(r.connections(1).close_reason() == v1::CLOSE_REASON_UNSPECIFIED);

  RunQuery(Query("", 0, 0, 0, 0), live, "eth0", &r, nullptr);  // History off.
  CHECK(Ids(r) == std::vector<uint64_t>{1, 2});
}

TEST_CASE("query: include_closed returns a connection in both once, live", "[query]") {
  // Removed after its worker's last snapshot: still in the snapshot.
  const Snapshots live = {SnapshotOf(kNow, {Conn(5, kNow - 3 * kSecond, 443, 100)})};
  ClosedHistory history(10);
  Close(&history, Conn(5, kNow - 3 * kSecond, 443, 150), CloseReason::kReset, kNow);
  const ClosedHistory::Snapshot closed = history.Take();
  v1::ListConnectionsResponse r;
  RunQuery(Query("", 0, 0, 0, 0), live, "eth0", &r, &closed);
  REQUIRE(Ids(r) == std::vector<uint64_t>{5});
  CHECK_FALSE(r.connections(0).closed());
  CHECK(r.connections(0).sent().bytes() == 100);
  CHECK(r.total() == 1);
}

TEST_CASE("query: include_closed filters, sorts and pages live and closed together",
          "[query]") {
  // Ids 1..40, odd live (on two workers), even closed; port 443 for ids not
  // divisible by 3, else 80; bytes decreasing with the id, ties every 4.
  std::vector<Connection> w0, w1;
  ClosedHistory history(100);
  for (uint64_t id = 1; id <= 40; ++id) {
    Connection c = Conn(id, kNow - static_cast<int64_t>(id) * kSecond,
                        id % 3 == 0 ? 80 : 443, 1000 - (id / 4) * 10);
    if (id % 2 == 1) {
      (id % 4 == 1 ? w0 : w1).push_back(c);
    } else {
      Close(&history, c, CloseReason::kFin, kNow - kSecond);
    }
  }
  const Snapshots live = {SnapshotOf(kNow, w0), SnapshotOf(kNow, w1)};
  const ClosedHistory::Snapshot closed = history.Take();

  // The expected order: port 443 only, bytes descending, ties by first seen
  // descending too (the order reverses the tie-break as well): newer first.
  std::vector<uint64_t> expected;
  for (uint64_t id = 1; id <= 40; ++id) {
    if (id % 3 != 0) expected.push_back(id);
  }
  std::stable_sort(expected.begin(), expected.end(), [](uint64_t a, uint64_t b) {
    const uint64_t ba = 1000 - (a / 4) * 10, bb = 1000 - (b / 4) * 10;
    if (ba != bb) return ba > bb;
    return a < b;  // Smaller id: seen later.
  });

  v1::ListConnectionsResponse r;
  RunQuery(Query("port:443", v1::SORT_FIELD_BYTES_TOTAL, v1::SORT_ORDER_DESCENDING, 0, 0), live,
           "eth0", &r, &closed);
  CHECK(r.total() == 40);
  CHECK(r.matched() == expected.size());
  CHECK(Ids(r) == expected);
  for (const auto& c : r.connections()) CHECK(c.closed() == (c.id() % 2 == 0));

  for (const uint32_t page : {1u, 3u, 7u}) {
    std::vector<uint64_t> paged;
    for (uint32_t offset = 0; offset < expected.size() + page; offset += page) {
      RunQuery(Query("port:443", v1::SORT_FIELD_BYTES_TOTAL, v1::SORT_ORDER_DESCENDING, offset,
                     page),
               live, "eth0", &r, &closed);
      CHECK(r.offset() == offset);
      for (uint64_t id : Ids(r)) paged.push_back(id);
    }
    INFO("pages of " << page);
    CHECK(paged == expected);
  }
}

}  // namespace
}  // namespace rustnet
