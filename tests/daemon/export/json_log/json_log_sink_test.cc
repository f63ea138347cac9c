// The connection log: each line against protobuf's own printer of the same
// ConnectionEvent (every fixture connection, every event type and close
// reason), a line per event, drops when the queue is full (counted, the
// caller not held), mode 0600, reopening after the file was moved away,
// and opened events from the EventHub.
#include "daemon/export/json_log/json_log_sink.h"

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/capture/pcap_source.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/snapshot/convert.h"
#include "rustnet/v1/monitor.pb.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

v1::ConnectionEvent ParseEvent(const std::string& line) {
  v1::ConnectionEvent e;
  INFO(line);
  REQUIRE(google::protobuf::util::JsonStringToMessage(line, &e).ok());
  return e;
}

// The oracle: the message ConnectionEvent the line stands for, printed by
// protobuf.
std::string ProtobufEventJson(uint64_t sequence, FlowEventType type, CloseReason reason,
                              int64_t time_us, const Connection& c, std::string_view interface,
                              uint64_t lost) {
  v1::ConnectionEvent e;
  e.set_sequence(sequence);
  e.set_type(static_cast<v1::EventType>(type));
  SetTimestampUs(time_us, e.mutable_time());
  ToProto(c, time_us, interface, e.mutable_connection());
  if (type == FlowEventType::kClosed) {
    e.mutable_connection()->set_closed(true);
    SetTimestampUs(time_us, e.mutable_connection()->mutable_closed_at());
    e.mutable_connection()->set_close_reason(static_cast<v1::CloseReason>(reason));
    e.set_close_reason(static_cast<v1::CloseReason>(reason));
  }
  e.set_lost(lost);
  google::protobuf::LogSilencer quiet;
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(e, &json).ok());
  return json;
}

Connection MakeConnection(uint64_t id) {
  Connection c;
  c.id = id;
  c.key.protocol = 6;
  c.key.ip_version = 4;
  c.first_seen_us = 1'700'000'000'000'000 + static_cast<int64_t>(id);
  c.last_seen_us = c.first_seen_us + 5;
  c.packets[0] = id;
  c.bytes[0] = 100 * id;
  return c;
}

absl::StatusOr<std::unique_ptr<JsonLogSink>> OpenSink(const std::string& path,
                                                      size_t capacity = 1024,
                                                      EventHub* hub = nullptr) {
  JsonLogOptions o;
  o.path = path;
  o.interface = "test0";
  o.queue_capacity = capacity;
  o.events = hub;
  return JsonLogSink::Open(std::move(o));
}

