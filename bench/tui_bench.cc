// rustnet-tui's CPU per refresh with 100,000 connections in the daemon's
// table: what the UI thread does with each answer (parse the reply bytes,
// take them into the view model, render the screen), for the Overview, the
// grouped Overview (`a`) and Activity, beside a baseline measured in the
// same run (the Overview of a 100-connection table). The daemon's side is
// not measured here (bench/api_bench.py measures ListConnections).
//
//   bench_tui [CONNECTIONS] [REFRESHES]     (defaults 100000, 200)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client/view_model.h"
#include "google/protobuf/util/time_util.h"

namespace {

namespace v1 = rustnet::v1;
using rustnet::client::ApiReply;
using rustnet::client::ApiRequest;
using rustnet::client::Key;
using rustnet::client::Query;
using rustnet::client::ViewModel;
using google::protobuf::util::TimeUtil;

constexpr int64_t kSnapUs = 1'700'000'000'000'000;
const absl::Time kNow = absl::FromUnixMicros(kSnapUs);

std::vector<v1::Connection> Table(size_t n) {
  std::vector<v1::Connection> rows(n);
  for (size_t i = 0; i < n; ++i) {
    v1::Connection& c = rows[i];
    c.set_id(i + 1);
    c.set_protocol(v1::PROTOCOL_TCP);
    c.set_ip_version(4);
    c.set_state(v1::CONNECTION_STATE_ESTABLISHED);
    c.mutable_local()->set_address("192.0.2.10");
    c.mutable_local()->set_port(static_cast<uint32_t>(10000 + i % 50000));
    c.mutable_remote()->set_address("198.51." + std::to_string(i / 256 % 256) + "." +
                                    std::to_string(i % 256));
    c.mutable_remote()->set_port(443);
    c.set_hostname("host" + std::to_string(i % 5000) + ".example.com");
    c.set_hostname_source("sni");
    c.set_rate_in(static_cast<double>(i % 1000));
    c.mutable_received()->set_bytes(i * 1000);
    c.mutable_process()->set_name("proc" + std::to_string(i % 200));
    c.mutable_process()->set_pid(static_cast<uint32_t>(1000 + i % 200));
    *c.mutable_last_seen() = TimeUtil::MicrosecondsToTimestamp(kSnapUs - static_cast<int64_t>(i % 600) * 1'000'000);
    *c.mutable_first_seen() = TimeUtil::MicrosecondsToTimestamp(kSnapUs - 700'000'000);
    *c.mutable_idle_timeout() = TimeUtil::SecondsToDuration(600);
    c.mutable_tcp()->mutable_handshake_rtt()->set_nanos(static_cast<int32_t>(1000 * (i % 5000)));
  }
  return rows;
}

// The daemon's answer to `q` as the bytes that arrive (sorting is the
// daemon's work and is not counted).
std::string Answer(const std::vector<v1::Connection>& rows, const Query& q) {
  v1::ListConnectionsResponse r;
  r.set_total(rows.size());
  r.set_matched(rows.size());
  r.set_offset(q.offset);
  const size_t end = q.limit == 0 ? rows.size() : std::min<size_t>(rows.size(), q.offset + q.limit);
  for (size_t i = q.offset; i < end; ++i) *r.add_connections() = rows[i];
  *r.mutable_snapshot_time() = TimeUtil::MicrosecondsToTimestamp(kSnapUs);
  return r.SerializeAsString();
}

template <typename F>
double MicrosPer(int n, F&& f) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f(i);
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(end - start).count() / n;
}

ViewModel MakeVm() {
  ViewModel::Options o;
  o.target = "bench";
  ViewModel vm(o);
  vm.Resize(200, 50);
  return vm;
}

// One refresh of the Overview (plain or grouped): parse, take, render.
double OverviewRefresh(const std::vector<v1::Connection>& rows, bool grouped, int refreshes,
                       size_t* rows_per_answer) {
  ViewModel vm = MakeVm();
  if (grouped) vm.HandleKey(Key::Char(U'a'), kNow);
  const Query q = vm.CurrentQuery();
  const std::string bytes = Answer(rows, q);
  size_t shown = 0;
  const double us = MicrosPer(refreshes, [&](int) {
    v1::ListConnectionsResponse page;
    page.ParseFromString(bytes);
    shown = static_cast<size_t>(page.connections_size());
    vm.OnPage(q, page);
    const auto lines = vm.Render(kNow);
    if (lines.empty()) std::abort();
  });
  *rows_per_answer = shown;
  return us;
}

double ActivityRefresh(size_t groups, int refreshes) {
  ViewModel vm = MakeVm();
  vm.HandleKey(Key::Char(U'3'), kNow);
  const ApiRequest req = vm.CurrentApiRequest(kNow);
  v1::GroupConnectionsResponse r;
  for (size_t i = 0; i < groups; ++i) {
    v1::ConnectionGroup* g = r.add_groups();
    g->set_key("proc" + std::to_string(i) + " /usr/bin/proc" + std::to_string(i));
    g->set_bytes_in(i * 100000);
    g->set_total_connections(500);
    g->set_open_connections(400);
    g->set_rate_in(static_cast<double>(i));
    g->set_top_remote("host.example.com");
  }
  r.set_total_groups(groups);
  r.set_complete(true);
  const double us = MicrosPer(refreshes, [&](int i) {
    *r.mutable_snapshot_time() = TimeUtil::MicrosecondsToTimestamp(kSnapUs + i * 1'000'000);
    for (auto& g : *r.mutable_groups()) g.set_bytes_in(g.bytes_in() + 1000);
    const std::string bytes = r.SerializeAsString();  // Stands in for the wire.
    ApiReply reply;
    reply.kind = req.kind;
    reply.identity = req.identity;
    reply.groups.ParseFromString(bytes);
    vm.OnApiReply(reply);
    const auto lines = vm.Render(kNow);
    if (lines.empty()) std::abort();
  });
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  const int refreshes = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::vector<v1::Connection> small = Table(100);
  const std::vector<v1::Connection> big = Table(n);
  size_t rows_small = 0, rows_big = 0, rows_grouped = 0;
  const double base = OverviewRefresh(small, false, refreshes, &rows_small);
  const double overview = OverviewRefresh(big, false, refreshes, &rows_big);
  const double grouped = OverviewRefresh(big, true, refreshes / 4 + 1, &rows_grouped);
  const double activity = ActivityRefresh(rustnet::client::ActivityModel::kGroupLimit, refreshes);
  std::printf("rustnet-tui CPU per refresh (parse + view model + render, 200x50 screen)\n");
  std::printf("  baseline: Overview,  %7zu connections (%5zu rows asked for): %9.1f us\n", small.size(),
              rows_small, base);
  std::printf("  Overview:            %7zu connections (%5zu rows asked for): %9.1f us (%.1fx)\n", n,
              rows_big, overview, overview / base);
  std::printf("  grouped (a):         %7zu connections (%5zu rows asked for): %9.1f us (%.1fx)\n", n,
              rows_grouped, grouped, grouped / base);
  std::printf("  Activity:            %7u groups:                              %9.1f us (%.1fx)\n",
              rustnet::client::ActivityModel::kGroupLimit, activity, activity / base);
  return 0;
}
