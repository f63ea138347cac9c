// The in-memory history of closed connections: its bound, what it drops and
// counts, its order, snapshots that do not change under a writer, readers
// running beside writers (also under TSan), and its memory per entry.
#include "daemon/snapshot/closed_history.h"

#include <malloc.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

Connection Conn(uint64_t id) {
  Connection c;
  c.id = id;
  c.first_seen_us = static_cast<int64_t>(id) * 1'000;
  c.last_seen_us = c.first_seen_us + 500;
  c.packets[0] = id;
  c.bytes[1] = id * 100;
  c.in_use = true;
  return c;
}

// Appends connections `first`..`last` in one OnClosed call.
void Add(ClosedHistory* h, uint64_t first, uint64_t last,
         CloseReason reason = CloseReason::kTimeout) {
  std::vector<Connection> conns;
  for (uint64_t id = first; id <= last; ++id) conns.push_back(Conn(id));
  std::vector<ClosedConnection> closed;
  for (const Connection& c : conns) {
    closed.push_back(ClosedConnection{&c, reason, c.last_seen_us + 7});
  }
  h->OnClosed(closed, "eth0");
}

std::vector<uint64_t> Ids(const ClosedHistory::Snapshot& s) {
  std::vector<uint64_t> ids;
  s.ForEach([&ids](const ClosedEntry& e) { ids.push_back(e.connection.id); });
  return ids;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> ids;
  for (uint64_t id = first; id <= last; ++id) ids.push_back(id);
  return ids;
}

TEST_CASE("closed_history: keeps the newest up to its capacity, oldest first", "[history]") {
  ClosedHistory h(5);
  Add(&h, 1, 3);
  CHECK(Ids(h.Take()) == Range(1, 3));
  CHECK(h.stats().size == 3);
  CHECK(h.stats().dropped == 0);
  Add(&h, 4, 4);
  Add(&h, 5, 12);
  CHECK(Ids(h.Take()) == Range(8, 12));
  const ClosedHistory::Stats s = h.stats();
  CHECK(s.size == 5);
  CHECK(s.capacity == 5);
  CHECK(s.added == 12);
  CHECK(s.dropped == 7);
}