void WaitForWritten(const JsonLogSink& sink, uint64_t n) {
  for (int i = 0; i < 500 && sink.stats().written < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(sink.stats().written == n);
}

TEST_CASE("json_log_line_matches_protobuf_on_every_fixture_connection", "[json_log]") {
  const auto files = testing::FixtureCaptures();
  REQUIRE(files.size() >= 30);
  size_t total = 0;
  for (const std::string& file : files) {
    INFO(file);
    auto source = PcapSource::OpenFile(file, "");
    REQUIRE(source.ok());
    PipelineOptions p;
    p.workers = 1;
    p.publish_snapshots = false;
    p.keep_removed = true;
    Pipeline pipeline(p, std::move(*source));
    pipeline.Start();
    pipeline.Join();
    const int64_t now = pipeline.clock_us();
    const std::string iface = pipeline.source().name();
    pipeline.ForEachConnection([&](const Connection& c) {
      ++total;
      struct Case {
        FlowEventType type;
        CloseReason reason;
        uint64_t lost;
      };
      for (const Case k : {Case{FlowEventType::kOpened, CloseReason::kNone, 0},
                           Case{FlowEventType::kClassified, CloseReason::kNone, 3},
                           Case{FlowEventType::kClosed, CloseReason::kFin, 0},
                           Case{FlowEventType::kClosed, CloseReason::kReset, 1},
                           Case{FlowEventType::kClosed, CloseReason::kTimeout, 0},
                           Case{FlowEventType::kClosed, CloseReason::kEvicted, 0},
                           Case{FlowEventType::kClosed, CloseReason::kReplaced, 0},
                           Case{FlowEventType::kClosed, CloseReason::kShutdown, 12345}}) {
        const int64_t t = std::max(now, c.last_seen_us);
        std::string mine;
        JsonLogSink::AppendEventJson(total, k.type, k.reason, t, c, iface, k.lost, &mine);
        CHECK(mine == ProtobufEventJson(total, k.type, k.reason, t, c, iface, k.lost));
      }
    });
  }
  CHECK(total > 100);
}

TEST_CASE("json_log_writes_a_line_per_event", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/events.jsonl";
  auto sink = OpenSink(path);
  REQUIRE(sink.ok());
  const Connection a = MakeConnection(1), b = MakeConnection(2), c = MakeConnection(3);
  const ClosedConnection closed[] = {{&a, CloseReason::kFin, 10}, {&b, CloseReason::kReset, 11}};
  (*sink)->OnClosed(closed, "test0");
  const Connection* open_rows[] = {&c};
  (*sink)->OnFinalTable(FinalTable{open_rows, 20, "test0"});
  REQUIRE((*sink)->Flush().ok());
  const auto lines = ReadLines(path);
  REQUIRE(lines.size() == 3);
  const v1::CloseReason want[] = {v1::CLOSE_REASON_FIN, v1::CLOSE_REASON_RESET,
                                  v1::CLOSE_REASON_SHUTDOWN};
  for (size_t i = 0; i < lines.size(); ++i) {
    const v1::ConnectionEvent e = ParseEvent(lines[i]);
    CHECK(e.sequence() == i + 1);
    CHECK(e.type() == v1::EVENT_TYPE_CLOSED);
    CHECK(e.close_reason() == want[i]);
    CHECK(e.connection().id() == i + 1);
    CHECK(e.connection().sent().packets() == i + 1);
    CHECK(e.connection().closed());
    CHECK(e.lost() == 0);
  }
  CHECK((*sink)->stats().written == 3);
  CHECK((*sink)->stats().dropped == 0);
}

TEST_CASE("json_log_queue_full_drops_and_counts", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/events.jsonl";
  auto sink = OpenSink(path, /*capacity=*/4);
  REQUIRE(sink.ok());
  std::vector<Connection> conns;
  for (uint64_t i = 1; i <= 10; ++i) conns.push_back(MakeConnection(i));
  std::vector<ClosedConnection> closed;
  for (const Connection& c : conns) closed.push_back({&c, CloseReason::kTimeout, 5});
  // One call: 4 fit, 6 are dropped there and then, whatever the thread does.
  const auto start = std::chrono::steady_clock::now();
  (*sink)->OnClosed(closed, "test0");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(50));
  CHECK((*sink)->stats().dropped == 6);
  (*sink)->OnFinalTable(FinalTable{{}, 20, "test0"});
  const auto lines = ReadLines(path);
  REQUIRE(lines.size() == 4);
  // The loss shows as a gap in the sequence and in `lost`.
  const v1::ConnectionEvent last = ParseEvent(lines.back());
  CHECK(last.sequence() == 10);
  CHECK(last.lost() == 6);
  CHECK(ParseEvent(lines.front()).sequence() == 7);
  CHECK((*sink)->stats().written == 4);
}

