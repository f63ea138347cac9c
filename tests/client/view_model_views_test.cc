// rustnet-tui's tabs, the original's keys and the mouse, driven through the
// view model as the UI loop drives it.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "client/view_model.h"
#include "google/protobuf/util/time_util.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;
using google::protobuf::util::TimeUtil;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
constexpr int64_t kSnapUs = 1'700'000'000'000'000;

v1::Connection Conn(uint64_t id, const std::string& process = "") {
  v1::Connection c;
  c.set_id(id);
  c.set_protocol(v1::PROTOCOL_TCP);
  c.set_ip_version(4);
  c.set_state(v1::CONNECTION_STATE_ESTABLISHED);
  c.mutable_local()->set_address("192.0.2.10");
  c.mutable_local()->set_port(static_cast<uint32_t>(40000 + id));
  c.mutable_remote()->set_address("198.51.100.7");
  c.mutable_remote()->set_port(443);
  if (!process.empty()) {
    c.mutable_process()->set_name(process);
    c.mutable_process()->set_pid(static_cast<uint32_t>(1000 + id));
  }
  *c.mutable_last_seen() = TimeUtil::MicrosecondsToTimestamp(kSnapUs);
  *c.mutable_first_seen() = TimeUtil::MicrosecondsToTimestamp(kSnapUs - 5'000'000);
  *c.mutable_idle_timeout() = TimeUtil::SecondsToDuration(600);
  return c;
}

struct Daemon {
  std::vector<v1::Connection> rows;
  Query last;
  v1::ListConnectionsResponse Answer(const Query& q) {
    last = q;
    v1::ListConnectionsResponse r;
    r.set_total(rows.size());
    r.set_matched(rows.size());
    r.set_offset(q.offset);
    for (uint64_t i = q.offset; i < rows.size() && i < q.offset + uint64_t{q.limit}; ++i) {
      *r.add_connections() = rows[i];
    }
    *r.mutable_snapshot_time() = TimeUtil::MicrosecondsToTimestamp(kSnapUs);
    return r;
  }
  void Serve(ViewModel* vm) {
    const Query q = vm->CurrentQuery();
    vm->OnPage(q, Answer(q));
  }
};

ViewModel MakeVm(int w = 160, int h = 40) {
  ViewModel::Options o;
  o.target = "test";
  ViewModel vm(o);
  vm.Resize(w, h);
  return vm;
}

void Press(ViewModel* vm, char32_t c, absl::Time at = kNow) { vm->HandleKey(Key::Char(c), at); }
void Press(ViewModel* vm, KeyCode k) { vm->HandleKey(Key::Of(k), kNow); }
void Click(ViewModel* vm, int x, int y, absl::Time at = kNow) {
  vm->HandleKey(Key::Mouse(MouseAction::kClick, x, y), at);
}

std::string Screen(const ViewModel& vm) {
  std::string out;
  for (const Line& l : vm.Render(kNow)) out += l.Text() + "\n";
  return out;
}

// The screen line holding `text`, or null.
const Line* LineWith(const std::vector<Line>& lines, const std::string& text) {
  for (const Line& l : lines) {
    if (l.Text().find(text) != std::string::npos) return &l;
  }
  return nullptr;
}

TEST_CASE("views: 1-7, ] and [ reach every tab", "[client][views]") {
  ViewModel vm = MakeVm();
  const Tab order[] = {Tab::kOverview, Tab::kDetails, Tab::kActivity, Tab::kGraph,
                       Tab::kInterfaces, Tab::kHistory, Tab::kHelp};
  for (int i = 0; i < kTabCount; ++i) {
    Press(&vm, static_cast<char32_t>(U'1' + static_cast<char32_t>(i)));
    CHECK(vm.tab() == order[i]);
    CHECK(Screen(vm).find(std::string(TabName(order[i]))) != std::string::npos);
  }
  Press(&vm, U'1');
  for (int i = 1; i <= kTabCount; ++i) {
    Press(&vm, U']');
    CHECK(vm.tab() == order[i % kTabCount]);
  }
  Press(&vm, U'[');
  CHECK(vm.tab() == Tab::kHelp);
  Press(&vm, KeyCode::kBackTab);
  CHECK(vm.tab() == Tab::kHistory);
  Press(&vm, KeyCode::kTab);
  CHECK(vm.tab() == Tab::kHelp);
  Press(&vm, U'8');  // Not a tab.
  CHECK(vm.tab() == Tab::kHelp);
}

