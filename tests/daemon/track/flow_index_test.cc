#include "daemon/track/flow_index.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "daemon/track/flow_table.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

// Keys by index, as the flow table's storage is.
struct Store {
  std::vector<FlowKey> keys;
};
struct KeyOfStore {
  const Store* store;
  const FlowKey& operator()(uint32_t idx) const { return store->keys[idx]; }
};
// Every key hashes alike: each lookup walks the same probe sequence and
// has to tell keys apart by comparing them.
struct SameHash {
  size_t operator()(const FlowKey&) const { return 0x5a5a5a5a; }
};
// Keys differ in the hash's 7 low bits (kept beside each slot) only.
struct LowBitsHash {
  size_t operator()(const FlowKey& k) const { return k.port_a & 0x7f; }
};

FlowKey Key(uint32_t n, uint8_t proto = kIpProtoUdp) {
  const uint8_t a[4] = {10, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                        static_cast<uint8_t>(n)};
  const uint8_t b[4] = {192, 0, 2, 1};
  bool src_is_a = false;
  return MakeFlowKey(proto, 4, IpAddress::FromV4(a), static_cast<uint16_t>(1024 + n % 60000),
                     IpAddress::FromV4(b), 53, &src_is_a);
}

template <typename Hash>
void CheckCollisions() {
  Store store;
  FlowIndex<KeyOfStore, Hash> index(KeyOfStore{&store});
  constexpr uint32_t kCount = 300;
  for (uint32_t i = 0; i < kCount; ++i) {
    store.keys.push_back(Key(i));
    index.Insert(i);
  }
  REQUIRE(index.size() == kCount);
  for (uint32_t i = 0; i < kCount; ++i) CHECK(index.Find(store.keys[i]) == i);
  CHECK(index.Find(Key(kCount)) == index.kNotFound);
  CHECK(index.Find(Key(1, kIpProtoTcp)) == index.kNotFound);  // Differs in the protocol only.

  // Erase every other one; the rest stay reachable past the holes.
  for (uint32_t i = 0; i < kCount; i += 2) CHECK(index.Erase(i));
  CHECK_FALSE(index.Erase(0));
  CHECK(index.size() == kCount / 2);
  for (uint32_t i = 0; i < kCount; ++i) {
    CHECK(index.Find(store.keys[i]) == (i % 2 == 0 ? index.kNotFound : i));
  }
  // Reuse: an erased index comes back with another key, and an erased key
  // comes back at another index.
  store.keys[0] = Key(5000);
  index.Insert(0);
  store.keys.push_back(Key(2));
  index.Insert(kCount);
  CHECK(index.Find(Key(5000)) == 0);
  CHECK(index.Find(Key(2)) == kCount);
  CHECK(index.Find(Key(0)) == index.kNotFound);
  CHECK(index.size() == kCount / 2 + 2);
}

TEST_CASE("flow_index: every key with the same hash", "[flow_index]") {
  CheckCollisions<SameHash>();
}

TEST_CASE("flow_index: keys apart only in the bits kept beside the slots", "[flow_index]") {
  CheckCollisions<LowBitsHash>();
}

TEST_CASE("flow_index: grows without losing a key, at ~5 bytes a slot", "[flow_index]") {
  Store store;
  FlowIndex<KeyOfStore> index(KeyOfStore{&store});
  CHECK(index.MemoryBytes() == 0);  // Nothing reserved up front.
  constexpr uint32_t kCount = 200'000;
  size_t growths = 0;
  size_t capacity = index.capacity();
  for (uint32_t i = 0; i < kCount; ++i) {
    store.keys.push_back(Key(i));
    index.Insert(i);
    if (index.capacity() != capacity) {
      ++growths;
      capacity = index.capacity();
    }
  }
  CHECK(growths > 10);
  REQUIRE(index.size() == kCount);
  for (uint32_t i = 0; i < kCount; ++i) {
    if (index.Find(store.keys[i]) != i) FAIL("key " << i << " lost");
  }
  // A map holding the 40-byte key beside the index took ~45 bytes a slot.
  CHECK(index.MemoryBytes() == index.capacity() * 5);
  CHECK(index.MemoryBytes() < kCount * 12);
}

TEST_CASE("flow_index: the table's Find agrees with its contents through eviction and reuse",
          "[flow_index][flow_table]") {
  FlowTable::Options o;
  o.max_connections = 64;
  FlowTable table(o);
  std::mt19937 rng(7);
  std::set<uint16_t> ever;
  constexpr int kPackets = 20'000;
  for (int i = 0; i < kPackets; ++i) {
    // 500 ports: far more flows than room, so the table evicts all along
    // and reuses freed slots; a quarter of packets revisit a recent port.
    const auto pick = static_cast<uint32_t>(rng() % 4 == 0 ? static_cast<uint64_t>(i % 50) : rng() % 500);
    const auto port = static_cast<uint16_t>(1000 + pick);
    ever.insert(port);
    const testing::Bytes ip = testing::Ipv4Packet(
        "10.0.0.1", "10.0.0.2", 17, testing::UdpDatagram(port, 53, testing::Bytes(8, 0)));
    Decoder d(LinkType::kRaw);
    DecodedPacket p;
    REQUIRE(d.Decode(ip, static_cast<uint32_t>(ip.size()), 1'000'000 + i, &p) ==
            DecodeResult::kOk);
    const Connection* c = table.Process(p);
    REQUIRE(c != nullptr);
    if (table.Find(p.key) != c) FAIL("packet " << i << ": Find does not return its connection");
    REQUIRE(table.size() <= o.max_connections);
    if (i % 1000 == 999) {
      size_t seen = 0;
      table.ForEach([&](const Connection& conn) {
        ++seen;
        if (table.Find(conn.key) != &conn) FAIL("a stored connection is not found by its key");
      });
      CHECK(seen == table.size());
    }
  }
  CHECK(table.size() == o.max_connections);
  CHECK(table.stats().evicted == table.stats().created - o.max_connections);
  // Evicted keys are gone from the index, not just from storage.
  size_t found = 0;
  for (const uint16_t port : ever) {
    bool src_is_a = false;
    const uint8_t a[4] = {10, 0, 0, 1};
    const uint8_t b[4] = {10, 0, 0, 2};
    const FlowKey k = MakeFlowKey(kIpProtoUdp, 4, IpAddress::FromV4(a), port,
                                  IpAddress::FromV4(b), 53, &src_is_a);
    if (table.Find(k) != nullptr) ++found;
  }
  CHECK(found == o.max_connections);
  CHECK(table.IndexMemoryBytes() < 64 * 20);
}

}  // namespace
}  // namespace rustnet
