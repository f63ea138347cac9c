// The Graph tab from canned GetTimeline replies and the Interfaces tab from
// canned ListInterfaces replies.
#include <catch2/catch.hpp>

#include "client/tabs/graph_model.h"
#include "client/tabs/graph_view.h"
#include "client/tabs/interfaces_model.h"
#include "client/tabs/interfaces_view.h"
#include "google/protobuf/util/time_util.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;
using google::protobuf::util::TimeUtil;

constexpr int64_t kT0 = 1'700'000'000;

// `n` per-second points; point i has i*100 bytes in, 10 out, one connection
// opened every 10 s, and TLS bytes.
v1::GetTimelineResponse Timeline(int n, v1::TimelineResolution res = v1::TIMELINE_RESOLUTION_SECOND) {
  v1::GetTimelineResponse r;
  r.set_resolution(res);
  const int64_t step = res == v1::TIMELINE_RESOLUTION_MINUTE ? 60 : 1;
  for (int i = 0; i < n; ++i) {
    v1::TimelinePoint* p = r.add_points();
    *p->mutable_time() = TimeUtil::SecondsToTimestamp(kT0 + i * step);
    p->set_bytes_in(static_cast<uint64_t>(i) * 100);
    p->set_bytes_out(10);
    p->set_connections_opened(i % 10 == 0 ? 1 : 0);
    p->set_connections_closed(i % 20 == 0 ? 1 : 0);
    p->set_tcp_retransmissions(i == n - 1 ? 3 : 0);
    (*p->mutable_bytes_by_application())["tls"] = 90;
    (*p->mutable_bytes_by_application())["dns"] = 10;
    (*p->mutable_active_by_protocol())["tcp"] = static_cast<uint64_t>(i);
    (*p->mutable_active_by_protocol())["udp"] = 2;
  }
  *r.mutable_now() = TimeUtil::SecondsToTimestamp(kT0 + (n - 1) * step);
  return r;
}

TEST_CASE("graph: the window's series from timeline points", "[client][tabs][graph]") {
  GraphModel m;
  CHECK(m.window() == GraphWindow::kMinute);
  m.OnTimeline(Timeline(100));
  REQUIRE(m.have_data());
  REQUIRE(m.rate_in().size() == 60);
  CHECK(m.rate_in().back() == 9900);  // The newest point, bytes per second.
  CHECK(m.rate_in().front() == 4000);
  CHECK(m.total_opened() == 6);
  CHECK(m.total_closed() == 3);
  CHECK(m.total_retransmissions() == 3);
  REQUIRE(m.app_mix().size() == 2);
  CHECK(m.app_mix()[0] == std::make_pair(std::string("tls"), uint64_t{90 * 60}));
  REQUIRE(m.active().size() == 2);
  CHECK(m.active()[0] == std::make_pair(std::string("tcp"), uint64_t{99}));
  // Fewer points than the window: padded at the front, "now" stays right.
  m.SetWindow(GraphWindow::kTenMinutes);
  REQUIRE(m.rate_in().size() == 600);
  CHECK(m.rate_in()[499] == 0);
  CHECK(m.rate_in()[599] == 9900);
  // 24 h needs per-minute points: the per-second data is dropped, and
  // per-second replies are ignored.
  m.SetWindow(GraphWindow::kDay);
  CHECK(m.resolution() == v1::TIMELINE_RESOLUTION_MINUTE);
  CHECK_FALSE(m.have_data());
  m.OnTimeline(Timeline(100));
  CHECK_FALSE(m.have_data());
  m.OnTimeline(Timeline(30, v1::TIMELINE_RESOLUTION_MINUTE));
  REQUIRE(m.have_data());
  REQUIRE(m.rate_in().size() == 1440);
  CHECK(m.rate_in().back() == 2900.0 / 60);  // Bytes per minute over 60.
  m.NextWindow();
  CHECK(m.window() == GraphWindow::kMinute);
}

