// Copy-on-write sharing of the flow table's chunks with snapshots: what a
// snapshot holds never changes, the table copies a chunk only when it
// writes to one a snapshot still holds, and only once per snapshot.
#include "daemon/track/connection_chunk.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/track/flow_table.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;

// UDP 10.0.<n/256>.<n%256>:<port> -> 10.9.0.1:53, `size` payload bytes.
class Feeder {
 public:
  explicit Feeder(FlowTable* table) : table_(table), decoder_(LinkType::kRaw) {}
  Connection* Udp(uint32_t n, int64_t ts_us, uint16_t size = 10) {
    const std::string src = absl::StrCat("10.0.", (n >> 8) & 0xff, ".", n & 0xff);
    const Bytes ip = testing::Ipv4Packet(
        src, "10.9.0.1", 17,
        testing::UdpDatagram(static_cast<uint16_t>(1024 + (n >> 16)), 53, Bytes(size, 0)));
    DecodedPacket p;
    REQUIRE(decoder_.Decode(ip, static_cast<uint32_t>(ip.size()), ts_us, &p) ==
            DecodeResult::kOk);
    return table_->Process(p);
  }

 private:
  FlowTable* table_;
  Decoder decoder_;
};

uint64_t PacketsIn(const std::vector<ChunkRef>& chunks) {
  uint64_t n = 0;
  for (const ChunkRef& chunk : chunks) {
    chunk->ForEach([&n](const Connection& c) { n += c.packets[0] + c.packets[1]; });
  }
  return n;
}

size_t ConnectionsIn(const std::vector<ChunkRef>& chunks) {
  size_t n = 0;
  for (const ChunkRef& chunk : chunks) chunk->ForEach([&n](const Connection&) { ++n; });
  return n;
}

TEST_CASE("chunk_ref counts holders and frees the chunk with the last", "[chunk]") {
  ChunkRef a(new ConnectionChunk);
  CHECK(a.Unique());
  {
    ChunkRef b = a;
    CHECK_FALSE(a.Unique());
    CHECK_FALSE(b.Unique());
    ChunkRef c = std::move(b);
    CHECK_FALSE(static_cast<bool>(b));  // NOLINT(bugprone-use-after-move): moved-from is null.
    CHECK_FALSE(a.Unique());
  }
  CHECK(a.Unique());
  ChunkRef d;
  CHECK_FALSE(d.Unique());
  d = a;
  a.Reset();
  CHECK(d.Unique());  // ASan/LSan: exactly one delete when d goes.
}