TEST_CASE("closed_history: entries keep the final counters, reason and time", "[history]") {
  ClosedHistory h(10);
  Add(&h, 42, 42, CloseReason::kReset);
  const ClosedHistory::Snapshot s = h.Take();
  REQUIRE(s.size() == 1);
  s.ForEach([](const ClosedEntry& e) {
    CHECK(e.connection.id == 42);
    CHECK(e.connection.packets[0] == 42);
    CHECK(e.connection.bytes[1] == 4200);
    CHECK(e.reason == CloseReason::kReset);
    CHECK(e.closed_at_us == 42'000 + 500 + 7);
  });
}

TEST_CASE("closed_history: capacity 1 and 0", "[history]") {
  ClosedHistory one(1);
  for (uint64_t id = 1; id <= 600; ++id) Add(&one, id, id);
  CHECK(Ids(one.Take()) == std::vector<uint64_t>{600});
  CHECK(one.stats().dropped == 599);

  // Capacity 0 keeps no entries (only the group totals): all are counted
  // as given and dropped.
  ClosedHistory off(0);
  Add(&off, 1, 10);
  CHECK(off.Take().size() == 0);
  CHECK(off.stats().size == 0);
  CHECK(off.stats().added == 10);
  CHECK(off.stats().dropped == 10);
}

TEST_CASE("closed_history: across many chunks, every count and order", "[history]") {
  // Capacities around the chunk size (256) and batches of every size.
  for (const size_t capacity : {2u, 255u, 256u, 257u, 1000u}) {
    ClosedHistory h(capacity);
    uint64_t next = 1;
    for (uint64_t batch = 1; next < 3000; batch = batch % 300 + 1) {
      Add(&h, next, next + batch - 1);
      next += batch;
      const uint64_t added = next - 1;
      const uint64_t kept = std::min<uint64_t>(added, capacity);
      INFO(absl::StrCat("capacity ", capacity, " added ", added));
      REQUIRE(Ids(h.Take()) == Range(added - kept + 1, added));
      REQUIRE(h.stats().dropped == added - kept);
    }
  }
}

TEST_CASE("closed_history: a snapshot does not change as the history moves on", "[history]") {
  ClosedHistory h(300);
  Add(&h, 1, 280);
  const ClosedHistory::Snapshot before = h.Take();
  Add(&h, 281, 2000);  // Drops everything `before` holds, chunk by chunk.
  CHECK(Ids(before) == Range(1, 280));
  CHECK(Ids(h.Take()) == Range(1701, 2000));
}

TEST_CASE("closed_history: readers take snapshots while workers append", "[history]") {
  // Two writers (odd and even ids, each increasing), two readers checking
  // every snapshot: within capacity, and each writer's ids in order.
  constexpr uint64_t kPerWriter = 20'000;
  ClosedHistory h(1'000);
  std::atomic<int> writing{2};
  auto writer = [&](uint64_t parity) {
    std::vector<Connection> conns;
    std::vector<ClosedConnection> closed;
    uint64_t n = 0;
    while (n < kPerWriter) {
      conns.clear();
      closed.clear();
      const uint64_t batch = std::min<uint64_t>(1 + n % 7, kPerWriter - n);
      for (uint64_t i = 0; i < batch; ++i, ++n) conns.push_back(Conn(2 * n + parity + 1));
      for (const Connection& c : conns) {
        closed.push_back(ClosedConnection{&c, CloseReason::kFin, c.last_seen_us});
      }
      h.OnClosed(closed, "eth0");
    }
    writing.fetch_sub(1);
  };
  std::atomic<uint64_t> snapshots{0};
  std::atomic<bool> bad{false};
  auto reader = [&] {
    do {
      const ClosedHistory::Snapshot s = h.Take();
      uint64_t last[2] = {0, 0};
      size_t seen = 0;
      s.ForEach([&](const ClosedEntry& e) {
        const uint64_t id = e.connection.id;
        if (id <= last[id % 2] || e.connection.packets[0] != id) bad = true;
        last[id % 2] = id;
        ++seen;
      });
      if (seen != s.size() || seen > 1'000) bad = true;
      snapshots.fetch_add(1);
    } while (writing.load() > 0);
  };
  std::vector<std::thread> threads;
  threads.emplace_back(writer, 0);
  threads.emplace_back(writer, 1);
  threads.emplace_back(reader);
  threads.emplace_back(reader);
  for (auto& t : threads) t.join();
  CHECK_FALSE(bad.load());
  CHECK(snapshots.load() >= 2);
  const ClosedHistory::Stats s = h.stats();
  CHECK(s.size == 1'000);
  CHECK(s.added == 2 * kPerWriter);
  CHECK(s.dropped == 2 * kPerWriter - 1'000);
}

// The number README.md gives: heap bytes for 10,000 entries, bare and with
// what a classified, attributed connection carries (its own TLS record, a
// DNS name and a process record; each held by the history alone once the
// connection left the table).
constexpr size_t kEntries = 10'000;

// Bytes malloc has handed out and not had back: from its arenas and mmap.
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

TEST_CASE("closed_history: memory of 10,000 entries", "[history]") {
  // Everything allocated from here on that is still held at the end is the
  // history's: its chunks, and the records only it still points to.
  auto measure = [](bool records) {
    malloc_trim(0);
    const size_t before = HeapInUse();
    std::vector<Connection> conns(kEntries);
    for (size_t i = 0; i < kEntries; ++i) {
      conns[i] = Conn(i + 1);
      if (!records) continue;
      auto app = std::make_shared<AppRecord>();
      app->protocol = AppProtocol::kTls;
      app->tls->sni = absl::StrCat("host-", i, ".example.com");
      app->tls->alpn = {"h2", "http/1.1"};
      app->tls->offered_versions = {"TLS 1.3", "TLS 1.2"};
      app->tls->version = "TLS 1.3";
      app->tls->cipher_suite = "0x1301";
      app->tls->ja4 = "t13d1516h2_8daaf6152771_02713d6af862";
      conns[i].app = std::move(app);
      conns[i].dns_name = std::make_shared<const std::string>(absl::StrCat("host-", i, ".example.com"));
      auto attribution = std::make_shared<Attribution>();
      auto process = std::make_shared<ProcessRecord>();
      process->pid = static_cast<uint32_t>(1000 + i);
      process->name = "firefox";
      process->executable = "/usr/lib/firefox/firefox";
      process->user = "alice";
      attribution->side[0].process = std::move(process);
      conns[i].attribution = std::move(attribution);
    }
    auto h = std::make_unique<ClosedHistory>(kEntries);
    std::vector<ClosedConnection> closed;
    for (const Connection& c : conns) closed.push_back(ClosedConnection{&c, CloseReason::kFin, 1});
    h->OnClosed(closed, "eth0");
    // Freed (not only cleared): the history holds the records alone now.
    std::vector<ClosedConnection>().swap(closed);
    std::vector<Connection>().swap(conns);
    const size_t after = HeapInUse();
    return after > before ? after - before : 0;
  };
  const size_t bare = measure(false);
  const size_t full = measure(true);
  std::printf("closed_history: 10,000 entries: %zu bytes bare (%zu per entry), %zu with TLS "
              "record, DNS name and process (%zu per entry); sizeof(ClosedEntry) = %zu\n",
              bare, bare / kEntries, full, full / kEntries, sizeof(ClosedEntry));
  // A Connection (256 with the RTT estimator's 16), the reason and the time.
  CHECK(sizeof(ClosedEntry) <= 272);
  CHECK(bare < kEntries * 300);  // 272 in place, the last chunk's slack, allocator overhead.
}

}  // namespace
}  // namespace rustnet
