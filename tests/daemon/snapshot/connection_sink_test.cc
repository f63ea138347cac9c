// The sink interface as its callers use it: the order FinalTable wants
// (SortOldestFirst), and a sink that records what it was told (closed
// connections with their reasons, the final table, flushes) through a
// ConnectionSink pointer, as the daemon holds its sinks.
#include "daemon/snapshot/connection_sink.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rustnet {
namespace {

Connection Made(uint64_t id, int64_t first_seen_us) {
  Connection c;
  c.id = id;
  c.first_seen_us = first_seen_us;
  c.last_seen_us = first_seen_us + 1000;
  return c;
}

// Keeps copies of everything it hears (a sink copies what it keeps: the
// pointers are valid during the call only).
class RecordingSink final : public ConnectionSink {
 public:
  struct Closed {
    uint64_t id;
    CloseReason reason;
    int64_t time_us;
    std::string interface;
  };

  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override {
    for (const ClosedConnection& c : closed) {
      closed_.push_back({c.connection->id, c.reason, c.time_us, std::string(interface)});
    }
  }
  void OnFinalTable(const FinalTable& table) override {
    ++final_tables_;
    for (const Connection* c : table.rows) final_ids_.push_back(c->id);
    final_now_us_ = table.now_us;
    final_interface_ = std::string(table.interface);
  }
  absl::Status Flush() override {
    ++flushes_;
    return absl::OkStatus();
  }

  std::vector<Closed> closed_;
  int final_tables_ = 0;
  std::vector<uint64_t> final_ids_;
  int64_t final_now_us_ = 0;
  std::string final_interface_;
  int flushes_ = 0;
};

TEST_CASE("connection_sink_sort_oldest_first_by_first_seen_then_id", "[sink]") {
  const std::vector<Connection> table = {Made(5, 300), Made(2, 100), Made(9, 100), Made(1, 200),
                                         Made(3, 100), Made(4, -50)};
  std::vector<const Connection*> rows;
  for (const Connection& c : table) rows.push_back(&c);
  SortOldestFirst(&rows);
  std::vector<uint64_t> ids;
  for (const Connection* c : rows) ids.push_back(c->id);
  CHECK(ids == std::vector<uint64_t>{4, 2, 3, 9, 1, 5});

  std::vector<const Connection*> empty;
  SortOldestFirst(&empty);
  CHECK(empty.empty());
}

TEST_CASE("connection_sink_recording_sink_hears_closed_final_and_flush", "[sink]") {
  auto recording = std::make_unique<RecordingSink>();
  RecordingSink& seen = *recording;
  const std::unique_ptr<ConnectionSink> sink = std::move(recording);

  // A worker's batch: three connections left the table, each with its reason.
  std::vector<Connection> gone = {Made(7, 10), Made(8, 20), Made(11, 30)};
  const std::vector<ClosedConnection> closed = {
      {&gone[0], CloseReason::kFin, 1'000},
      {&gone[1], CloseReason::kTimeout, 2'000},
      {&gone[2], CloseReason::kEvicted, 3'000},
  };
  sink->OnClosed(closed, "eth0");
  sink->OnClosed({}, "eth0");  // An empty batch is nothing.
  gone.clear();                // The sink kept copies, not the pointers.

  const std::vector<Connection> table = {Made(3, 500), Made(1, 400)};
  std::vector<const Connection*> rows = {&table[0], &table[1]};
  SortOldestFirst(&rows);
  sink->OnFinalTable(FinalTable{rows, 9'000, "eth0"});
  CHECK(sink->Flush().ok());

  REQUIRE(seen.closed_.size() == 3);
  CHECK(seen.closed_[0].id == 7);
  CHECK(seen.closed_[0].reason == CloseReason::kFin);
  CHECK(seen.closed_[0].time_us == 1'000);
  CHECK(seen.closed_[1].reason == CloseReason::kTimeout);
  CHECK(seen.closed_[2].id == 11);
  CHECK(seen.closed_[2].reason == CloseReason::kEvicted);
  CHECK(seen.closed_[2].interface == "eth0");
  CHECK(seen.final_tables_ == 1);
  CHECK(seen.final_ids_ == std::vector<uint64_t>{1, 3});
  CHECK(seen.final_now_us_ == 9'000);
  CHECK(seen.final_interface_ == "eth0");
  CHECK(seen.flushes_ == 1);
}

}  // namespace
}  // namespace rustnet
