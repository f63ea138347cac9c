// EventHub: subscribe/publish/read order and sequence numbers, readers that
// fall behind the ring, read timeouts, shutdown from another thread.
#include "daemon/snapshot/event_hub.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rustnet {
namespace {

// A long wait for reads that must be woken by something else; the tests
// check they return well before it.
constexpr absl::Duration kLong = absl::Seconds(30);

// `n` events with connection ids first_id, first_id + 1, ... and time_us
// equal to 1000 * id, so a read event can be traced to what was published.
std::vector<FlowEvent> Events(uint64_t first_id, size_t n,
                              FlowEventType type = FlowEventType::kOpened) {
  std::vector<FlowEvent> events(n);
  for (size_t i = 0; i < n; ++i) {
    events[i].type = type;
    events[i].connection.id = first_id + i;
    events[i].time_us = static_cast<int64_t>(1000 * (first_id + i));
  }
  return events;
}

void Publish(EventHub* hub, uint64_t first_id, size_t n) {
  auto events = Events(first_id, n);
  hub->Publish(&events);
}

std::vector<uint64_t> Sequences(const std::vector<FlowEvent>& events) {
  std::vector<uint64_t> out;
  for (const FlowEvent& e : events) out.push_back(e.sequence);
  return out;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(s);
  return out;
}

TEST_CASE("event_hub: wanted() follows subscribers", "[event_hub]") {
  EventHub hub(8);
  CHECK_FALSE(hub.wanted());
  hub.Subscribe();
  CHECK(hub.wanted());
  hub.Subscribe();
  CHECK(hub.wanted());
  hub.Unsubscribe();
  CHECK(hub.wanted());
  hub.Unsubscribe();
  CHECK_FALSE(hub.wanted());
  hub.Subscribe();
  CHECK(hub.wanted());
}

TEST_CASE("event_hub: events are read in order with sequence numbers from 1", "[event_hub]") {
  EventHub hub(8);
  CHECK(hub.published() == 0);
  EventHub::Cursor cursor = hub.Subscribe();
  CHECK(cursor.next == 1);
  CHECK(cursor.lost == 0);

  std::vector<FlowEvent> batch = Events(100, 3);
  batch[1].type = FlowEventType::kClosed;
  batch[1].reason = CloseReason::kReset;
  hub.Publish(&batch);
  CHECK(batch.empty());  // Publish takes the batch.
  CHECK(hub.published() == 3);

  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  REQUIRE(out.size() == 3);
  CHECK(Sequences(out) == Range(1, 3));
  for (size_t i = 0; i < 3; ++i) {
    CHECK(out[i].connection.id == 100 + i);
    CHECK(out[i].time_us == static_cast<int64_t>(1000 * (100 + i)));
  }
  CHECK(out[0].type == FlowEventType::kOpened);
  CHECK(out[1].type == FlowEventType::kClosed);
  CHECK(out[1].reason == CloseReason::kReset);
  CHECK(cursor.next == 4);
  CHECK(cursor.lost == 0);

  // The next batch continues the numbering.
  Publish(&hub, 200, 2);
  CHECK(hub.published() == 5);
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(4, 5));
  CHECK(out[0].connection.id == 200);
  CHECK(cursor.next == 6);
}

