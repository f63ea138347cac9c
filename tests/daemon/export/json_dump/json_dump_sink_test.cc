// JsonDumpSink writes exactly what `--dump json` wrote before it was a
// sink: every row's AppendJsonLine and a newline, oldest first, whatever
// the number of formatting threads and the block size (the blocks of a
// round are formatted at once and written in order). On every fixture
// capture, on a table of several rounds, and on an empty one; write
// errors come back from Flush.
#include "daemon/export/json_dump/json_dump_sink.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "daemon/capture/pcap_source.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/snapshot/convert.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

// The dump as main.cc's DumpJson wrote it, one thread, no blocks.
std::string OldDump(const std::vector<const Connection*>& sorted, int64_t now,
                    std::string_view source) {
  std::string out;
  for (const Connection* c : sorted) {
    AppendJsonLine(*c, now, source, &out);
    out += '\n';
  }
  return out;
}

// What `sink` writes for `table` into a temporary file.
std::string SinkDump(const FinalTable& table, size_t threads, size_t block_rows) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
  REQUIRE(file != nullptr);
  JsonDumpSink sink(file.get(), "a temporary file", threads, block_rows);
  sink.OnFinalTable(table);
  REQUIRE(sink.Flush().ok());
  std::rewind(file.get());
  std::string out;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file.get())) > 0) out.append(buf, n);
  return out;
}

TEST_CASE("json_dump_sink_writes_what_the_dump_wrote_on_every_fixture", "[sink][json]") {
  const auto files = testing::FixtureCaptures();
  REQUIRE(files.size() >= 30);
  size_t rows_seen = 0;
  for (const std::string& file : files) {
    INFO(file);
    auto source = PcapSource::OpenFile(file, "");
    REQUIRE(source.ok());
    PipelineOptions p;
    p.workers = 2;
    p.publish_snapshots = false;
    p.keep_removed = true;  // As --dump-expired: the removed rows too.
    Pipeline pipeline(p, std::move(*source));
    pipeline.Start();
    pipeline.Join();
    std::vector<const Connection*> rows;
    pipeline.ForEachConnection([&rows](const Connection& c) { rows.push_back(&c); });
    SortOldestFirst(&rows);
    rows_seen += rows.size();
    const FinalTable table{rows, pipeline.clock_us(), pipeline.source().name()};
    const std::string expected = OldDump(rows, table.now_us, table.interface);
    for (const size_t threads : {size_t{1}, size_t{3}}) {
      for (const size_t block_rows : {size_t{1}, size_t{2}, JsonDumpSink::kBlockRows}) {
        INFO("threads " << threads << ", blocks of " << block_rows);
        CHECK(SinkDump(table, threads, block_rows) == expected);
      }
    }
  }
  CHECK(rows_seen > 100);
}

// More rows than one round of the default blocks on 4 threads.
TEST_CASE("json_dump_sink_several_rounds_of_default_blocks", "[sink][json]") {
  const size_t n = 4 * JsonDumpSink::kBlockRows * 2 + 123;
  std::vector<Connection> table(n);
  std::vector<const Connection*> rows;
  for (size_t i = 0; i < n; ++i) {
    Connection& c = table[i];
    c.id = i + 1;
    c.key.protocol = kIpProtoUdp;
    c.key.port_a = static_cast<uint16_t>(1024 + i % 60000);
    c.key.port_b = 53;
    c.first_seen_us = 1'700'000'000'000'000 + static_cast<int64_t>(i / 3);  // Ties: by id.
    c.last_seen_us = c.first_seen_us + 10;
    c.packets[0] = i;
    rows.push_back(&c);
  }
  std::reverse(rows.begin(), rows.end());
  SortOldestFirst(&rows);
  REQUIRE(rows.front()->id == 1);
  REQUIRE(rows.back()->id == n);
  const FinalTable table_view{rows, 1'700'000'001'000'000, "replay.pcap"};
  const std::string expected = OldDump(rows, table_view.now_us, table_view.interface);
  CHECK(std::count(expected.begin(), expected.end(), '\n') == static_cast<std::ptrdiff_t>(n));
  for (const size_t threads : {size_t{1}, size_t{2}, size_t{4}, size_t{5}}) {
    INFO("threads " << threads);
    CHECK(SinkDump(table_view, threads, JsonDumpSink::kBlockRows) == expected);
  }
}

TEST_CASE("json_dump_sink_empty_table_and_closed_events_write_nothing", "[sink][json]") {
  for (const size_t threads : {size_t{0}, size_t{1}, size_t{4}}) {
    CHECK(SinkDump(FinalTable{{}, 0, "empty.pcap"}, threads, JsonDumpSink::kBlockRows).empty());
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
  REQUIRE(file != nullptr);
  JsonDumpSink sink(file.get(), "a temporary file", 2);
  Connection c;
  c.id = 1;
  const ClosedConnection closed[] = {{&c, CloseReason::kTimeout, 5}};
  sink.OnClosed(closed, "eth0");
  CHECK(sink.Flush().ok());
  CHECK(std::ftell(file.get()) == 0);
}

TEST_CASE("json_dump_sink_flush_reports_a_failed_write", "[sink][json]") {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> full(std::fopen("/dev/full", "w"),
                                                        &std::fclose);
  if (full == nullptr) {
    WARN("no /dev/full: not checked");
    return;
  }
  Connection c;
  c.id = 1;
  c.key.protocol = kIpProtoTcp;
  const Connection* rows[] = {&c};
  JsonDumpSink sink(full.get(), "standard output", 1);
  sink.OnFinalTable(FinalTable{rows, 0, "x.pcap"});
  const absl::Status s = sink.Flush();
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(std::string(s.message()),
             Catch::Contains("cannot write the JSON dump to standard output") &&
                 Catch::Contains("No space left on device"));
}

}  // namespace
}  // namespace rustnet
