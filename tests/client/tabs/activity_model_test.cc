// The Activity tab from canned GroupConnections replies: order, sorting,
// the 60-second series, the filter Enter applies, and the rendered table.
#include "client/tabs/activity_model.h"

#include <catch2/catch.hpp>
#include <string>

#include "client/tabs/activity_view.h"
#include "google/protobuf/util/time_util.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;
using google::protobuf::util::TimeUtil;

constexpr int64_t kT0 = 1'700'000'000'000'000;  // Microseconds.

v1::ConnectionGroup Group(const std::string& key, uint64_t in, uint64_t out, double rate = 0,
                          uint64_t total = 1) {
  v1::ConnectionGroup g;
  g.set_key(key);
  g.set_bytes_in(in);
  g.set_bytes_out(out);
  g.set_rate_in(rate);
  g.set_total_connections(total);
  g.set_open_connections(total);
  g.set_top_remote("peer.example");
  return g;
}

v1::GroupConnectionsResponse Reply(int64_t t_us, std::vector<v1::ConnectionGroup> groups) {
  v1::GroupConnectionsResponse r;
  for (auto& g : groups) *r.add_groups() = g;
  r.set_total_groups(static_cast<uint64_t>(r.groups_size()));
  r.set_complete(true);
  *r.mutable_snapshot_time() = TimeUtil::MicrosecondsToTimestamp(t_us);
  return r;
}

TEST_CASE("activity: rows sort by bytes, rate, connections, name", "[client][tabs][activity]") {
  ActivityModel m;
  m.OnGroups(Reply(kT0, {Group("curl /usr/bin/curl", 100, 0, 5, 20),
                         Group("sshd /usr/sbin/sshd", 5000, 0, 1, 2),
                         Group("", 300, 0, 50, 1)}));
  REQUIRE(m.rows().size() == 3);
  CHECK(m.rows()[0].key() == "sshd /usr/sbin/sshd");
  CHECK(m.rows()[1].key() == "");
  CHECK(m.rows()[2].key() == "curl /usr/bin/curl");
  m.NextSort();  // Rate.
  CHECK(m.sort() == ActivitySort::kRate);
  CHECK(m.rows()[0].key() == "");
  m.NextSort();  // Connections.
  CHECK(m.rows()[0].key() == "curl /usr/bin/curl");
  m.NextSort();  // Name.
  CHECK(m.rows()[0].key() == "");
  CHECK(m.rows()[1].key() == "curl /usr/bin/curl");
  m.NextSort();
  CHECK(m.sort() == ActivitySort::kBytes);
}

TEST_CASE("activity: the selection follows its group across refreshes",
          "[client][tabs][activity]") {
  ActivityModel m;
  m.OnGroups(Reply(kT0, {Group("a", 300, 0), Group("b", 200, 0), Group("c", 100, 0)}));
  m.Move(1);
  REQUIRE(m.Selected() != nullptr);
  CHECK(m.Selected()->key() == "b");
  m.OnGroups(Reply(kT0 + 1'000'000, {Group("b", 900, 0), Group("a", 300, 0), Group("c", 100, 0)}));
  CHECK(m.Selected()->key() == "b");
  CHECK(m.selected() == 0);
  m.Move(-5);
  CHECK(m.selected() == 0);
  m.Move(50);
  CHECK(m.selected() == 2);
}

TEST_CASE("activity: the 60-second series comes from successive totals",
          "[client][tabs][activity]") {
  ActivityModel m;
  // 1000 bytes per second for 10 s, then nothing for 5 s.
  uint64_t bytes = 0;
  for (int s = 0; s <= 15; ++s) {
    m.OnGroups(Reply(kT0 + s * 1'000'000, {Group("app", bytes, 0)}));
    if (s < 10) bytes += 1000;
  }
  const std::vector<double> series = m.Series("app");
  REQUIRE(series.size() == ActivityModel::kSeriesSeconds);
  // The newest second is last: the last five seconds are idle.
  for (size_t i = 55; i < 60; ++i) CHECK(series[i] == 0);
  CHECK(series[50] == 1000);
  CHECK(series[46] == 1000);
  CHECK(series[40] == 0);  // Before the first sample.
  CHECK(m.Series("unknown") == std::vector<double>(60, 0.0));
  // Samples older than the span are dropped, one kept to start it.
  for (int s = 16; s <= 200; ++s) m.OnGroups(Reply(kT0 + s * 1'000'000, {Group("app", bytes, 0)}));
  CHECK(m.Series("app") == std::vector<double>(60, 0.0));
  // A new grouping forgets rows and series.
  m.NextGrouping();
  CHECK(m.grouping() == ActivityGrouping::kApplication);
  CHECK(m.rows().empty());
  CHECK_FALSE(m.have_data());
}