TEST_CASE("views: each data tab asks for its call, and only its answers count",
          "[client][views]") {
  ViewModel vm = MakeVm();
  CHECK(vm.CurrentApiRequest(kNow).kind == ApiRequest::Kind::kNone);
  Press(&vm, U'3');
  ApiRequest r = vm.CurrentApiRequest(kNow);
  CHECK(r.kind == ApiRequest::Kind::kGroups);
  Press(&vm, U'4');
  CHECK(vm.CurrentApiRequest(kNow).kind == ApiRequest::Kind::kTimeline);
  Press(&vm, U'5');
  CHECK(vm.CurrentApiRequest(kNow).kind == ApiRequest::Kind::kInterfaces);
  Press(&vm, U'6');
  CHECK(vm.CurrentApiRequest(kNow).kind == ApiRequest::Kind::kHistory);
  Press(&vm, U'3');
  // An answer for the previous grouping is dropped.
  ApiReply old;
  old.kind = ApiRequest::Kind::kGroups;
  old.identity = r.identity;
  v1::ConnectionGroup* g = old.groups.add_groups();
  g->set_key("curl /usr/bin/curl");
  Press(&vm, U'g');  // Per application now.
  vm.OnApiReply(old);
  CHECK_FALSE(vm.activity().model().have_data());
  ApiReply now = old;
  now.identity = vm.CurrentApiRequest(kNow).identity;
  g->set_key("tls");
  now.groups = old.groups;
  vm.OnApiReply(now);
  REQUIRE(vm.activity().model().rows().size() == 1);
  CHECK(Screen(vm).find("Activity per application") != std::string::npos);
  // Enter filters the Overview to the group and shows it.
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.tab() == Tab::kOverview);
  CHECK(vm.filter() == "app:tls");
  CHECK(vm.CurrentQuery().filter == "app:tls");
  // x clears it.
  Press(&vm, U'x');
  CHECK(vm.filter().empty());
}

TEST_CASE("views: t asks for closed connections and shows them dimmed with the reason",
          "[client][views]") {
  ViewModel vm = MakeVm();
  Daemon d;
  d.rows = {Conn(1), Conn(2)};
  d.rows[1].set_closed(true);
  d.rows[1].set_close_reason(v1::CLOSE_REASON_RESET);
  *d.rows[1].mutable_closed_at() = TimeUtil::MicrosecondsToTimestamp(kSnapUs - 1'000'000);
  d.rows[1].clear_idle_timeout();
  CHECK_FALSE(vm.CurrentQuery().include_closed);
  Press(&vm, U't');
  CHECK(vm.show_closed());
  CHECK(vm.CurrentQuery().include_closed);
  CHECK(vm.CurrentQuery().ToRequest().include_closed());
  d.Serve(&vm);
  const std::vector<Line> lines = vm.Render(kNow);
  const Line* row = LineWith(lines, "\u2715 reset");
  REQUIRE(row != nullptr);
  for (const Segment& s : row->segments) {
    if (s.text != " ") CHECK(s.style == Style::kDim);
  }
  CHECK(Screen(vm).find("closed shown") != std::string::npos);
  // Details: when and why it closed, and how long it lived.
  Press(&vm, KeyCode::kDown);
  Press(&vm, KeyCode::kEnter);
  const std::string details = Screen(vm);
  CHECK(details.find("close reason") != std::string::npos);
  CHECK(details.find("reset") != std::string::npos);
  CHECK(details.find("duration") != std::string::npos);
  CHECK(details.find("4s") != std::string::npos);  // 5 s before the snapshot to 1 s before.
  Press(&vm, KeyCode::kEscape);
  Press(&vm, U't');
  CHECK_FALSE(vm.CurrentQuery().include_closed);
}