TEST_CASE("a snapshot keeps what it saw while the table moves on", "[chunk]") {
  FlowTable table({});
  Feeder feed(&table);
  for (uint32_t n = 0; n < 10; ++n) feed.Udp(n, 1'000);
  std::vector<ChunkRef> snap;
  table.ShareChunks(&snap);
  REQUIRE(snap.size() == 1);
  CHECK(ConnectionsIn(snap) == 10);
  CHECK(table.stats().chunks_copied == 0);  // Sharing copies nothing.

  // The first write after sharing copies the chunk, once.
  Connection* c = feed.Udp(3, 2'000);
  CHECK(c->packets[0] + c->packets[1] == 2);
  CHECK(table.stats().chunks_copied == 1);
  feed.Udp(4, 3'000);
  feed.Udp(10, 3'000);  // A new connection in the same chunk.
  CHECK(table.stats().chunks_copied == 1);
  CHECK(PacketsIn(snap) == 10);  // Unchanged.
  CHECK(ConnectionsIn(snap) == 10);

  // Expiry removes from the table, not from the snapshot.
  table.Expire(1'000 + kTimeoutUs[static_cast<int>(TimeoutClass::kUdp)] + 1);
  CHECK(table.size() == 3);
  CHECK(ConnectionsIn(snap) == 10);

  // Nobody else holds the table's copy: writing copies nothing more.
  snap.clear();
  feed.Udp(3, 4'000);
  CHECK(table.stats().chunks_copied == 1);
}

TEST_CASE("only chunks written to are copied; the rest stay shared", "[chunk]") {
  FlowTable table({});
  Feeder feed(&table);
  const uint32_t n = 3 * ConnectionChunk::kSize + 5;  // Four chunks.
  for (uint32_t i = 0; i < n; ++i) feed.Udp(i, 1'000);
  std::vector<ChunkRef> first;
  table.ShareChunks(&first);
  REQUIRE(first.size() == 4);
  feed.Udp(ConnectionChunk::kSize + 7, 2'000);  // Lives in chunk 1.
  std::vector<ChunkRef> second;
  table.ShareChunks(&second);
  REQUIRE(second.size() == 4);
  CHECK(&*second[0] == &*first[0]);
  CHECK(&*second[1] != &*first[1]);
  CHECK(&*second[2] == &*first[2]);
  CHECK(&*second[3] == &*first[3]);
  CHECK(PacketsIn(first) == n);
  CHECK(PacketsIn(second) == n + 1);
  CHECK(table.stats().chunks_copied == 1);
}

TEST_CASE("find_mutable copies a shared chunk before handing it out", "[chunk]") {
  FlowTable table({});
  Feeder feed(&table);
  const Connection* c = feed.Udp(1, 1'000);
  const FlowKey key = c->key;
  std::vector<ChunkRef> snap;
  table.ShareChunks(&snap);
  Connection* m = table.FindMutable(key);
  REQUIRE(m != nullptr);
  m->tcp.retransmissions = 99;
  CHECK(table.stats().chunks_copied == 1);
  CHECK(table.Find(key)->tcp.retransmissions == 99);
  uint32_t seen = 0;
  snap[0]->ForEach([&seen](const Connection& s) { seen = s.tcp.retransmissions; });
  CHECK(seen == 0);
  // Find (const) never copies.
  table.ShareChunks(&snap);
  CHECK(table.Find(key) != nullptr);
  CHECK(table.stats().chunks_copied == 1);
}

TEST_CASE("eviction at capacity under a held snapshot", "[chunk]") {
  FlowTable::Options o;
  o.max_connections = 100;
  FlowTable table(o);
  Feeder feed(&table);
  for (uint32_t i = 0; i < 100; ++i) feed.Udp(i, 1'000 + i);
  std::vector<ChunkRef> snap;
  table.ShareChunks(&snap);
  for (uint32_t i = 100; i < 150; ++i) feed.Udp(i, 2'000 + i);
  CHECK(table.size() == 100);
  CHECK(table.stats().evicted == 50);
  CHECK(ConnectionsIn(snap) == 100);
  uint32_t old_seen = 0;
  snap[0]->ForEach([&](const Connection& c) { old_seen += c.first_seen_us < 1'050; });
  CHECK(old_seen == 50);  // The evicted ones are still in the snapshot.
}

// A reader thread walks snapshots while the owner keeps writing and
// publishing: every snapshot must be internally consistent (each
// connection's bytes are its packets times the datagram size) and never
// change under the reader. Run under ThreadSanitizer, this is the race
// check of the sharing.
TEST_CASE("readers walk snapshots while the owner writes", "[chunk]") {
  FlowTable table({});
  Feeder feed(&table);
  std::atomic<bool> done{false};
  std::mutex mu;
  std::vector<ChunkRef> published;
  std::atomic<uint64_t> walks{0};
  std::atomic<uint64_t> bad{0};
  std::thread reader([&] {
    while (!done.load(std::memory_order_acquire)) {
      std::vector<ChunkRef> snap;
      {
        std::lock_guard<std::mutex> lock(mu);
        snap = published;
      }
      const uint64_t before = PacketsIn(snap);
      for (const ChunkRef& chunk : snap) {
        chunk->ForEach([&](const Connection& c) {
          const uint64_t packets = c.packets[0] + c.packets[1];
          // IPv4 20 + UDP 8 + 10 payload bytes per datagram.
          if (c.bytes[0] + c.bytes[1] != packets * 38) bad.fetch_add(1);
        });
      }
      if (PacketsIn(snap) != before) bad.fetch_add(1);
      walks.fetch_add(1, std::memory_order_relaxed);
    }
  });
  uint64_t sent = 0;
  for (int round = 0; round < 60; ++round) {
    for (uint32_t i = 0; i < 2000; ++i) {
      feed.Udp((i * 7919u + static_cast<uint32_t>(round)) % 6000, 1'000 + round);
      ++sent;
    }
    std::vector<ChunkRef> snap;
    table.ShareChunks(&snap);
    std::lock_guard<std::mutex> lock(mu);
    published.swap(snap);
  }
  // Let the reader see the last one at least once.
  const uint64_t seen = walks.load();
  while (walks.load() < seen + 2) std::this_thread::yield();
  done.store(true, std::memory_order_release);
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(PacketsIn(published) == sent);
  CHECK(table.stats().chunks_copied > 0);
}

}  // namespace
}  // namespace rustnet
