// rustnet-tui's view model, driven as the UI loop drives it: keys in, the
// query it asks for answered by a fake daemon, the screen rendered as text.
#include "client/view_model.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

v1::Connection MakeConnection(uint64_t id, const std::string& remote = "",
                              uint32_t remote_port = 443) {
  v1::Connection c;
  c.set_id(id);
  c.set_protocol(v1::PROTOCOL_TCP);
  c.set_ip_version(4);
  c.set_state(v1::CONNECTION_STATE_ESTABLISHED);
  c.mutable_local()->set_address("192.0.2.10");
  c.mutable_local()->set_port(static_cast<uint32_t>(40000 + id % 20000));
  c.mutable_remote()->set_address(
      remote.empty() ? absl::StrCat("10.", id / 65536 % 256, ".", id / 256 % 256, ".", id % 256)
                     : remote);
  c.mutable_remote()->set_port(remote_port);
  c.set_service("https");
  return c;
}

// A fake daemon: holds the table in its current order and answers a query's
// window. (Filtering and sorting are the daemon's job and tested there.)
struct FakeDaemon {
  std::vector<v1::Connection> rows;
  uint64_t total_extra = 0;
  int calls = 0;

  v1::ListConnectionsResponse Answer(const Query& q) {
    ++calls;
    v1::ListConnectionsResponse r;
    r.set_total(rows.size() + total_extra);
    r.set_matched(rows.size());
    r.set_offset(q.offset);
    for (uint64_t i = q.offset;
         i < rows.size() && (q.limit == 0 || i < q.offset + uint64_t{q.limit}); ++i) {
      *r.add_connections() = rows[i];
    }
    r.mutable_snapshot_time()->set_seconds(1'700'000'000);
    return r;
  }
  // What the fetcher does: answer the view model's current query.
  void Serve(ViewModel* vm) {
    const Query q = vm->CurrentQuery();
    vm->OnPage(q, Answer(q));
  }
};

FakeDaemon Table(uint64_t n) {
  FakeDaemon d;
  for (uint64_t i = 1; i <= n; ++i) d.rows.push_back(MakeConnection(i));
  return d;
}

ViewModel MakeVm(int width = 120, int height = 40) {
  ViewModel::Options o;
  o.target = "/run/rustnet/rustnetd.sock";
  ViewModel vm(o);
  vm.Resize(width, height);
  return vm;
}

ViewModel::KeyResult Press(ViewModel* vm, char32_t c) { return vm->HandleKey(Key::Char(c), kNow); }
ViewModel::KeyResult Press(ViewModel* vm, KeyCode code) {
  return vm->HandleKey(Key::Of(code), kNow);
}
void Type(ViewModel* vm, const std::string& text) {
  for (char c : text) Press(vm, static_cast<char32_t>(c));
}

std::string Screen(const ViewModel& vm) {
  std::string out;
  for (const Line& l : vm.Render(kNow)) out += l.Text() + "\n";
  return out;
}

// --- Sorting ----------------------------------------------------------------------

TEST_CASE("view model: s cycles the sort column, S reverses it", "[client][view_model]") {
  ViewModel vm = MakeVm();
  const auto& cycle = SortCycle();
  CHECK(vm.CurrentQuery().sort == v1::SORT_FIELD_FIRST_SEEN);
  CHECK(vm.CurrentQuery().order == v1::SORT_ORDER_ASCENDING);
  CHECK(Screen(vm).find("sort: first seen \u2191") != std::string::npos);

  for (size_t i = 1; i <= cycle.size(); ++i) {
    Press(&vm, U's');
    const SortChoice& want = cycle[i % cycle.size()];
    CHECK(vm.CurrentQuery().sort == want.field);
    CHECK(vm.CurrentQuery().order == want.order);
  }
  // Back at the start after a full cycle.
  CHECK(vm.sort_field() == v1::SORT_FIELD_FIRST_SEEN);

  // To "rate in": rates sort highest first; the header and the column say so.
  while (vm.sort_field() != v1::SORT_FIELD_RATE_IN) Press(&vm, U's');
  CHECK(vm.sort_order() == v1::SORT_ORDER_DESCENDING);
  std::string screen = Screen(vm);
  CHECK(screen.find("sort: rate in \u2193") != std::string::npos);
  CHECK(screen.find("Rate in\u2193") != std::string::npos);
  Press(&vm, U'S');
  CHECK(vm.sort_order() == v1::SORT_ORDER_ASCENDING);
  CHECK(Screen(vm).find("sort: rate in \u2191") != std::string::npos);
  Press(&vm, U'S');
  CHECK(vm.sort_order() == v1::SORT_ORDER_DESCENDING);
}

TEST_CASE("view model: a new sort refetches from the top and keeps the selection if there",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(1000);
  d.Serve(&vm);
  for (int i = 0; i < 500; ++i) Press(&vm, KeyCode::kDown);
  d.Serve(&vm);
  CHECK(vm.selected_id() == 501);
  CHECK(vm.CurrentQuery().offset > 0);

  Press(&vm, U's');
  CHECK(vm.CurrentQuery().offset == 0);
  // The daemon's new order puts connection 501 third.
  std::rotate(d.rows.begin(), d.rows.begin() + 498, d.rows.end());
  d.Serve(&vm);
  CHECK(vm.selected_id() == 501);
  CHECK(vm.selected_index() == 2);

  // Sorted again, and 501 is far away: the selection goes to the top.
  Press(&vm, U's');
  std::rotate(d.rows.begin(), d.rows.begin() + 300, d.rows.end());
  d.Serve(&vm);
  CHECK(vm.selected_index() == 0);
  CHECK(vm.selected_id() == d.rows[0].id());
}

// --- Filter -----------------------------------------------------------------------

TEST_CASE("view model: / edits the filter, Enter applies, Esc cancels", "[client][view_model]") {
  ViewModel vm = MakeVm();
  Press(&vm, U'/');
  CHECK(vm.editing_filter());
  Type(&vm, "proto:udp");
  CHECK(vm.edit_error().empty());
  CHECK(vm.CurrentQuery().filter.empty());  // Not applied while typing.
  Press(&vm, KeyCode::kEnter);
  CHECK_FALSE(vm.editing_filter());
  CHECK(vm.filter() == "proto:udp");
  CHECK(vm.CurrentQuery().filter == "proto:udp");
  CHECK(Screen(vm).find("filter: proto:udp") != std::string::npos);

  // Esc keeps the applied filter.
  Press(&vm, U'/');
  CHECK(vm.edit_text() == "proto:udp");
  Type(&vm, " port:53");
  Press(&vm, KeyCode::kEscape);
  CHECK(vm.filter() == "proto:udp");

  // An empty filter clears it.
  Press(&vm, U'/');
  Press(&vm, KeyCode::kKillLine);
  CHECK(vm.edit_text().empty());
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.filter().empty());
}