TEST_CASE("views: rows near their idle timeout turn yellow, then red", "[client][views]") {
  ViewModel vm = MakeVm();
  Daemon d;
  d.rows = {Conn(1), Conn(2), Conn(3)};
  *d.rows[1].mutable_last_seen() = TimeUtil::MicrosecondsToTimestamp(kSnapUs - 500'000'000);
  *d.rows[2].mutable_last_seen() = TimeUtil::MicrosecondsToTimestamp(kSnapUs - 560'000'000);
  d.Serve(&vm);
  const std::vector<Line> lines = vm.Render(kNow);
  const Line* warn = LineWith(lines, ":40002");
  const Line* bad = LineWith(lines, ":40003");
  REQUIRE(warn != nullptr);
  REQUIRE(bad != nullptr);
  CHECK(warn->segments[0].style == Style::kWarn);  // 500 of 600 s: past 75 %.
  CHECK(bad->segments[0].style == Style::kBad);    // 560 of 600 s: past 90 %.
  const Line* fresh = LineWith(lines, ":40001");
  REQUIRE(fresh != nullptr);
  CHECK(fresh->segments[0].style == Style::kSelected);
}

TEST_CASE("views: a groups by process; Space, arrows and Enter work the tree",
          "[client][views]") {
  ViewModel vm = MakeVm();
  Daemon d;
  d.rows = {Conn(1, "curl"), Conn(2, "curl"), Conn(3, "sshd"), Conn(4)};
  d.rows[0].set_rate_in(1024);
  Press(&vm, U'a');
  CHECK(vm.grouped());
  const Query q = vm.CurrentQuery();
  CHECK(q.sort == v1::SORT_FIELD_PROCESS);
  CHECK(q.offset == 0);
  CHECK(q.limit == ViewModel::kGroupedRows);
  d.Serve(&vm);
  std::string screen = Screen(vm);
  CHECK(screen.find("curl \u00b7 2 connections") != std::string::npos);
  CHECK(screen.find("in 1.00 KB/s") != std::string::npos);
  CHECK(screen.find("sshd \u00b7 1 connection") != std::string::npos);
  CHECK(screen.find("(no process)") != std::string::npos);
  CHECK(screen.find(":40001") == std::string::npos);  // Collapsed.
  Press(&vm, U' ');
  CHECK(vm.tree().expanded("curl"));
  CHECK(Screen(vm).find(":40001") != std::string::npos);
  Press(&vm, KeyCode::kDown);  // The first connection of curl.
  CHECK(vm.tree_cursor() == 1);
  // A refresh keeps the tree open and the cursor on its connection.
  d.Serve(&vm);
  CHECK(vm.tree().expanded("curl"));
  CHECK(vm.tree_cursor() == 1);
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.tab() == Tab::kDetails);
  REQUIRE(vm.Selected() != nullptr);
  CHECK(vm.Selected()->id() == 1);
  Press(&vm, KeyCode::kEscape);
  Press(&vm, KeyCode::kLeft);  // Closes curl; the cursor goes to its line.
  CHECK_FALSE(vm.tree().expanded("curl"));
  CHECK(vm.tree_cursor() == 0);
  Press(&vm, KeyCode::kDown);
  Press(&vm, KeyCode::kRight);  // Opens sshd.
  CHECK(vm.tree().expanded("sshd"));
  Press(&vm, U'a');
  CHECK_FALSE(vm.grouped());
  CHECK(vm.CurrentQuery().sort == v1::SORT_FIELD_FIRST_SEEN);
}

