// FanIn (daemon/pipeline/fan_in.h): a worker's inboxes from several capture
// threads. Each producer's items come out in the order it pushed them; of
// the heads present, the oldest comes first; nothing is lost or repeated
// when producers and the consumer run on their own threads.
#include "daemon/pipeline/fan_in.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <thread>
#include <vector>

namespace rustnet {
namespace {

struct Item {
  size_t producer;
  uint64_t key;  // The "oldest packet time".
  uint64_t seq;  // The producer's push order.
};

auto KeyOf = [](const Item& i) { return i.key; };

TEST_CASE("fan_in: oldest head first, each producer's order kept", "[pipeline][fanout]") {
  FanIn<Item> in(3, 8);
  CHECK(in.producers() == 3);
  // Producer 0: keys 1, 4, 9, 2 (its last one older than others' heads:
  // still after its own 9). Producer 1: 2, 3, 10. Producer 2: nothing.
  uint64_t seq = 0;
  for (uint64_t k : {1u, 4u, 9u, 2u}) REQUIRE(in.Push(0, Item{0, k, seq++}));
  for (uint64_t k : {2u, 3u, 10u}) REQUIRE(in.Push(1, Item{1, k, seq++}));
  std::vector<std::pair<size_t, uint64_t>> out;
  while (auto got = in.Pop(KeyOf)) {
    CHECK(got->producer == got->value.producer);
    out.emplace_back(got->producer, got->value.key);
  }
  const std::vector<std::pair<size_t, uint64_t>> expected = {
      {0, 1}, {1, 2}, {1, 3}, {0, 4}, {0, 9}, {0, 2}, {1, 10}};
  CHECK(out == expected);
}

TEST_CASE("fan_in: an item that comes late is not waited for", "[pipeline][fanout]") {
  FanIn<Item> in(2, 4);
  REQUIRE(in.Push(0, Item{0, 50, 0}));
  auto first = in.Pop(KeyOf);
  REQUIRE(first);
  CHECK(first->value.key == 50);
  CHECK_FALSE(in.Pop(KeyOf));  // Empty: nothing held, nothing queued.
  // Producer 1 was a batch behind: its older item comes after.
  REQUIRE(in.Push(1, Item{1, 20, 1}));
  REQUIRE(in.Push(0, Item{0, 60, 2}));
  auto second = in.Pop(KeyOf);
  REQUIRE(second);
  CHECK(second->producer == 1);
  CHECK(second->value.key == 20);
  auto third = in.Pop(KeyOf);
  REQUIRE(third);
  CHECK(third->value.key == 60);
}

TEST_CASE("fan_in: a full inbox refuses, per producer", "[pipeline][fanout]") {
  FanIn<Item> in(2, 4);
  const size_t cap = in.capacity();
  for (size_t i = 0; i < cap; ++i) REQUIRE(in.Push(0, Item{0, i, i}));
  CHECK_FALSE(in.Push(0, Item{0, 99, 99}));
  CHECK(in.Push(1, Item{1, 0, 0}));  // The other producer's inbox has room.
  // Popping producer 0's head makes room for one more.
  auto got = in.Pop(KeyOf);
  REQUIRE(got);
  CHECK(got->producer == 0);  // Key 0, producer 0 before producer 1 (ties: lowest).
  CHECK(in.Push(0, Item{0, 100, 100}));
  CHECK_FALSE(in.Push(0, Item{0, 101, 101}));
}

TEST_CASE("fan_in: threads, nothing lost or repeated, order per producer", "[pipeline][fanout]") {
  constexpr size_t kProducers = 3;
  constexpr uint64_t kItems = 20'000;
  FanIn<Item> in(kProducers, 16);
  std::vector<std::thread> producers;
  for (size_t k = 0; k < kProducers; ++k) {
    producers.emplace_back([&in, k] {
      for (uint64_t i = 0; i < kItems; ++i) {
        // Keys interleave the producers, as capture threads' clocks do.
        const Item item{k, i * kProducers + k, i};
        while (!in.Push(k, item)) in.WaitForSpace(k);
      }
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t got_total = 0;
  bool in_order = true;
  while (got_total < kProducers * kItems) {
    auto got = in.Pop(KeyOf);
    if (!got) {
      in.WaitForData();
      continue;
    }
    if (got->value.seq != next[got->producer]) in_order = false;
    next[got->producer] = got->value.seq + 1;
    ++got_total;
  }
  for (auto& t : producers) t.join();
  CHECK(in_order);
  for (size_t k = 0; k < kProducers; ++k) CHECK(next[k] == kItems);
  CHECK_FALSE(in.Pop(KeyOf));
}

}  // namespace
}  // namespace rustnet