TEST_CASE("view model: a bad filter shows the column and is not applied", "[client][view_model]") {
  ViewModel vm = MakeVm();
  Press(&vm, U'/');
  Type(&vm, "proto:tcp prot:udp");
  CHECK(vm.edit_error().find("column 11") != std::string::npos);
  const std::string screen = Screen(vm);
  CHECK(screen.find("bad filter: column 11: unknown key 'prot'") != std::string::npos);
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.editing_filter());  // Still editing.
  CHECK(vm.filter().empty());
  // Fix it in place: go left to the 't' of "prot" and insert an 'o'.
  for (int i = 0; i < 4; ++i) Press(&vm, KeyCode::kLeft);
  Press(&vm, U'o');
  CHECK(vm.edit_text() == "proto:tcp proto:udp");
  CHECK(vm.edit_error().empty());
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.filter() == "proto:tcp proto:udp");
}

TEST_CASE("view model: filter line editing keys", "[client][view_model]") {
  ViewModel vm = MakeVm();
  Press(&vm, U'/');
  Type(&vm, "port:443 curl");
  Press(&vm, KeyCode::kKillWord);
  CHECK(vm.edit_text() == "port:443 ");
  Press(&vm, KeyCode::kBackspace);
  Press(&vm, KeyCode::kBackspace);
  CHECK(vm.edit_text() == "port:44");
  Press(&vm, KeyCode::kLineStart);
  Press(&vm, KeyCode::kDelete);
  CHECK(vm.edit_text() == "ort:44");
  Press(&vm, U'p');
  Press(&vm, KeyCode::kLineEnd);
  Press(&vm, U'3');
  CHECK(vm.edit_text() == "port:443");
  // Keys that mean something elsewhere are text here: q does not quit.
  Type(&vm, " qsjk");
  CHECK(vm.edit_text() == "port:443 qsjk");
  CHECK_FALSE(vm.quit_armed());
  // Non-ASCII is inserted as UTF-8 and deleted whole.
  Press(&vm, U'\u00e9');
  CHECK(vm.edit_text() == "port:443 qsjk\u00e9");
  Press(&vm, KeyCode::kBackspace);
  CHECK(vm.edit_text() == "port:443 qsjk");
  // The cursor sits after the prompt and the text on the status line.
  REQUIRE(vm.Cursor().has_value());
  CHECK(vm.Cursor()->first == 39);
  CHECK(vm.Cursor()->second == static_cast<int>(std::string("filter: port:443 qsjk").size()));
  // Ctrl+C still quits at once.
  CHECK(Press(&vm, KeyCode::kInterrupt).quit);
}

TEST_CASE("view model: the daemon refusing a filter shows its message", "[client][view_model]") {
  ViewModel vm = MakeVm();
  vm.OnQueryError(vm.CurrentQuery(), "bad filter: column 3: nope", kNow);
  CHECK(vm.Message(kNow).find("column 3") != std::string::npos);
}

// --- Paging and the fetch window ---------------------------------------------------