TEST_CASE("views: p pauses (marker, data kept), r resets the sort, d toggles names",
          "[client][views]") {
  ViewModel vm = MakeVm();
  Daemon d;
  d.rows = {Conn(1)};
  d.Serve(&vm);
  Press(&vm, U'p');
  CHECK(vm.paused());
  CHECK(vm.Render(kNow)[0].Text().find("PAUSED") != std::string::npos);
  d.rows.push_back(Conn(2));
  d.Serve(&vm);
  CHECK(vm.matched() == 1);  // Frozen.
  Press(&vm, U'p');
  CHECK_FALSE(vm.paused());
  d.Serve(&vm);
  CHECK(vm.matched() == 2);
  Press(&vm, U's');
  Press(&vm, U's');
  CHECK(vm.sort_field() != v1::SORT_FIELD_FIRST_SEEN);
  Press(&vm, U'r');
  CHECK(vm.sort_field() == v1::SORT_FIELD_FIRST_SEEN);
  CHECK(vm.sort_order() == v1::SORT_ORDER_ASCENDING);
  CHECK(vm.show_names());
  Press(&vm, U'd');
  CHECK_FALSE(vm.show_names());
  Press(&vm, U'n');
  CHECK(vm.show_names());
  // RTT is a sort choice and a column on wide screens.
  bool rtt = false;
  for (const SortChoice& c : SortCycle()) rtt |= c.field == v1::SORT_FIELD_RTT;
  CHECK(rtt);
  CHECK(Screen(vm).find("RTT") != std::string::npos);
}