TEST_CASE("graph view: charts with units, and the window key", "[client][tabs][graph]") {
  GraphView view;
  const Glyphs glyphs{true};
  const std::string filter;
  TabContext ctx{glyphs, filter, false, absl::Now()};
  ApiRequest r = view.Request(ctx);
  CHECK(r.kind == ApiRequest::Kind::kTimeline);
  CHECK_FALSE(r.timeline.has_since());  // The daemon's clock is not known yet.
  ApiReply reply;
  reply.kind = ApiRequest::Kind::kTimeline;
  reply.timeline = Timeline(100);
  view.OnReply(reply);
  r = view.Request(ctx);
  REQUIRE(r.timeline.has_since());  // Only the window's points from now on.
  CHECK(r.timeline.since().seconds() == kT0 + 99 - 62);
  std::vector<Line> out;
  view.Render(ctx, 100, 30, &out);
  std::string text;
  for (const Line& l : out) text += l.Text() + "\n";
  CHECK(text.find("Traffic in") != std::string::npos);
  CHECK(text.find("10.0 KB/s") != std::string::npos);  // The axis top for 9900 B/s.
  CHECK(text.find("0 B/s") != std::string::npos);
  CHECK(text.find("\u2588") != std::string::npos);  // Bars were drawn.
  CHECK(text.find("tls 90%") != std::string::npos);
  CHECK(text.find("tcp 99") != std::string::npos);
  CHECK(text.find("-1m") != std::string::npos);
  for (const Line& l : out) CHECK(DisplayWidth(l.Text()) <= 100);
  TabAction action;
  CHECK(view.OnKey(Key::Char(U'w'), ctx, &action));
  CHECK(view.model().window() == GraphWindow::kTenMinutes);
  CHECK(view.OnKey(Key::Char(U'-'), ctx, &action));
  CHECK(view.model().window() == GraphWindow::kMinute);
  CHECK_FALSE(view.OnKey(Key::Char(U'z'), ctx, &action));
}

v1::ListInterfacesResponse Interfaces(uint64_t lo_bytes, uint64_t eth_errors) {
  v1::ListInterfacesResponse r;
  v1::Interface* lo = r.add_interfaces();
  lo->set_name("lo");
  lo->set_up(true);
  lo->set_running(true);
  lo->set_loopback(true);
  lo->add_addresses("127.0.0.1");
  lo->mutable_counters()->set_rx_bytes(lo_bytes);
  lo->mutable_counters()->set_tx_bytes(lo_bytes);
  lo->mutable_counters()->set_rx_packets(lo_bytes / 100);
  v1::Interface* eth = r.add_interfaces();
  eth->set_name("eth0");
  eth->set_up(true);
  eth->set_capturing(true);
  eth->mutable_counters()->set_rx_errors(eth_errors);
  v1::Interface* bare = r.add_interfaces();
  bare->set_name("veth9");  // No counters (another namespace).
  return r;
}

TEST_CASE("interfaces: rates from two replies' kernel counters", "[client][tabs][interfaces]") {
  InterfacesModel m;
  const absl::Time t0 = absl::FromUnixSeconds(kT0);
  m.OnInterfaces(Interfaces(1000, 0), t0);
  REQUIRE(m.rows().size() == 3);
  CHECK_FALSE(m.rows()[0].have_rates);
  m.OnInterfaces(Interfaces(21000, 4), t0 + absl::Seconds(2));
  CHECK(m.rows()[0].have_rates);
  CHECK(m.rows()[0].rx_bytes_rate == 10000);
  CHECK(m.rows()[0].rx_packet_rate == 100);
  CHECK_FALSE(m.rows()[2].have_rates);
  // A counter that went backwards (interface re-created) is not a rate.
  m.OnInterfaces(Interfaces(500, 4), t0 + absl::Seconds(3));
  CHECK(m.rows()[0].rx_bytes_rate == 0);

  InterfacesView view;
  const Glyphs glyphs{true};
  const std::string filter;
  TabContext ctx{glyphs, filter, false, absl::Now()};
  ApiReply reply;
  reply.kind = ApiRequest::Kind::kInterfaces;
  reply.interfaces = Interfaces(1000, 0);
  reply.received = t0;
  v1::Stats stats;
  v1::CaptureStats* cap = stats.add_captures();
  cap->set_name("eth0");
  cap->set_live(true);
  cap->set_received(5000);
  cap->set_dropped_kernel(7);
  reply.stats = stats;
  view.OnReply(reply);
  reply.interfaces = Interfaces(3048, 4);
  reply.received = t0 + absl::Seconds(1);
  view.OnReply(reply);
  std::vector<Line> out;
  view.Render(ctx, 150, 10, &out);
  std::string text;
  for (const Line& l : out) text += l.Text() + "\n";
  CHECK(text.find("2.00 KB/s") != std::string::npos);  // lo's rate.
  CHECK(text.find("* eth0") != std::string::npos);      // The captured one.
  CHECK(text.find("dropped 7") != std::string::npos);
  CHECK(text.find("127.0.0.1") != std::string::npos);
  for (const Line& l : out) CHECK(DisplayWidth(l.Text()) <= 150);
  TabAction action;
  CHECK(view.OnKey(Key::Of(KeyCode::kDown), ctx, &action));
  CHECK(view.model().selected() == 1);
  CHECK(view.OnClick(4, 0, false, ctx, &action));
  CHECK(view.model().selected() == 2);
}

}  // namespace
}  // namespace rustnet::client