TEST_CASE("event_hub: Read returns at most max events and resumes after them",
          "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  Publish(&hub, 1, 5);
  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 2, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(1, 2));
  REQUIRE(hub.Read(&cursor, &out, 2, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(3, 4));
  REQUIRE(hub.Read(&cursor, &out, 2, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(5, 5));
  CHECK(out[0].connection.id == 5);
  REQUIRE(hub.Read(&cursor, &out, 2, absl::ZeroDuration()));
  CHECK(out.empty());
  CHECK(cursor.next == 6);
  CHECK(cursor.lost == 0);
}

TEST_CASE("event_hub: a subscriber starts at the next event published", "[event_hub]") {
  EventHub hub(8);
  Publish(&hub, 1, 3);  // Nobody listening: still numbered.
  EventHub::Cursor cursor = hub.Subscribe();
  CHECK(cursor.next == 4);
  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(out.empty());
  CHECK(cursor.lost == 0);
  Publish(&hub, 10, 1);
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(Sequences(out) == std::vector<uint64_t>{4});
  CHECK(out[0].connection.id == 10);
  CHECK(cursor.lost == 0);
}

TEST_CASE("event_hub: an empty batch publishes nothing", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  std::vector<FlowEvent> none;
  hub.Publish(&none);
  CHECK(hub.published() == 0);
  Publish(&hub, 1, 1);
  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(Sequences(out) == std::vector<uint64_t>{1});
}

TEST_CASE("event_hub: a reader exactly one ring behind loses nothing", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  Publish(&hub, 1, 8);
  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(1, 8));
  CHECK(cursor.lost == 0);
}

TEST_CASE("event_hub: a reader that falls behind the ring counts what it lost",
          "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  // 20 events into a ring of 8, some one at a time and some in a batch
  // larger than the ring: 1..12 are gone, 13..20 are retained.
  for (uint64_t id = 1; id <= 5; ++id) Publish(&hub, id, 1);
  Publish(&hub, 6, 15);
  CHECK(hub.published() == 20);
  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(cursor.lost == 12);
  CHECK(Sequences(out) == Range(13, 20));
  for (const FlowEvent& e : out) CHECK(e.connection.id == e.sequence);  // Not stale slots.
  CHECK(cursor.next == 21);

  // It carries on without losing more, and `lost` is a running total.
  Publish(&hub, 21, 3);
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(21, 23));
  CHECK(cursor.lost == 12);

  // Behind again: 24..40 published, 33..40 retained.
  Publish(&hub, 24, 17);
  REQUIRE(hub.Read(&cursor, &out, 3, absl::ZeroDuration()));
  CHECK(cursor.lost == 12 + 9);
  CHECK(Sequences(out) == Range(33, 35));
  CHECK(out[0].connection.id == 33);
}

