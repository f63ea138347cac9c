// The metrics collector: closed totals plus the live snapshot, counted once
// and never going down as a connection closes; top-N processes with the
// rest folded into "other"; the exposition promtool accepts (the
// integration test, tests/integration/metrics_test.py, checks that part).
#include "daemon/export/metrics/metrics_collector.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

Connection Tcp(uint64_t id, uint64_t out_bytes, uint64_t in_bytes) {
  Connection c;
  c.id = id;
  c.key.protocol = kIpProtoTcp;
  c.local = 0;
  c.bytes[0] = out_bytes;  // Sent by endpoint A, the local one.
  c.bytes[1] = in_bytes;
  c.packets[0] = 1;
  c.packets[1] = 1;
  c.state = ConnState::kEstablished;
  c.in_use = true;
  return c;
}

void Own(Connection* c, const std::string& process) {
  auto record = std::make_shared<ProcessRecord>();
  record->name = process;
  record->pid = 100;
  auto a = std::make_shared<Attribution>();
  a->side[0].process = record;
  c->attribution = a;
}

void Close(MetricsCollector* m, const Connection& c, CloseReason r = CloseReason::kFin) {
  const ClosedConnection closed{&c, r, c.last_seen_us};
  m->OnClosed(std::span<const ClosedConnection>(&closed, 1), "eth0");
}

// Every sample line, "name{labels}" -> value.
std::map<std::string, uint64_t> Samples(const std::string& text) {
  std::map<std::string, uint64_t> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    uint64_t v = 0;
    if (absl::SimpleAtoi(line.substr(space + 1), &v)) out[line.substr(0, space)] = v;
  }
  return out;
}

constexpr char kTcpOut[] =
    "rustnet_bytes_total{direction=\"out\",protocol=\"tcp\",application=\"unknown\"}";
constexpr char kTcpIn[] =
    "rustnet_bytes_total{direction=\"in\",protocol=\"tcp\",application=\"unknown\"}";
constexpr char kOpened[] = "rustnet_connections_opened_total{protocol=\"tcp\"}";
constexpr char kClosedFin[] = "rustnet_connections_closed_total{protocol=\"tcp\",reason=\"fin\"}";

std::optional<uint64_t> Get(const std::map<std::string, uint64_t>& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end()) return std::nullopt;
  return it->second;
}

TEST_CASE("metrics: closed connections add to the live table, counted once", "[metrics]") {
  SnapshotStore store(1);
  MetricsCollector m({});
  m.Attach(&store, nullptr);
  store.Publish(0, SnapshotOf(1, {Tcp(1, 100, 10), Tcp(2, 5, 5)}));
  auto s = Samples(m.Render(ExpositionFormat::kPrometheusText));
  CHECK(Get(s, kTcpOut) == 105u);
  CHECK(Get(s, kTcpIn) == 15u);
  CHECK(Get(s, kOpened) == 2u);
  CHECK(Get(s, "rustnet_connections{protocol=\"tcp\",state=\"established\"}") == 2u);
  CHECK(!Get(s, kClosedFin).has_value());

  // Connection 1 closes with more bytes, but the worker has not published
  // yet: the snapshot still holds it as it was. Not counted twice.
  Connection closed = Tcp(1, 150, 20);
  Close(&m, closed);
  s = Samples(m.Render(ExpositionFormat::kPrometheusText));
  CHECK(Get(s, kTcpOut) == 105u);
  CHECK(Get(s, kOpened) == 2u);
  CHECK(!Get(s, kClosedFin).has_value());

  // The worker publishes without it: counted closed, with its final bytes.
  store.Publish(0, SnapshotOf(2, {Tcp(2, 5, 5)}));
  s = Samples(m.Render(ExpositionFormat::kPrometheusText));
  CHECK(Get(s, kTcpOut) == 155u);
  CHECK(Get(s, kTcpIn) == 25u);
  CHECK(Get(s, kOpened) == 2u);
  CHECK(Get(s, kClosedFin) == 1u);
  CHECK(Get(s, "rustnet_connections{protocol=\"tcp\",state=\"established\"}") == 1u);
  // And stays so.
  s = Samples(m.Render(ExpositionFormat::kPrometheusText));
  CHECK(Get(s, kTcpOut) == 155u);
  CHECK(Get(s, kClosedFin) == 1u);
}

void Close(MetricsCollector* m, const Connection& c, int64_t time_us) {
  const ClosedConnection closed{&c, CloseReason::kFin, time_us};
  m->OnClosed(std::span<const ClosedConnection>(&closed, 1), "eth0");
}