TEST_CASE("json_log_file_is_0600_also_when_reopened", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/events.jsonl";
  const mode_t old_umask = umask(0);
  auto sink = OpenSink(path);
  umask(old_umask);
  REQUIRE(sink.ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::filesystem::rename(path, path + ".1");
  umask(0);
  REQUIRE((*sink)->Reopen().ok());
  umask(old_umask);
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  sink->reset();
}

TEST_CASE("json_log_reopen_continues_in_the_new_file", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/events.jsonl";
  auto sink = OpenSink(path);
  REQUIRE(sink.ok());
  std::vector<Connection> conns;
  for (uint64_t i = 1; i <= 5; ++i) conns.push_back(MakeConnection(i));
  const ClosedConnection first[] = {{&conns[0], CloseReason::kFin, 1},
                                    {&conns[1], CloseReason::kFin, 2}};
  (*sink)->OnClosed(first, "test0");
  WaitForWritten(**sink, 2);
  std::filesystem::rename(path, path + ".1");
  REQUIRE((*sink)->Reopen().ok());
  const ClosedConnection second[] = {{&conns[2], CloseReason::kFin, 3},
                                     {&conns[3], CloseReason::kFin, 4}};
  (*sink)->OnClosed(second, "test0");
  const Connection* open_rows[] = {&conns[4]};
  (*sink)->OnFinalTable(FinalTable{open_rows, 20, "test0"});
  const auto old_lines = ReadLines(path + ".1");
  const auto new_lines = ReadLines(path);
  REQUIRE(old_lines.size() == 2);
  REQUIRE(new_lines.size() == 3);
  CHECK(ParseEvent(new_lines.front()).sequence() == 3);
  CHECK(ParseEvent(new_lines.back()).close_reason() == v1::CLOSE_REASON_SHUTDOWN);
}

TEST_CASE("json_log_reopen_fails_cleanly_and_keeps_the_old_file", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string sub = dir + "/sub";
  std::filesystem::create_directory(sub);
  auto sink = OpenSink(sub + "/events.jsonl");
  REQUIRE(sink.ok());
  std::filesystem::rename(sub, dir + "/gone");
  const absl::Status s = (*sink)->Reopen();
  CHECK(!s.ok());
  CHECK(std::string(s.message()).find("cannot open the JSON log") != std::string::npos);
  const Connection a = MakeConnection(1);
  const Connection* rows[] = {&a};
  (*sink)->OnFinalTable(FinalTable{rows, 20, "test0"});
  CHECK(ReadLines(dir + "/gone/events.jsonl").size() == 1);
}

TEST_CASE("json_log_opened_and_classified_from_the_event_hub", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/events.jsonl";
  EventHub hub;
  auto sink = OpenSink(path, 1024, &hub);
  REQUIRE(sink.ok());
  CHECK(hub.wanted());
  const Connection a = MakeConnection(1);
  std::vector<FlowEvent> events(3);
  events[0].type = FlowEventType::kOpened;
  events[0].time_us = 1;
  events[0].connection = a;
  events[1].type = FlowEventType::kClassified;
  events[1].time_us = 2;
  events[1].connection = a;
  events[2].type = FlowEventType::kClosed;  // The hub's; the log takes OnClosed's.
  events[2].reason = CloseReason::kFin;
  events[2].connection = a;
  hub.Publish(&events);
  const ClosedConnection closed[] = {{&a, CloseReason::kFin, 3}};
  (*sink)->OnClosed(closed, "test0");
  (*sink)->OnFinalTable(FinalTable{{}, 20, "test0"});
  CHECK(!hub.wanted());
  const auto lines = ReadLines(path);
  REQUIRE(lines.size() == 3);
  CHECK(ParseEvent(lines[0]).type() == v1::EVENT_TYPE_OPENED);
  CHECK(ParseEvent(lines[0]).connection().interface() == "test0");
  CHECK(ParseEvent(lines[1]).type() == v1::EVENT_TYPE_CLASSIFIED);
  CHECK(ParseEvent(lines[1]).close_reason() == v1::CLOSE_REASON_UNSPECIFIED);
  CHECK(ParseEvent(lines[2]).type() == v1::EVENT_TYPE_CLOSED);
}

TEST_CASE("json_log_events_choose_what_is_written", "[json_log]") {
  const testing::TempDir tmp("rn_json_log");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/events.jsonl";
  EventHub hub;
  JsonLogOptions o;
  o.path = path;
  o.events = &hub;
  o.opened = true;
  o.classified = false;
  o.closed = false;
  auto sink = JsonLogSink::Open(std::move(o));
  REQUIRE(sink.ok());
  const Connection a = MakeConnection(1);
  std::vector<FlowEvent> events(2);
  events[0].type = FlowEventType::kOpened;
  events[0].connection = a;
  events[1].type = FlowEventType::kClassified;
  events[1].connection = a;
  hub.Publish(&events);
  const ClosedConnection closed[] = {{&a, CloseReason::kFin, 3}};
  (*sink)->OnClosed(closed, "test0");
  const Connection* rows[] = {&a};
  (*sink)->OnFinalTable(FinalTable{rows, 20, "test0"});
  const auto lines = ReadLines(path);
  REQUIRE(lines.size() == 1);
  CHECK(ParseEvent(lines[0]).type() == v1::EVENT_TYPE_OPENED);
}

}  // namespace
}  // namespace rustnet