TEST_CASE("event_hub: a reader reading in small steps can fall behind mid-way",
          "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  Publish(&hub, 1, 8);
  std::vector<FlowEvent> out;
  REQUIRE(hub.Read(&cursor, &out, 3, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(1, 3));
  // 10 more: oldest retained is 11; the reader was at 4.
  Publish(&hub, 9, 10);
  REQUIRE(hub.Read(&cursor, &out, 3, absl::ZeroDuration()));
  CHECK(cursor.lost == 7);
  CHECK(Sequences(out) == Range(11, 13));
  for (const FlowEvent& e : out) CHECK(e.connection.id == e.sequence);
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(Sequences(out) == Range(14, 18));
  CHECK(cursor.lost == 7);
}

TEST_CASE("event_hub: readers have independent cursors", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor fast = hub.Subscribe();
  EventHub::Cursor slow = hub.Subscribe();
  std::vector<FlowEvent> out;
  for (uint64_t id = 1; id <= 12; id += 4) {
    Publish(&hub, id, 4);
    REQUIRE(hub.Read(&fast, &out, 100, absl::ZeroDuration()));
    CHECK(Sequences(out) == Range(id, id + 3));
  }
  CHECK(fast.lost == 0);
  REQUIRE(hub.Read(&slow, &out, 100, absl::ZeroDuration()));
  CHECK(slow.lost == 4);
  CHECK(Sequences(out) == Range(5, 12));
  CHECK(fast.next == slow.next);
}

TEST_CASE("event_hub: Read times out when nothing is published", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  std::vector<FlowEvent> out = Events(1, 2);  // Stale contents are cleared.
  const absl::Time start = absl::Now();
  CHECK(hub.Read(&cursor, &out, 100, absl::Milliseconds(100)));
  const absl::Duration waited = absl::Now() - start;
  CHECK(out.empty());
  CHECK(waited >= absl::Milliseconds(90));
  CHECK(waited < absl::Seconds(10));
  CHECK(cursor.next == 1);
  CHECK(cursor.lost == 0);
  // Events already read do not end a later wait.
  Publish(&hub, 1, 1);
  REQUIRE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(out.size() == 1);
  REQUIRE(hub.Read(&cursor, &out, 100, absl::Milliseconds(50)));
  CHECK(out.empty());
}

TEST_CASE("event_hub: a blocked Read wakes for an event from another thread", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  std::vector<FlowEvent> out;
  const absl::Time start = absl::Now();
  auto reader = std::async(std::launch::async,
                           [&] { return hub.Read(&cursor, &out, 100, kLong); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Publish(&hub, 77, 1);
  REQUIRE(reader.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(reader.get());
  CHECK(absl::Now() - start < absl::Seconds(10));
  REQUIRE(out.size() == 1);
  CHECK(out[0].connection.id == 77);
  CHECK(out[0].sequence == 1);
}

TEST_CASE("event_hub: Shutdown makes a blocked Read return false", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  std::vector<FlowEvent> out;
  std::atomic<bool> started{false};
  const absl::Time start = absl::Now();
  auto reader = std::async(std::launch::async, [&] {
    started = true;
    return hub.Read(&cursor, &out, 100, kLong);
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Let it block.
  hub.Shutdown();
  REQUIRE(reader.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK_FALSE(reader.get());
  CHECK(absl::Now() - start < absl::Seconds(10));
  CHECK(out.empty());
}

TEST_CASE("event_hub: after Shutdown every Read returns false at once", "[event_hub]") {
  EventHub hub(8);
  EventHub::Cursor cursor = hub.Subscribe();
  Publish(&hub, 1, 3);
  hub.Shutdown();
  std::vector<FlowEvent> out;
  const absl::Time start = absl::Now();
  CHECK_FALSE(hub.Read(&cursor, &out, 100, kLong));
  CHECK_FALSE(hub.Read(&cursor, &out, 100, absl::ZeroDuration()));
  CHECK(absl::Now() - start < absl::Seconds(10));
  EventHub::Cursor late = hub.Subscribe();
  CHECK_FALSE(hub.Read(&late, &out, 100, kLong));
}

TEST_CASE("event_hub: concurrent publishers and a reader see every sequence once",
          "[event_hub]") {
  constexpr int kPublishers = 2;
  constexpr int kBatches = 300;
  constexpr size_t kBatchSize = 5;
  constexpr uint64_t kTotal = kPublishers * kBatches * kBatchSize;
  for (size_t capacity : {size_t{8}, size_t{4096}}) {
    INFO("capacity " << capacity);
    EventHub hub(capacity);
    EventHub::Cursor cursor = hub.Subscribe();
    std::vector<std::thread> publishers;
    for (int p = 0; p < kPublishers; ++p) {
      publishers.emplace_back([&hub, p] {
        for (int b = 0; b < kBatches; ++b) {
          auto events = Events(static_cast<uint64_t>(p) * 1'000'000, kBatchSize);
          hub.Publish(&events);
        }
      });
    }
    uint64_t received = 0;
    uint64_t last = 0;
    bool in_order = true;
    std::vector<FlowEvent> out;
    while (cursor.next <= kTotal) {
      if (!hub.Read(&cursor, &out, 7, absl::Seconds(10))) {
        FAIL_CHECK("Read returned false without a Shutdown");
        break;
      }
      for (const FlowEvent& e : out) {
        if (e.sequence <= last) in_order = false;
        last = e.sequence;
      }
      received += out.size();
    }
    for (std::thread& t : publishers) t.join();
    CHECK(in_order);
    CHECK(last == kTotal);
    CHECK(received + cursor.lost == kTotal);
    CHECK(hub.published() == kTotal);
    if (capacity > kTotal) CHECK(cursor.lost == 0);
  }
}

}  // namespace
}  // namespace rustnet