TEST_CASE("activity: Enter's filter per grouping", "[client][tabs][activity]") {
  ActivityModel m;
  std::string why;
  CHECK(m.FilterFor(Group("curl /usr/bin/curl", 1, 1), &why) == "process:curl");
  CHECK(m.FilterFor(Group("Web Content /usr/lib/firefox/firefox", 1, 1), &why) ==
        "process:\"Web Content\"");
  CHECK_FALSE(m.FilterFor(Group("", 1, 1), &why).has_value());
  CHECK(why.find("without a process") != std::string::npos);
  CHECK_FALSE(m.FilterFor(Group("a\"b", 1, 1), &why).has_value());
  m.SetGrouping(ActivityGrouping::kApplication);
  CHECK(m.FilterFor(Group("tls", 1, 1), &why) == "app:tls");
  m.SetGrouping(ActivityGrouping::kRemoteHost);
  CHECK(m.FilterFor(Group("www.example.com", 1, 1), &why) == "host:www.example.com");
  CHECK(m.FilterFor(Group("192.0.2.7", 1, 1), &why) == "raddr:192.0.2.7");
  CHECK(m.FilterFor(Group("2001:db8::1", 1, 1), &why) == "raddr:2001:db8::1");
  m.SetGrouping(ActivityGrouping::kUser);
  CHECK(m.FilterFor(Group("alice", 1, 1), &why) == "user:alice");
  m.SetGrouping(ActivityGrouping::kUnit);
  CHECK_FALSE(m.FilterFor(Group("nginx.service", 1, 1), &why).has_value());
  CHECK(why.find("no key") != std::string::npos);
}

TEST_CASE("activity view: request, keys and the rendered table", "[client][tabs][activity]") {
  ActivityView view;
  const Glyphs glyphs{true};
  const std::string filter = "proto:tcp";
  TabContext ctx{glyphs, filter, true, absl::Now()};
  ApiRequest r = view.Request(ctx);
  CHECK(r.kind == ApiRequest::Kind::kGroups);
  CHECK(r.groups.group_by() == v1::GROUP_BY_PROCESS);
  CHECK(r.groups.filter() == "proto:tcp");
  CHECK(r.groups.include_closed());
  CHECK(r.groups.hide_loopback());
  TabAction action;
  CHECK(view.OnKey(Key::Char(U'g'), ctx, &action));
  CHECK(view.Request(ctx).groups.group_by() == v1::GROUP_BY_APPLICATION);
  CHECK(view.Request(ctx).identity != r.identity);
  for (int i = 0; i < kActivityGroupingCount - 1; ++i) view.OnKey(Key::Char(U'g'), ctx, &action);
  CHECK(view.Request(ctx).groups.group_by() == v1::GROUP_BY_PROCESS);

  ApiReply reply;
  reply.kind = ApiRequest::Kind::kGroups;
  reply.groups = Reply(kT0, {Group("curl /usr/bin/curl", 2048, 512, 0, 20)});
  view.OnReply(reply);
  std::vector<Line> out;
  view.Render(ctx, 140, 10, &out);
  std::string text;
  for (const Line& l : out) text += l.Text() + "\n";
  CHECK(text.find("Activity per process") != std::string::npos);
  CHECK(text.find("curl /usr/bin/curl") != std::string::npos);
  CHECK(text.find("2.00 KB") != std::string::npos);
  CHECK(text.find("512 B") != std::string::npos);
  CHECK(text.find("peer.example") != std::string::npos);
  for (const Line& l : out) CHECK(DisplayWidth(l.Text()) <= 140);
  // Enter filters Overview to the selected group; a click selects.
  TabAction enter;
  CHECK(view.OnKey(Key::Of(KeyCode::kEnter), ctx, &enter));
  CHECK(enter.apply_filter == std::optional<std::string>("process:curl"));
  TabAction click;
  CHECK(view.OnClick(2, 5, true, ctx, &click));
  CHECK(click.apply_filter == std::optional<std::string>("process:curl"));
  CHECK_FALSE(view.OnClick(9, 5, false, ctx, &click));  // Below the rows.
  // An error is shown, not the old rows.
  ApiReply failed;
  failed.kind = ApiRequest::Kind::kGroups;
  failed.status = absl::InvalidArgumentError("bad filter");
  view.OnReply(failed);
  out.clear();
  view.Render(ctx, 100, 10, &out);
  text.clear();
  for (const Line& l : out) text += l.Text() + "\n";
  CHECK(text.find("bad filter") != std::string::npos);
}

}  // namespace
}  // namespace rustnet::client