// Renders and checks that no counter went down since the last render.
class MonotonicScraper {
 public:
  explicit MonotonicScraper(MetricsCollector* m) : m_(m) {}
  std::map<std::string, uint64_t> Scrape() {
    auto s = Samples(m_->Render(ExpositionFormat::kPrometheusText));
    for (const auto& [key, v] : last_) {
      // rustnet's counters (process_* are not integers, and not ours to test).
      if (key.rfind("rustnet_", 0) != 0 || key.find("_total") == std::string::npos) continue;
      INFO(key);
      CHECK(Get(s, key).value_or(0) >= v);
    }
    last_ = s;
    return s;
  }

 private:
  MetricsCollector* m_;
  std::map<std::string, uint64_t> last_;
};

TEST_CASE("metrics: a full pending list commits closes the snapshots no longer hold, exactly",
          "[metrics]") {
  SnapshotStore store(2);
  MetricsCollectorOptions o;
  o.max_pending = 1;
  MetricsCollector m(o);
  m.Attach(&store, nullptr);
  MonotonicScraper scraper(&m);
  std::vector<Connection> live;
  for (uint64_t id = 1; id <= 10; ++id) live.push_back(Tcp(id, 100, 0));
  store.Publish(0, SnapshotOf(1'000, live));
  store.Publish(1, SnapshotOf(1'000, {}));
  CHECK(Get(scraper.Scrape(), kTcpOut) == 1000u);
  // The workers publish (without them) before the closes are handed over.
  store.Publish(0, SnapshotOf(3'000, {}));
  store.Publish(1, SnapshotOf(3'000, {}));
  for (uint64_t id = 1; id <= 10; ++id) Close(&m, Tcp(id, 120, 0), 2'000);
  auto s = scraper.Scrape();
  CHECK(Get(s, kTcpOut) == 1200u);
  CHECK(Get(s, kOpened) == 10u);
  CHECK(Get(s, kClosedFin) == 10u);
}

TEST_CASE("metrics: counters never go down when more close than the pending list holds",
          "[metrics]") {
  SnapshotStore store(1);
  MetricsCollectorOptions o;
  o.max_pending = 1;
  MetricsCollector m(o);
  m.Attach(&store, nullptr);
  MonotonicScraper scraper(&m);
  std::vector<Connection> live;
  for (uint64_t id = 1; id <= 10; ++id) live.push_back(Tcp(id, 100, 0));
  store.Publish(0, SnapshotOf(1'000, live));
  scraper.Scrape();
  // They close while the last snapshot still holds them (the worker has
  // not published since): the overflow commits them at once.
  for (uint64_t id = 1; id <= 10; ++id) {
    Close(&m, Tcp(id, 120, 0), 1'500);
    scraper.Scrape();
  }
  store.Publish(0, SnapshotOf(2'000, {}));
  auto s = scraper.Scrape();
  CHECK(Get(s, kTcpOut).value_or(0) >= 1200u);
  CHECK(Get(s, kClosedFin) == 10u);
  // New traffic still shows once past the overcount.
  store.Publish(0, SnapshotOf(3'000, {Tcp(11, 5'000, 0)}));
  s = scraper.Scrape();
  CHECK(Get(s, kTcpOut) == 6200u);
}

TEST_CASE("metrics: 200 processes fold into the top 20 and other", "[metrics]") {
  SnapshotStore store(1);
  MetricsCollectorOptions o;
  o.top_processes = 20;
  MetricsCollector m(o);
  m.Attach(&store, nullptr);
  std::vector<Connection> live;
  uint64_t total = 0;
  for (uint64_t i = 1; i <= 200; ++i) {
    Connection c = Tcp(i, i * 10, i);
    Own(&c, absl::StrCat("proc", i));
    total += i * 11;
    live.push_back(c);
  }
  // Closed traffic counts for its process too: proc1 becomes the biggest.
  Connection big = Tcp(1000, 1'000'000, 0);
  Own(&big, "proc1");
  total += 1'000'000;
  Close(&m, big);
  store.Publish(0, SnapshotOf(1, live));
  const auto s = Samples(m.Render(ExpositionFormat::kPrometheusText));
  std::map<std::string, uint64_t> per_process;
  uint64_t sum = 0;
  for (const auto& [key, v] : s) {
    if (key.rfind("rustnet_process_bytes_total{", 0) != 0) continue;
    const size_t a = key.find("process=\"") + 9;
    per_process[key.substr(a, key.find('"', a) - a)] += v;
    sum += v;
  }
  CHECK(per_process.size() == 21);  // 20 named + other
  CHECK(per_process.count("other") == 1);
  CHECK(per_process["proc1"] == 1'000'011);
  for (uint64_t i = 182; i <= 200; ++i) {
    CHECK(per_process[absl::StrCat("proc", i)] == i * 11);
  }
  CHECK(per_process.count("proc181") == 0);
  uint64_t other = 0;
  for (uint64_t i = 2; i <= 181; ++i) other += i * 11;
  CHECK(per_process["other"] == other);
  CHECK(sum == total);
  CHECK(Get(s, "rustnet_process_bytes_total{process=\"proc1\",direction=\"out\"}") ==
        1'000'010u);
}

TEST_CASE("metrics: a process literally named other is folded, not a clashing series",
          "[metrics]") {
  SnapshotStore store(1);
  MetricsCollector m({});
  m.Attach(&store, nullptr);
  Connection c = Tcp(1, 10, 0);
  Own(&c, "other");
  store.Publish(0, SnapshotOf(1, {c}));
  const std::string text = m.Render(ExpositionFormat::kPrometheusText);
  const auto s = Samples(text);
  CHECK(Get(s, "rustnet_process_bytes_total{process=\"other\",direction=\"out\"}") == 10u);
  CHECK(text.find("process=\"other\",direction=\"out\"") ==
        text.rfind("process=\"other\",direction=\"out\""));
}

TEST_CASE("metrics: statistics from GetStats become capture and attribution series",
          "[metrics]") {
  MetricsCollectorOptions o;
  o.version = "9.9.9";
  MetricsCollector m(o);
  m.Attach(nullptr, [](rustnet::v1::Stats* s) {
    auto* cap = s->add_captures();
    cap->set_name("eth\"0");
    cap->set_received(1234);
    cap->set_dropped_kernel(5);
    s->mutable_pipeline()->set_dropped_queues(6);
    (*s->mutable_anomalies())["tls_sni_length_past_extension"] = 3;
    s->mutable_attribution()->set_attributed(8);
  });
  const std::string text = m.Render(ExpositionFormat::kOpenMetrics);
  const auto s = Samples(text);
  CHECK(Get(s, "rustnet_build_info{version=\"9.9.9\"}") == 1u);
  CHECK(Get(s, "rustnet_capture_packets_total{interface=\"eth\\\"0\"}") == 1234u);
  CHECK(Get(s, "rustnet_capture_dropped_total{interface=\"eth\\\"0\",reason=\"kernel\"}") == 5u);
  CHECK(Get(s, "rustnet_capture_dropped_total{interface=\"eth\\\"0\",reason=\"queue\"}") == 6u);
  CHECK(Get(s, "rustnet_dpi_anomalies_total{name=\"tls_sni_length_past_extension\"}") == 3u);
  CHECK(Get(s, "rustnet_attribution_total{result=\"attributed\"}") == 8u);
  CHECK(text.find("# TYPE process_resident_memory_bytes gauge\n") != std::string::npos);
  CHECK(text.size() > 6);
  CHECK(text.substr(text.size() - 6) == "# EOF\n");
}

// The exporters' counters from GetStats, byte for byte: IPFIX per
// collector (URL escaped as a label value), the history store, the JSON
// log and the pcap export.
TEST_CASE("metrics: exporter statistics from GetStats become series, byte for byte",
          "[metrics]") {
  rustnet::v1::Stats stats;
  auto* ipfix = stats.mutable_ipfix();
  auto* udp = ipfix->add_collectors();
  udp->set_url("udp://127.0.0.1:4739");
  udp->set_records(10);
  udp->set_messages(3);
  udp->set_bytes(1500);
  udp->set_dropped(2);
  udp->set_connected(true);
  auto* tcp = ipfix->add_collectors();
  tcp->set_url("tcp://[::1]:4739/\"x\"");
  tcp->set_records(7);
  tcp->set_messages(4);
  tcp->set_bytes(900);
  tcp->set_dropped(0);
  tcp->set_reconnects(5);
  tcp->set_connected(false);
  stats.mutable_history_store()->set_rows_written(42);
  stats.mutable_history_store()->set_rows_dropped(1);
  stats.mutable_history_store()->set_healthy(false);
  stats.mutable_json_log()->set_written(99);
  stats.mutable_json_log()->set_dropped(4);
  stats.mutable_pcap_export()->set_written(1234);
  stats.mutable_pcap_export()->set_dropped(6);

  ExpositionWriter w(ExpositionFormat::kPrometheusText);
  WriteExportMetrics(stats, &w);
  CHECK(w.Finish() ==
        "# HELP rustnet_ipfix_records_total IPFIX / NetFlow v9 data records sent, by collector.\n"
        "# TYPE rustnet_ipfix_records_total counter\n"
        "rustnet_ipfix_records_total{collector=\"udp://127.0.0.1:4739\"} 10\n"
        "rustnet_ipfix_records_total{collector=\"tcp://[::1]:4739/\\\"x\\\"\"} 7\n"
        "# HELP rustnet_ipfix_messages_total IPFIX messages (NetFlow v9 packets) sent, templates "
        "included, by collector.\n"
        "# TYPE rustnet_ipfix_messages_total counter\n"
        "rustnet_ipfix_messages_total{collector=\"udp://127.0.0.1:4739\"} 3\n"
        "rustnet_ipfix_messages_total{collector=\"tcp://[::1]:4739/\\\"x\\\"\"} 4\n"
        "# HELP rustnet_ipfix_bytes_total Bytes of the IPFIX / NetFlow v9 messages sent, by "
        "collector.\n"
        "# TYPE rustnet_ipfix_bytes_total counter\n"
        "rustnet_ipfix_bytes_total{collector=\"udp://127.0.0.1:4739\"} 1500\n"
        "rustnet_ipfix_bytes_total{collector=\"tcp://[::1]:4739/\\\"x\\\"\"} 900\n"
        "# HELP rustnet_ipfix_dropped_total Flow records not sent to a collector: queue full, "
        "collector down or send failed.\n"
        "# TYPE rustnet_ipfix_dropped_total counter\n"
        "rustnet_ipfix_dropped_total{collector=\"udp://127.0.0.1:4739\"} 2\n"
        "rustnet_ipfix_dropped_total{collector=\"tcp://[::1]:4739/\\\"x\\\"\"} 0\n"
        "# HELP rustnet_ipfix_reconnects_total TCP connections to a collector made after the "
        "first.\n"
        "# TYPE rustnet_ipfix_reconnects_total counter\n"
        "rustnet_ipfix_reconnects_total{collector=\"udp://127.0.0.1:4739\"} 0\n"
        "rustnet_ipfix_reconnects_total{collector=\"tcp://[::1]:4739/\\\"x\\\"\"} 5\n"
        "# HELP rustnet_ipfix_collector_connected 1 while the collector's TCP connection is up "
        "(UDP: always 1).\n"
        "# TYPE rustnet_ipfix_collector_connected gauge\n"
        "rustnet_ipfix_collector_connected{collector=\"udp://127.0.0.1:4739\"} 1\n"
        "rustnet_ipfix_collector_connected{collector=\"tcp://[::1]:4739/\\\"x\\\"\"} 0\n"
        "# HELP rustnet_history_store_rows_written_total Rows the history store wrote.\n"
        "# TYPE rustnet_history_store_rows_written_total counter\n"
        "rustnet_history_store_rows_written_total 42\n"
        "# HELP rustnet_history_store_rows_dropped_total Rows the history store did not store "
        "(queue full, or the store could not write).\n"
        "# TYPE rustnet_history_store_rows_dropped_total counter\n"
        "rustnet_history_store_rows_dropped_total 1\n"
        "# HELP rustnet_history_store_healthy 1 while the history store's writes succeed; 0 "
        "while it is failing and retrying.\n"
        "# TYPE rustnet_history_store_healthy gauge\n"
        "rustnet_history_store_healthy 0\n"
        "# HELP rustnet_json_log_lines_total Lines the JSON connection log wrote.\n"
        "# TYPE rustnet_json_log_lines_total counter\n"
        "rustnet_json_log_lines_total 99\n"
        "# HELP rustnet_json_log_dropped_total Events the JSON connection log did not write "
        "(queue full, fell behind, write failed).\n"
        "# TYPE rustnet_json_log_dropped_total counter\n"
        "rustnet_json_log_dropped_total 4\n"
        "# HELP rustnet_pcap_export_packets_total Packets the pcap export wrote.\n"
        "# TYPE rustnet_pcap_export_packets_total counter\n"
        "rustnet_pcap_export_packets_total 1234\n"
        "# HELP rustnet_pcap_export_dropped_total Packets the pcap export did not write because "
        "its writer was behind (never dropped from capture).\n"
        "# TYPE rustnet_pcap_export_dropped_total counter\n"
        "rustnet_pcap_export_dropped_total 6\n");
}

TEST_CASE("metrics: exporters that are off leave no series", "[metrics]") {
  rustnet::v1::Stats stats;
  stats.mutable_history_store()->set_healthy(true);
  ExpositionWriter w(ExpositionFormat::kPrometheusText);
  WriteExportMetrics(stats, &w);
  CHECK(w.Finish() ==
        "# HELP rustnet_history_store_rows_written_total Rows the history store wrote.\n"
        "# TYPE rustnet_history_store_rows_written_total counter\n"
        "rustnet_history_store_rows_written_total 0\n"
        "# HELP rustnet_history_store_rows_dropped_total Rows the history store did not store "
        "(queue full, or the store could not write).\n"
        "# TYPE rustnet_history_store_rows_dropped_total counter\n"
        "rustnet_history_store_rows_dropped_total 0\n"
        "# HELP rustnet_history_store_healthy 1 while the history store's writes succeed; 0 "
        "while it is failing and retrying.\n"
        "# TYPE rustnet_history_store_healthy gauge\n"
        "rustnet_history_store_healthy 1\n");

  // Through the collector: with none on, no exporter family at all; an
  // IPFIX exporter with one collector adds its series to the scrape.
  MetricsCollector none(MetricsCollectorOptions{});
  none.Attach(nullptr, [](rustnet::v1::Stats*) {});
  const std::string off = none.Render(ExpositionFormat::kPrometheusText);
  for (const char* family : {"rustnet_ipfix_", "rustnet_history_store_", "rustnet_json_log_",
                             "rustnet_pcap_export_"}) {
    CHECK(off.find(family) == std::string::npos);
  }
  MetricsCollector on(MetricsCollectorOptions{});
  on.Attach(nullptr, [](rustnet::v1::Stats* s) {
    auto* c = s->mutable_ipfix()->add_collectors();
    c->set_url("udp://127.0.0.1:9");
    c->set_records(3);
  });
  const auto samples = Samples(on.Render(ExpositionFormat::kOpenMetrics));
  CHECK(Get(samples, "rustnet_ipfix_records_total{collector=\"udp://127.0.0.1:9\"}") == 3u);
  CHECK(Get(samples, "rustnet_ipfix_collector_connected{collector=\"udp://127.0.0.1:9\"}") == 0u);
}

}  // namespace
}  // namespace rustnet

namespace rustnet {
namespace {

// Workers close connections and publish snapshots while scrapes run (the
// TSan build runs this too): every counter only goes up, and at the end
// the totals are exact.
TEST_CASE("metrics: scrapes beside closing workers count every connection once",
          "[metrics]") {
  constexpr int kWorkers = 2;
  constexpr uint64_t kPerWorker = 2000;
  SnapshotStore store(kWorkers);
  // The default pending list holds every close here: only scrapes move
  // them to the totals (the overflow tests above cover the rest).
  MetricsCollector m({});
  m.Attach(&store, nullptr);
  std::atomic<bool> done{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&store, &m, w] {
      std::vector<Connection> live;
      int64_t clock = 1;
      for (uint64_t i = 0; i < kPerWorker; ++i) {
        const uint64_t id = static_cast<uint64_t>(w) * kPerWorker + i + 1;
        live.push_back(Tcp(id, 10, 1));
        if (live.size() > 8) {
          // The oldest grows, then closes (handed over before the next publish).
          Connection gone = live.front();
          gone.bytes[0] += 5;
          live.erase(live.begin());
          const ClosedConnection closed{&gone, CloseReason::kFin, clock};
          m.OnClosed(std::span<const ClosedConnection>(&closed, 1), "eth0");
        }
        ++clock;
        if (i % 7 == 0) store.Publish(static_cast<size_t>(w), SnapshotOf(clock, live));
      }
      store.Publish(static_cast<size_t>(w), SnapshotOf(clock + 1, live));
    });
  }
  std::thread scraper([&m, &done] {
    MonotonicScraper s(&m);
    while (!done.load()) s.Scrape();
  });
  for (auto& t : workers) t.join();
  done.store(true);
  scraper.join();
  const auto s = Samples(m.Render(ExpositionFormat::kPrometheusText));
  const uint64_t n = kWorkers * kPerWorker;
  const uint64_t closed = n - kWorkers * 8;
  CHECK(Get(s, kOpened) == n);
  CHECK(Get(s, kClosedFin) == closed);
  CHECK(Get(s, kTcpOut) == n * 10 + closed * 5);
  CHECK(Get(s, kTcpIn) == n);
}

}  // namespace
}  // namespace rustnet