TEST_CASE("view model: the window asked for is the screen plus a margin, whatever the size",
          "[client][view_model]") {
  ViewModel vm = MakeVm(120, 40);
  const size_t rows = vm.TableRows();
  CHECK(rows == 35);
  Query q = vm.CurrentQuery();
  CHECK(q.offset == 0);
  CHECK(q.limit == rows + 4 * rows);  // Two screens above and below.

  FakeDaemon d = Table(100'000);
  d.Serve(&vm);
  CHECK(vm.matched() == 100'000);

  // PageDown a thousand times: the visible rows are always inside the window
  // asked for, yet the query changes only now and then.
  int changes = 0;
  Query last = vm.CurrentQuery();
  for (int i = 0; i < 1000; ++i) {
    Press(&vm, KeyCode::kPageDown);
    const Query now = vm.CurrentQuery();
    if (!(now == last)) {
      ++changes;
      d.Serve(&vm);
    }
    last = now;
    CHECK(vm.selected_index() == std::min<uint64_t>(10 * static_cast<uint64_t>(i + 1), 99'999));
    CHECK(vm.top() >= now.offset);
    CHECK(vm.top() + rows <= uint64_t{now.offset} + now.limit);
    CHECK(vm.RowAt(vm.selected_index()) != nullptr);
  }
  CHECK(changes > 0);
  CHECK(changes <= 1000 / 4);
  // Every answer held at most one window: the cost does not grow with the table.
  CHECK(d.calls == changes + 1);

  // End: the last row, the window reaching the end of the table.
  Press(&vm, U'G');
  q = vm.CurrentQuery();
  CHECK(vm.selected_index() == 99'999);
  CHECK(vm.top() == 100'000 - rows);
  CHECK(uint64_t{q.offset} + q.limit >= 100'000);
  CHECK(vm.RowAt(99'999) == nullptr);  // Not fetched yet: shown as loading.
  CHECK(vm.selected_id() == 0);
  d.Serve(&vm);
  REQUIRE(vm.RowAt(99'999) != nullptr);
  CHECK(vm.selected_id() == 100'000);

  // Home: back to the top.
  Press(&vm, U'g');
  CHECK(vm.selected_index() == 0);
  CHECK(vm.top() == 0);
  CHECK(vm.CurrentQuery().offset == 0);
}

TEST_CASE("view model: moving clamps at both ends", "[client][view_model]") {
  ViewModel vm = MakeVm(120, 40);
  FakeDaemon d = Table(25);
  d.Serve(&vm);
  Press(&vm, KeyCode::kUp);
  CHECK(vm.selected_index() == 0);
  Press(&vm, U'k');
  CHECK(vm.selected_index() == 0);
  Press(&vm, U'j');
  Press(&vm, KeyCode::kDown);
  CHECK(vm.selected_index() == 2);
  Press(&vm, KeyCode::kPageDown);
  CHECK(vm.selected_index() == 12);
  Press(&vm, KeyCode::kPageDown);
  Press(&vm, KeyCode::kPageDown);
  CHECK(vm.selected_index() == 24);
  Press(&vm, KeyCode::kPageUp);
  CHECK(vm.selected_index() == 14);
  Press(&vm, KeyCode::kHome);
  CHECK(vm.selected_index() == 0);
  Press(&vm, KeyCode::kEnd);
  CHECK(vm.selected_index() == 24);
  CHECK(vm.top() == 0);  // All 25 fit.
  CHECK(vm.CurrentQuery().offset == 0);
}

TEST_CASE("view model: resizing keeps the selection visible", "[client][view_model]") {
  ViewModel vm = MakeVm(120, 40);
  FakeDaemon d = Table(200);
  d.Serve(&vm);
  for (int i = 0; i < 30; ++i) Press(&vm, U'j');
  CHECK(vm.top() == 0);
  vm.Resize(80, 24);  // 19 table rows
  CHECK(vm.TableRows() == 19);
  CHECK(vm.selected_index() == 30);
  CHECK(vm.top() == 12);
  CHECK(vm.CurrentQuery().limit == 19 + 4 * 19);
}

// --- Selection follows the connection ---------------------------------------------

TEST_CASE("view model: the selection follows its connection when rows move",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(50);
  d.Serve(&vm);
  for (int i = 0; i < 4; ++i) Press(&vm, U'j');
  CHECK(vm.selected_id() == 5);

  // Six new connections sort before it. (Built as a new vector: GCC 12 at
  // -O3 sees a null dereference in protobuf's move assignment, inlined when
  // vector::insert shifts the elements, and -Werror turns it into an error.)
  std::vector<v1::Connection> rows;
  for (uint64_t id = 106; id >= 101; --id) rows.push_back(MakeConnection(id));
  rows.insert(rows.end(), d.rows.begin(), d.rows.end());
  d.rows = std::move(rows);
  d.Serve(&vm);
  CHECK(vm.selected_id() == 5);
  CHECK(vm.selected_index() == 10);
  // Moving goes on from where it is now.
  Press(&vm, U'j');
  CHECK(vm.selected_id() == 6);
}

TEST_CASE("view model: a vanished connection leaves the selection on the same row",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(50);
  d.Serve(&vm);
  for (int i = 0; i < 4; ++i) Press(&vm, U'j');
  REQUIRE(vm.selected_id() == 5);
  d.rows.erase(d.rows.begin() + 4);
  d.Serve(&vm);
  CHECK(vm.selected_index() == 4);
  CHECK(vm.selected_id() == 6);

  // The last row vanishes while selected: the selection moves up.
  Press(&vm, U'G');
  d.Serve(&vm);
  CHECK(vm.selected_id() == 50);
  d.rows.pop_back();
  d.Serve(&vm);
  CHECK(vm.selected_index() == 47);
  CHECK(vm.selected_id() == 49);

  // Everything vanishes.
  d.rows.clear();
  d.Serve(&vm);
  CHECK(vm.Selected() == nullptr);
  CHECK(Screen(vm).find("no connections yet") != std::string::npos);
}

TEST_CASE("view model: in Details a vanished connection stays on screen, marked gone",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(50);
  d.Serve(&vm);
  for (int i = 0; i < 4; ++i) Press(&vm, U'j');
  Press(&vm, KeyCode::kEnter);
  CHECK(vm.tab() == Tab::kDetails);
  d.rows.erase(d.rows.begin() + 4);
  d.Serve(&vm);
  CHECK(vm.selected_gone());
  REQUIRE(vm.Selected() != nullptr);
  CHECK(vm.Selected()->id() == 5);
  CHECK(Screen(vm).find("gone") != std::string::npos);
  // Back in Overview the selection is on the row where it was.
  Press(&vm, KeyCode::kEscape);
  CHECK(vm.tab() == Tab::kOverview);
  CHECK(vm.selected_id() == 6);
}

TEST_CASE("view model: pages for an older filter or sort are ignored", "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(50);
  const Query before = vm.CurrentQuery();
  Press(&vm, U's');
  vm.OnPage(before, d.Answer(before));
  CHECK(vm.matched() == 0);
  d.Serve(&vm);
  CHECK(vm.matched() == 50);
}

TEST_CASE("view model: a page for another scroll position leaves the selection alone",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(5000);
  d.Serve(&vm);
  for (int i = 0; i < 5; ++i) Press(&vm, U'j');
  REQUIRE(vm.selected_id() == 6);
  Query far = vm.CurrentQuery();
  far.offset = 4000;
  vm.OnPage(far, d.Answer(far));
  CHECK(vm.selected_index() == 5);
  CHECK(vm.selected_id() == 6);
  CHECK(vm.top() == 0);

  // A jump, then the answer for the old position arrives late.
  const Query old = vm.CurrentQuery();
  Press(&vm, U'G');
  vm.OnPage(old, d.Answer(old));
  CHECK(vm.selected_index() == 4999);
  d.Serve(&vm);
  CHECK(vm.selected_id() == 5000);
}

TEST_CASE("view model: moving right after a new sort is not undone by its first page",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(50);
  d.Serve(&vm);
  Press(&vm, U's');
  Press(&vm, U'j');
  Press(&vm, U'j');  // The new rows are not there yet: moved by position.
  CHECK(vm.selected_index() == 2);
  CHECK(vm.selected_id() == 0);
  d.Serve(&vm);
  CHECK(vm.selected_index() == 2);  // Not sent back to the top.
  CHECK(vm.selected_id() == 3);
}

// --- Quitting, tabs, copying -------------------------------------------------------

TEST_CASE("view model: q quits after a second q; any other key cancels", "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(10);
  d.Serve(&vm);
  CHECK_FALSE(Press(&vm, U'q').quit);
  CHECK(vm.quit_armed());
  CHECK(vm.Message(kNow) == "press q again to quit");
  CHECK(Screen(vm).find("press q again to quit") != std::string::npos);
  // The message does not time out while armed.
  CHECK(vm.Message(kNow + absl::Hours(1)) == "press q again to quit");
  // Another key cancels, and still does its job.
  CHECK_FALSE(Press(&vm, U'j').quit);
  CHECK_FALSE(vm.quit_armed());
  CHECK(vm.selected_index() == 1);
  CHECK(vm.Message(kNow).empty());
  CHECK_FALSE(Press(&vm, U'q').quit);
  CHECK(Press(&vm, U'q').quit);

  ViewModel vm2 = MakeVm();
  CHECK(Press(&vm2, KeyCode::kInterrupt).quit);  // Ctrl+C: at once.
  ViewModel vm3 = MakeVm();
  Press(&vm3, U'q');
  CHECK_FALSE(Press(&vm3, KeyCode::kEscape).quit);
  CHECK_FALSE(Press(&vm3, U'q').quit);  // Armed again, not quit.
}

TEST_CASE("view model: tabs, Enter, Esc and h", "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(10);
  Press(&vm, KeyCode::kEnter);  // Nothing selected yet.
  CHECK(vm.tab() == Tab::kOverview);
  CHECK(vm.Message(kNow) == "no connection selected");
  d.Serve(&vm);
  Press(&vm, KeyCode::kTab);
  CHECK(vm.tab() == Tab::kDetails);
  for (Tab want : {Tab::kActivity, Tab::kGraph, Tab::kInterfaces, Tab::kHistory, Tab::kHelp,
                   Tab::kOverview}) {
    Press(&vm, KeyCode::kTab);
    CHECK(vm.tab() == want);
  }
  Press(&vm, KeyCode::kBackTab);
  CHECK(vm.tab() == Tab::kHelp);
  Press(&vm, KeyCode::kEscape);
  CHECK(vm.tab() == Tab::kOverview);

  Press(&vm, KeyCode::kEnter);
  CHECK(vm.tab() == Tab::kDetails);
  Press(&vm, U'h');
  CHECK(vm.tab() == Tab::kHelp);
  const std::string help = Screen(vm);
  for (const char* key : {"q q", "Ctrl+C", "Tab", "PageUp / PageDown", "Enter", "Esc", "OSC 52",
                          "toggle this help", "s / S", "Home g / End G", "/"}) {
    INFO(key);
    CHECK(help.find(key) != std::string::npos);
  }
  Press(&vm, U'h');
  CHECK(vm.tab() == Tab::kDetails);  // Back where it was.
  Press(&vm, KeyCode::kEscape);
  CHECK(vm.tab() == Tab::kOverview);
}

TEST_CASE("view model: c copies the remote address (OSC 52 by the shell)", "[client][view_model]") {
  ViewModel vm = MakeVm();
  CHECK(Press(&vm, U'c').copy.empty());
  FakeDaemon d;
  d.rows.push_back(MakeConnection(1, "203.0.113.5", 443));
  d.rows.push_back(MakeConnection(2, "2001:db8::1", 8443));
  d.rows[0].set_hostname("www.example.com");
  d.rows[0].set_hostname_source("sni");
  d.Serve(&vm);
  // The table shows the name; the copy is the address.
  CHECK(Screen(vm).find("www.example.com:443") != std::string::npos);
  ViewModel::KeyResult r = Press(&vm, U'c');
  CHECK(r.copy == "203.0.113.5:443");
  CHECK(vm.Message(kNow) == "copied 203.0.113.5:443");
  Press(&vm, U'j');
  CHECK(Press(&vm, U'c').copy == "[2001:db8::1]:8443");
}

TEST_CASE("view model: n shows raw addresses instead of names", "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d;
  d.rows.push_back(MakeConnection(1, "203.0.113.5", 443));
  d.rows[0].set_hostname("www.example.com");
  d.rows[0].set_hostname_source("sni");
  d.rows.push_back(MakeConnection(2, "192.0.2.53", 53));
  d.rows[1].set_hostname("asked.example.org");  // A DNS question: not the resolver's name.
  d.rows[1].set_hostname_source("dns");
  d.Serve(&vm);
  std::string screen = Screen(vm);
  CHECK(screen.find("www.example.com:443") != std::string::npos);
  CHECK(screen.find("192.0.2.53:53") != std::string::npos);
  Press(&vm, U'n');
  screen = Screen(vm);
  CHECK(screen.find("www.example.com") == std::string::npos);
  CHECK(screen.find("203.0.113.5:443") != std::string::npos);
}

// --- Rendering ---------------------------------------------------------------------

TEST_CASE("view model: every screen fits the terminal exactly", "[client][view_model]") {
  FakeDaemon d = Table(300);
  d.rows[0].set_hostname(std::string(200, 'x') + ".example");
  d.rows[0].set_hostname_source("sni");
  d.rows[0].mutable_app()->set_label("HTTPS \u00b7 " + std::string(100, 'y'));
  d.rows[1].mutable_remote()->set_address("2001:db8:1234:5678:9abc:def0:1234:5678");
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{
           {80, 24}, {120, 40}, {250, 60}, {40, 8}, {39, 7}, {20, 3}, {1, 1}}) {
    ViewModel vm = MakeVm(w, h);
    d.Serve(&vm);
    for (Tab want : {Tab::kOverview, Tab::kDetails, Tab::kActivity, Tab::kGraph, Tab::kInterfaces,
                     Tab::kHistory, Tab::kHelp}) {
      while (vm.tab() != want) Press(&vm, KeyCode::kTab);
      const std::vector<Line> lines = vm.Render(kNow);
      INFO(w << "x" << h << " tab " << static_cast<int>(want));
      CHECK(lines.size() == static_cast<size_t>(h));
      for (const Line& l : lines) CHECK(DisplayWidth(l.Text()) <= static_cast<size_t>(w));
    }
  }
}

TEST_CASE("view model: the Overview header shows daemon statistics", "[client][view_model]") {
  ViewModel vm = MakeVm(120, 40);
  FakeDaemon d = Table(3);
  d.total_extra = 7;
  d.Serve(&vm);
  v1::Stats s;
  s.set_version("0.1.0");
  s.mutable_uptime()->set_seconds(3 * 3600 + 5 * 60);
  auto* capture = s.add_captures();
  capture->set_name("eth0");
  capture->set_live(true);
  capture->set_dropped_kernel(3);
  s.mutable_pipeline()->set_packets(1'234'567);
  s.mutable_pipeline()->set_dropped_queues(2);
  s.mutable_connections()->set_current(10);
  (*s.mutable_connections()->mutable_by_protocol())["tcp"] = 8;
  (*s.mutable_connections()->mutable_by_protocol())["udp"] = 2;
  vm.OnStats(s);
  const std::string screen = Screen(vm);
  CHECK(screen.find("rustnetd 0.1.0 \u00b7 up 3h05m") != std::string::npos);
  CHECK(screen.find("eth0") != std::string::npos);
  CHECK(screen.find("packets 1,234,567") != std::string::npos);
  CHECK(screen.find("dropped 5") != std::string::npos);
  CHECK(screen.find("connections 10 (tcp 8, udp 2)") != std::string::npos);
  CHECK(screen.find("showing 3 of 10") != std::string::npos);
  CHECK(screen.find("filter: none") != std::string::npos);
}

TEST_CASE("view model: columns drop at 80 and all show at 250", "[client][view_model]") {
  FakeDaemon d = Table(5);
  ViewModel narrow = MakeVm(80, 24);
  d.Serve(&narrow);
  std::string screen = Screen(narrow);
  CHECK(screen.find("Remote address") != std::string::npos);
  CHECK(screen.find("Rate out") != std::string::npos);
  CHECK(screen.find("Service") == std::string::npos);
  CHECK(screen.find("Application") == std::string::npos);
  ViewModel wide = MakeVm(250, 60);
  d.Serve(&wide);
  screen = Screen(wide);
  for (const ColumnSpec& spec : AllColumns()) CHECK(screen.find(spec.title) != std::string::npos);
}

TEST_CASE("view model: the cannot-reach screen names the socket and what to check",
          "[client][view_model]") {
  ViewModel vm = MakeVm();
  FakeDaemon d = Table(5);
  d.Serve(&vm);
  LinkProblem p;
  p.target = "/run/rustnet/rustnetd.sock";
  p.reason = "There is no socket at /run/rustnet/rustnetd.sock.";
  p.checks = {"is rustnetd running?", "is this user in group rustnet?"};
  vm.OnUnreachable(p);
  CHECK(vm.unreachable());
  std::string screen = Screen(vm);
  CHECK(screen.find("Cannot reach rustnetd at /run/rustnet/rustnetd.sock") != std::string::npos);
  CHECK(screen.find("group rustnet") != std::string::npos);
  CHECK(screen.find("disconnected") != std::string::npos);
  // Keys still work; q q still quits.
  Press(&vm, KeyCode::kTab);
  CHECK(Screen(vm).find("Cannot reach") != std::string::npos);
  Press(&vm, KeyCode::kBackTab);
  // The daemon is back: the table returns by itself.
  d.Serve(&vm);
  CHECK(vm.connected());
  screen = Screen(vm);
  CHECK(screen.find("Cannot reach") == std::string::npos);
  CHECK(screen.find("10.0.0.1:443") != std::string::npos);
}

TEST_CASE("view model: Details shows every field, with placeholders", "[client][view_model]") {
  ViewModel vm = MakeVm(250, 60);
  FakeDaemon d;
  v1::Connection c = MakeConnection(7, "203.0.113.5", 443);
  c.mutable_local()->set_mac("02:00:00:00:00:10");
  c.mutable_remote()->set_mac("02:00:00:00:00:20");
  c.set_direction(v1::DIRECTION_OUTBOUND);
  c.set_interface("eth0");
  c.mutable_first_seen()->set_seconds(1'699'999'000);
  c.mutable_last_seen()->set_seconds(1'699'999'990);
  c.mutable_sent()->set_packets(6);
  c.mutable_sent()->set_bytes(398);
  c.mutable_received()->set_packets(1);
  c.mutable_received()->set_bytes(2048);
  c.set_rate_in(1536);
  c.mutable_tcp()->mutable_handshake_rtt()->set_nanos(61'000);
  c.mutable_tcp()->set_retransmissions(2);
  c.mutable_tcp()->set_flags_seen(0x1B);
  c.set_fragments(4);
  c.mutable_app()->set_protocol(v1::APP_PROTOCOL_TLS);
  c.mutable_app()->set_label("HTTPS \u00b7 www.example.com");
  c.mutable_app()->mutable_tls()->set_sni("www.example.com");
  c.mutable_app()->mutable_tls()->add_alpn("h2");
  c.mutable_app()->mutable_tls()->set_ja4("t13d1516h2_8daaf6152771_e5627efa2ab1");
  d.rows.push_back(c);
  d.Serve(&vm);
  Press(&vm, KeyCode::kEnter);
  const std::string screen = Screen(vm);
  for (const char* want : {"192.0.2.10:40007",
                           "02:00:00:00:00:10",
                           "203.0.113.5:443",
                           "02:00:00:00:00:20",
                           "ESTABLISHED",
                           "outbound",
                           "eth0",
                           "https",
                           "age",
                           "16m40s",
                           "idle",
                           "10s",
                           "6 packets, 398 B",
                           "1 packet, 2.00 KB",
                           "1.50 KB/s",
                           "61 \u00b5s",
                           "retransmits",
                           "SYN ACK PSH FIN",
                           "fragments",
                           "HTTPS \u00b7 www.example.com",
                           "SNI",
                           "h2",
                           "t13d1516h2_8daaf6152771_e5627efa2ab1",
                           "Process",
                           "not found"}) {
    INFO(want);
    CHECK(screen.find(want) != std::string::npos);
  }
  CHECK(screen.find("\u2014") != std::string::npos);  // Placeholders.
}

// --- Process attribution ----------------------------------------------------------

v1::ProcessInfo MakeProcess(uint32_t pid, const std::string& name, const std::string& user = "jane",
                            uint32_t uid = 1000) {
  v1::ProcessInfo p;
  p.set_pid(pid);
  p.set_name(name);
  p.set_uid(uid);
  p.set_user(user);
  p.set_method(v1::ATTRIBUTION_METHOD_SOCKET);
  return p;
}

// The Process cell of table row `row` (0: the first), trimmed.
std::string ProcessCellText(const ViewModel& vm, size_t row) {
  const std::vector<Line> lines = vm.Render(kNow);
  const std::string text = lines.at(4 + row).Text();  // Title, stats, query, header.
  for (const PlacedColumn& p : LayoutColumns(static_cast<size_t>(vm.width()))) {
    if (p.column != Column::kProcess) continue;
    // Columns count code points; find the byte offsets.
    size_t col = 0;
    size_t start = text.size();
    size_t end = text.size();
    for (size_t i = 0; i <= text.size(); ++i) {
      if (i < text.size() && (static_cast<uint8_t>(text[i]) & 0xC0) == 0x80) continue;
      if (col == p.x) start = i;
      if (col == p.x + p.width) {
        end = i;
        break;
      }
      ++col;
    }
    std::string cell = start < text.size() ? text.substr(start, end - start) : std::string();
    while (!cell.empty() && cell.back() == ' ') cell.pop_back();
    return cell;
  }
  return "(no process column)";
}

TEST_CASE("view model: the Process column shows the local process, else the peer's",
          "[client][view_model]") {
  FakeDaemon d = Table(7);
  *d.rows[0].mutable_process() = MakeProcess(1234, "firefox");
  *d.rows[1].mutable_remote_process() = MakeProcess(812, "nginx", "www-data", 33);
  *d.rows[2].mutable_process() = MakeProcess(4321, "curl");  // Both: the local one.
  *d.rows[2].mutable_remote_process() = MakeProcess(812, "nginx", "www-data", 33);
  *d.rows[3].mutable_process() = MakeProcess(0, "", "jane");  // Only the owner is known.
  *d.rows[4].mutable_process() = MakeProcess(99, "wget");
  d.rows[4].mutable_process()->set_exited(true);
  // rows[5]: no attribution (replayed file).
  *d.rows[6].mutable_process() = MakeProcess(0, "", "", 1001);  // A uid without a name.

  ViewModel vm = MakeVm(250, 40);
  d.Serve(&vm);
  CHECK(ProcessCellText(vm, 0) == "firefox (1234)");
  CHECK(ProcessCellText(vm, 1) == "peer nginx (812)");
  CHECK(ProcessCellText(vm, 2) == "curl (4321)");
  CHECK(ProcessCellText(vm, 3) == "user jane");
  CHECK(ProcessCellText(vm, 4) == "wget (99) \u2020");
  CHECK(ProcessCellText(vm, 5).empty());
  CHECK(ProcessCellText(vm, 6) == "uid 1001");

  // Without UTF-8 the exited marker is a word.
  ViewModel::Options o;
  o.unicode = false;
  ViewModel ascii(o);
  ascii.Resize(250, 40);
  d.Serve(&ascii);
  CHECK(ProcessCellText(ascii, 4) == "wget (99) exited");

  // Help explains the markers (near its end).
  Press(&vm, U'h');
  Press(&vm, KeyCode::kEnd);
  const std::string help = Screen(vm);
  CHECK(help.find("name (pid) \u2020") != std::string::npos);
  CHECK(help.find("the same, since exited") != std::string::npos);
  CHECK(help.find("peer name (pid)") != std::string::npos);
}

TEST_CASE("view model: a narrow Process column cuts the name, not the pid",
          "[client][view_model]") {
  FakeDaemon d = Table(1);
  *d.rows[0].mutable_process() = MakeProcess(4194304, "averyverylongprocessname");
  d.rows[0].mutable_process()->set_exited(true);
  // 123 columns: all but location show, the process column at its minimum (16).
  ViewModel vm = MakeVm(123, 30);
  d.Serve(&vm);
  size_t width = 0;
  for (const PlacedColumn& p : LayoutColumns(123)) {
    if (p.column == Column::kProcess) width = p.width;
  }
  REQUIRE(width == 16);
  CHECK(ProcessCellText(vm, 0) == "ave\u2026 (4194304) \u2020");
}

TEST_CASE("view model: hostile process names are sanitized everywhere", "[client][view_model]") {
  FakeDaemon d = Table(2);
  v1::ProcessInfo p = MakeProcess(66, "evil\x1b]52;c;AAAA\x07\r\n\u202e" + std::string(5000, 'N'),
                                  "ja\x1b[2Jne\u200b");
  p.add_command_line("/bin/sh\x1b[31m");
  p.add_command_line("-c");
  p.add_command_line(std::string(10'000, 'x') + "\x9b");
  p.set_executable("/tmp/\x1b]0;title\x07");
  p.set_unit("a\x01.service");
  p.set_user_unit("b\x7f.scope");
  p.set_container_runtime("docker\x1b");
  p.set_container_id("\x1b[2J0123456789abcdef");
  p.set_cgroup("/system.slice/\x1b.service");
  *d.rows[0].mutable_process() = p;
  *d.rows[0].mutable_remote_process() = p;
  *d.rows[1].mutable_remote_process() = p;
  for (const bool unicode : {true, false}) {
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{250, 60}, {123, 40}, {80, 24}}) {
      ViewModel::Options o;
      o.unicode = unicode;
      ViewModel vm(o);
      vm.Resize(w, h);
      d.Serve(&vm);
      for (int row = 0; row < 2; ++row) {
        if (row == 1) Press(&vm, KeyCode::kDown);
        for (Tab want : {Tab::kOverview, Tab::kDetails}) {
          while (vm.tab() != want) Press(&vm, KeyCode::kTab);
          const std::vector<Line> lines = vm.Render(kNow);
          INFO(w << "x" << h << " unicode " << unicode << " tab " << static_cast<int>(want));
          CHECK(lines.size() == static_cast<size_t>(h));
          for (const Line& l : lines) {
            const std::string text = l.Text();
            CHECK(DisplayWidth(text) <= static_cast<size_t>(w));
            for (char ch : text) {
              const auto b = static_cast<unsigned char>(ch);
              CHECK((b >= 0x20 && b != 0x7F));
              if (!unicode) CHECK(b < 0x80);
            }
            CHECK(text.find("\u202e") == std::string::npos);
            CHECK(text.find("\u200b") == std::string::npos);
            CHECK(text.find("\xc2\x9b") == std::string::npos);
          }
        }
        Press(&vm, KeyCode::kEscape);
      }
    }
  }
  ViewModel vm = MakeVm(250, 60);
  d.Serve(&vm);
  CHECK(ProcessCellText(vm, 0).rfind("evil?]52;c;AAAA????NNN", 0) == 0);
  Press(&vm, KeyCode::kEnter);
  const std::string screen = Screen(vm);
  CHECK(screen.find("evil?]52;c;AAAA????NNN") != std::string::npos);
  CHECK(screen.find("ja?[2Jne? (1000)") != std::string::npos);
  CHECK(screen.find("'/bin/sh?[31m' -c") != std::string::npos);
  CHECK(screen.find(std::string(40, 'x')) != std::string::npos);
  CHECK(screen.find("/tmp/?]0;title?") != std::string::npos);
  CHECK(screen.find("docker? ?[2J0123456") != std::string::npos);
}

TEST_CASE("view model: Details marks rustnetd's own reverse DNS lookups", "[client][view_model]") {
  ViewModel vm = MakeVm(250, 60);
  FakeDaemon d;
  v1::Connection c = MakeConnection(7, "127.0.0.1", 53);
  c.set_own_lookup(true);
  d.rows.push_back(c);
  d.Serve(&vm);
  Press(&vm, KeyCode::kEnter);
  std::string screen = Screen(vm);
  CHECK(screen.find("own lookup") != std::string::npos);
  CHECK(screen.find("rustnetd's reverse DNS query") != std::string::npos);
  // Other connections carry no such line.
  ViewModel plain = MakeVm(250, 60);
  FakeDaemon e;
  e.rows.push_back(MakeConnection(8, "127.0.0.1", 53));
  e.Serve(&plain);
  Press(&plain, KeyCode::kEnter);
  screen = Screen(plain);
  CHECK(screen.find("Endpoints") != std::string::npos);
  CHECK(screen.find("own lookup") == std::string::npos);
}

TEST_CASE("view model: Details shows the process and the remote process", "[client][view_model]") {
  ViewModel vm = MakeVm(250, 60);
  FakeDaemon d;
  v1::Connection c = MakeConnection(7, "127.0.0.1", 8080);
  v1::ProcessInfo p = MakeProcess(1234, "firefox");
  for (const char* arg : {"/usr/lib/firefox/firefox", "-P", "my profile", "--new-tab"}) {
    p.add_command_line(arg);
  }
  p.set_executable("/usr/lib/firefox/firefox");
  p.set_unit("user@1000.service");
  p.set_user_unit("app-firefox.scope");
  p.set_container_runtime("docker");
  p.set_container_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  p.set_cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox.scope");
  p.mutable_started()->set_seconds(1'699'990'000);
  *c.mutable_process() = p;
  v1::ProcessInfo r = MakeProcess(812, "nginx", "www-data", 33);
  r.set_exited(true);
  r.set_method(v1::ATTRIBUTION_METHOD_LISTENER);
  *c.mutable_remote_process() = r;
  d.rows.push_back(c);
  d.Serve(&vm);
  Press(&vm, KeyCode::kEnter);
  const std::string screen = Screen(vm);
  for (const char* want :
       {"Process", "firefox", "1234", "jane (1000)",
        // Wrapped at the value's width (47 here).
        "/usr/lib/firefox/firefox -P 'my profile'", "--new-tab", "user@1000.service",
        "app-firefox.scope", "docker 0123456789ab", "/user.slice/user-1000.slice/",
        "pp.slice/app-firefox.scope", "running", "own socket", "Remote process", "nginx", "812",
        "www-data (33)", "exited", "listening socket (not yet accepted)", "command line",
        "executable", "systemd unit", "user unit", "container", "started", "found via"}) {
    INFO(want);
    CHECK(screen.find(want) != std::string::npos);
  }
  CHECK(screen.find(FormatTimestamp(p.started())) != std::string::npos);
  CHECK(screen.find("0123456789abc") == std::string::npos);  // The short id only.
  // Fields the remote process does not have are left out, not shown blank:
  // each of these labels appears once (the local process's).
  for (const char* label : {"command line", "executable", "systemd unit", "user unit", "container",
                            "cgroup", "started"}) {
    INFO(label);
    const size_t first = screen.find(label);
    REQUIRE(first != std::string::npos);
    CHECK(screen.find(label, first + 1) == std::string::npos);
  }
}

TEST_CASE("view model: Details shows the parent chain, the network namespace and the pod",
          "[client][view_model][k8s]") {
  FakeDaemon d;
  v1::Connection c = MakeConnection(7, "127.0.0.1", 8080);
  v1::ProcessInfo p = MakeProcess(4321, "nginx");
  for (const auto& [pid, name] : std::vector<std::pair<uint32_t, std::string>>{
           {812, "containerd-shim"}, {700, ""}, {1, "systemd"}}) {
    auto* a = p.add_lineage();
    a->set_pid(pid);
    a->set_name(name);
  }
  p.set_netns_inode(4026532841);
  p.set_netns_name("blue");
  p.set_ebpf(true);
  p.mutable_kubernetes()->set_pod("web-7d4b9c-xk2lp");
  p.mutable_kubernetes()->set_namespace_("shop");
  p.mutable_kubernetes()->set_container("nginx\x1b[2J");
  p.mutable_kubernetes()->set_pod_uid("5f0c3a2e-8b1d-4c7e-9a21-0d3e4f5a6b7c");
  *c.mutable_process() = p;
  v1::ProcessInfo r = MakeProcess(99, "curl");  // No pod, own namespace, no parents.
  *c.mutable_remote_process() = r;
  d.rows.push_back(c);
  for (const bool unicode : {true, false}) {
    ViewModel::Options o;
    o.unicode = unicode;
    ViewModel vm(o);
    vm.Resize(250, 60);
    d.Serve(&vm);
    Press(&vm, KeyCode::kEnter);
    const std::string screen = Screen(vm);
    INFO(screen);
    const std::string arrow = unicode ? " \u2190 " : " < ";
    for (const std::string& want :
         {std::string("parents"), "containerd-shim (812)" + arrow + "(700)" + arrow + "systemd (1)",
          std::string("netns"), std::string("blue (net:[4026532841])"), std::string("pod"),
          std::string("shop/web-7d4b9c-xk2lp"), std::string("pod container"),
          std::string("nginx?[2J"), std::string("pod UID"),
          std::string("5f0c3a2e-8b1d-4c7e-9a21-0d3e4f5a6b7c"),
          std::string("own socket (eBPF)")}) {
      INFO(want);
      CHECK(screen.find(want) != std::string::npos);
    }
    // The remote process has none of them: each label appears once.
    for (const char* label : {"parents", "netns", "pod container", "pod UID", "(eBPF)"}) {
      INFO(label);
      const size_t first = screen.find(label);
      REQUIRE(first != std::string::npos);
      CHECK(screen.find(label, first + 1) == std::string::npos);
    }
  }
}

TEST_CASE("view model: a long command line wraps onto at most four rows", "[client][view_model]") {
  ViewModel vm = MakeVm(80, 60);  // One column of details: value width 47.
  FakeDaemon d = Table(1);
  v1::ProcessInfo p = MakeProcess(42, "java");
  p.add_command_line("/usr/bin/java");
  for (int i = 0; i < 40; ++i) p.add_command_line(absl::StrCat("-Doption", i, "=value"));
  p.set_executable("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");
  *d.rows[0].mutable_process() = p;
  d.Serve(&vm);
  Press(&vm, KeyCode::kEnter);
  std::vector<std::string> lines;
  for (const Line& l : vm.Render(kNow)) {
    std::string text = l.Text();
    while (!text.empty() && text.back() == ' ') text.pop_back();
    lines.push_back(text);
  }
  size_t at = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("  command line  /usr/bin/java -Doption0=value", 0) == 0) at = i;
  }
  REQUIRE(at + 4 < lines.size());
  const std::string blank_label(2 + 13 + 1, ' ');
  for (size_t i = at + 1; i < at + 4; ++i) {
    INFO(lines[i]);
    CHECK(lines[i].rfind(blank_label + "-Doption", 0) == 0);
    CHECK(DisplayWidth(lines[i]) <= blank_label.size() + 47);
  }
  CHECK(lines[at + 3].substr(lines[at + 3].size() - 3) == "\u2026");
  CHECK(lines[at + 4].rfind("  executable    /usr/lib/jvm/java-17-openjdk-amd64/bin/java", 0) == 0);
}

TEST_CASE("view model: Details of a process known only by its user, or not at all",
          "[client][view_model]") {
  ViewModel vm = MakeVm(250, 60);
  FakeDaemon d = Table(2);
  *d.rows[0].mutable_process() = MakeProcess(0, "", "jane");
  d.Serve(&vm);
  Press(&vm, KeyCode::kEnter);
  std::string screen = Screen(vm);
  CHECK(screen.find("unknown (not readable, or gone)") != std::string::npos);
  CHECK(screen.find("jane (1000)") != std::string::npos);
  CHECK(screen.find("own socket") != std::string::npos);
  for (const char* absent : {"  pid ", "running", "command line", "executable", "systemd unit",
                             "container", "cgroup", "started", "Remote process", "not found"}) {
    INFO(absent);
    CHECK(screen.find(absent) == std::string::npos);
  }
  // No attribution at all: the section says so.
  Press(&vm, KeyCode::kEscape);
  Press(&vm, KeyCode::kDown);
  Press(&vm, KeyCode::kEnter);
  screen = Screen(vm);
  CHECK(screen.find("Process") != std::string::npos);
  CHECK(screen.find("not found") != std::string::npos);
  CHECK(screen.find("Remote process") == std::string::npos);
}

TEST_CASE("view model: sorting by the Process column asks the daemon for SORT_FIELD_PROCESS",
          "[client][view_model]") {
  CHECK(SpecOf(Column::kProcess).sort == v1::SORT_FIELD_PROCESS);
  CHECK(SortFieldName(v1::SORT_FIELD_PROCESS) == "process");
  const auto& cycle = SortCycle();
  CHECK(std::count_if(cycle.begin(), cycle.end(), [](const SortChoice& s) {
          return s.field == v1::SORT_FIELD_PROCESS && s.order == v1::SORT_ORDER_ASCENDING;
        }) == 1);
  ViewModel vm = MakeVm(250, 40);
  FakeDaemon d = Table(3);
  d.Serve(&vm);
  while (vm.sort_field() != v1::SORT_FIELD_PROCESS) Press(&vm, U's');
  const Query q = vm.CurrentQuery();
  CHECK(q.sort == v1::SORT_FIELD_PROCESS);
  CHECK(q.order == v1::SORT_ORDER_ASCENDING);
  CHECK(q.ToRequest().sort() == v1::SORT_FIELD_PROCESS);
  d.Serve(&vm);
  const std::string screen = Screen(vm);
  CHECK(screen.find("Process\u2191") != std::string::npos);
  CHECK(screen.find("sort: process \u2191") != std::string::npos);
  Press(&vm, U'S');
  CHECK(vm.CurrentQuery().order == v1::SORT_ORDER_DESCENDING);
}

TEST_CASE("view model: --no-localhost asks the daemon to hide loopback", "[client][view_model]") {
  ViewModel::Options o;
  o.hide_loopback = true;
  o.filter = "proto:tcp";
  ViewModel vm(o);
  vm.Resize(120, 40);
  const Query q = vm.CurrentQuery();
  CHECK(q.hide_loopback);
  CHECK(q.filter == "proto:tcp");
  CHECK(q.ToRequest().hide_loopback());
  CHECK(q.ToRequest().filter() == "proto:tcp");
  CHECK(q.ToRequest().limit() == q.limit);
  const std::string screen = Screen(vm);
  CHECK(screen.find("loopback hidden") != std::string::npos);
  CHECK(screen.find("filter: proto:tcp") != std::string::npos);
}

TEST_CASE("view model: without unicode only ASCII is drawn", "[client][view_model]") {
  ViewModel::Options o;
  o.unicode = false;
  ViewModel vm(o);
  vm.Resize(80, 24);
  FakeDaemon d = Table(3);
  d.rows[0].mutable_app()->set_label("HTTPS \u00b7 example.com");
  d.Serve(&vm);
  for (Tab want : {Tab::kOverview, Tab::kDetails, Tab::kActivity, Tab::kGraph, Tab::kInterfaces,
                   Tab::kHistory, Tab::kHelp}) {
    while (vm.tab() != want) Press(&vm, KeyCode::kTab);
    for (const Line& l : vm.Render(kNow)) {
      for (char ch : l.Text()) CHECK(static_cast<unsigned char>(ch) < 0x80);
    }
  }
}

}  // namespace
}  // namespace rustnet::client