TEST_CASE("views: the RTT column shows the smoothed RTT, else the handshake's",
          "[client][views]") {
  ViewModel vm = MakeVm(220, 20);
  Daemon d;
  v1::Connection smoothed = Conn(1);
  *smoothed.mutable_tcp()->mutable_handshake_rtt() = TimeUtil::MicrosecondsToDuration(61);
  *smoothed.mutable_tcp()->mutable_srtt() = TimeUtil::MicrosecondsToDuration(45'600);
  v1::Connection handshake_only = Conn(2);
  *handshake_only.mutable_tcp()->mutable_handshake_rtt() = TimeUtil::MicrosecondsToDuration(1'234);
  d.rows = {smoothed, handshake_only, Conn(3)};
  d.Serve(&vm);
  const std::vector<Line> lines = vm.Render(kNow);
  const Line* first = LineWith(lines, ":40001");
  const Line* second = LineWith(lines, ":40002");
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  CHECK(first->Text().find("45.6 ms") != std::string::npos);
  CHECK(first->Text().find("61 ") == std::string::npos);
  CHECK(second->Text().find("1.23 ms") != std::string::npos);
}

TEST_CASE("views: the mouse selects tabs and rows, double click opens, headers sort",
          "[client][views]") {
  ViewModel vm = MakeVm();
  Daemon d;
  for (uint64_t i = 1; i <= 30; ++i) d.rows.push_back(Conn(i));
  d.Serve(&vm);
  // Each tab's label on row 0.
  for (const ViewModel::TabLabel& label : vm.TabBar()) {
    Click(&vm, static_cast<int>(label.x + 1), 0, kNow + absl::Seconds(10));
    CHECK(vm.tab() == label.tab);
  }
  Press(&vm, U'1');
  // Row 0 title, 1 stats, 2 query, 3 column titles, 4 the first connection.
  Click(&vm, 10, 6);
  CHECK(vm.selected_index() == 2);
  Click(&vm, 10, 6, kNow + absl::Milliseconds(200));  // Double click.
  CHECK(vm.tab() == Tab::kDetails);
  CHECK(vm.Selected()->id() == 3);
  Press(&vm, KeyCode::kEscape);
  // Two clicks far apart in time are two single clicks.
  Click(&vm, 10, 7, kNow + absl::Seconds(20));
  Click(&vm, 10, 7, kNow + absl::Seconds(21));
  CHECK(vm.tab() == Tab::kOverview);
  CHECK(vm.selected_index() == 3);
  // The wheel scrolls three rows.
  vm.HandleKey(Key::Mouse(MouseAction::kWheelDown, 10, 10), kNow);
  CHECK(vm.selected_index() == 6);
  vm.HandleKey(Key::Mouse(MouseAction::kWheelUp, 10, 10), kNow);
  CHECK(vm.selected_index() == 3);
  // A click on a column title sorts by it; again reverses.
  const auto layout = LayoutColumns(160);
  for (const PlacedColumn& p : layout) {
    if (p.column != Column::kState) continue;
    Click(&vm, static_cast<int>(p.x + 1), 3, kNow + absl::Seconds(30));
    CHECK(vm.sort_field() == v1::SORT_FIELD_STATE);
    CHECK(vm.sort_order() == v1::SORT_ORDER_ASCENDING);
    Click(&vm, static_cast<int>(p.x + 1), 3, kNow + absl::Seconds(40));
    CHECK(vm.sort_order() == v1::SORT_ORDER_DESCENDING);
  }
  // Clicks outside anything do nothing.
  Click(&vm, 10, 39, kNow + absl::Seconds(50));
  CHECK(vm.tab() == Tab::kOverview);
}

TEST_CASE("views: History's time range prompt", "[client][views]") {
  ViewModel vm = MakeVm();
  Press(&vm, U'6');
  CHECK_FALSE(vm.CurrentApiRequest(kNow).history.has_since());
  Press(&vm, U'e');
  REQUIRE(vm.editing_filter());
  CHECK(Screen(vm).find("time range: ") != std::string::npos);
  for (char c : std::string("banana")) Press(&vm, static_cast<char32_t>(c));
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.editing_filter());  // Refused: still editing, with the reason.
  CHECK(vm.edit_error().find("use e.g.") != std::string::npos);
  Press(&vm, KeyCode::kKillLine);
  for (char c : std::string("2h .. 1h")) Press(&vm, static_cast<char32_t>(c));
  Press(&vm, KeyCode::kEnter);
  CHECK_FALSE(vm.editing_filter());
  const ApiRequest r = vm.CurrentApiRequest(kNow);
  REQUIRE(r.history.has_since());
  REQUIRE(r.history.has_until());
  CHECK(r.history.until().seconds() - r.history.since().seconds() == 3600);
  CHECK(vm.filter().empty());  // The filter was not touched.
  // A closed connection from History opens in Details; Esc goes back.
  ApiReply reply;
  reply.kind = ApiRequest::Kind::kHistory;
  reply.identity = r.identity;
  v1::Connection c = Conn(77);
  c.set_closed(true);
  c.set_close_reason(v1::CLOSE_REASON_FIN);
  *reply.history.add_connections() = c;
  reply.history.set_total(1);
  vm.OnApiReply(reply);
  CHECK(Screen(vm).find(":40077") != std::string::npos);
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.tab() == Tab::kDetails);
  REQUIRE(vm.Selected() != nullptr);
  CHECK(vm.Selected()->id() == 77);
  Press(&vm, KeyCode::kEscape);
  CHECK(vm.tab() == Tab::kHistory);
}

TEST_CASE("views: Help lists the current tab's keys first", "[client][views]") {
  ViewModel vm = MakeVm(120, 120);
  Press(&vm, U'4');
  Press(&vm, U'h');
  std::string help = Screen(vm);
  const size_t graph = help.find("Keys of Graph");
  const size_t everywhere = help.find("Keys everywhere");
  REQUIRE(graph != std::string::npos);
  REQUIRE(everywhere != std::string::npos);
  CHECK(graph < everywhere);
  CHECK(help.find("window: 1 minute") != std::string::npos);
  Press(&vm, U'h');
  Press(&vm, U'1');
  Press(&vm, U'h');
  help = Screen(vm);
  CHECK(help.find("Keys of Overview") < help.find("Keys everywhere"));
  for (const char* key : {"t", "a", "p", "x", "r", "n / d", "1 .. 7", "mouse"}) {
    INFO(key);
    CHECK(help.find(std::string("  ") + key + " ") != std::string::npos);
  }
}

}  // namespace
}  // namespace rustnet::client
