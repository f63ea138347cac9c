// libFuzzer target: rustnet-tui's rendering of whatever a daemon (or
// something pretending to be one) sends. The input picks a terminal size,
// a ListConnectionsResponse and a Stats message (parsed from the bytes as
// protobuf: any field may hold anything), the replies of the data tabs
// (GroupConnections, GetTimeline, ListInterfaces, QueryHistory, parsed the
// same way) and a few keys and mouse clicks; the view model renders every
// tab. Beyond not crashing, each rendered line must fit the
// terminal width and hold no control characters: a hostile host name must
// not move the cursor or paint outside its cell.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/format.h"
#include "client/view_model.h"

namespace {

using rustnet::client::Key;
using rustnet::client::KeyCode;
using rustnet::client::Line;
using rustnet::client::ViewModel;

void CheckScreen(const std::vector<Line>& lines, int width, int height) {
  if (lines.size() > static_cast<size_t>(height)) std::abort();  // Taller than the screen.
  for (const Line& line : lines) {
    const std::string text = line.Text();
    if (rustnet::client::DisplayWidth(text) > static_cast<size_t>(width)) std::abort();
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) std::abort();  // A control byte reached the terminal.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int width = in.ConsumeIntegralInRange<int>(ViewModel::kMinWidth, 300);
  const int height = in.ConsumeIntegralInRange<int>(ViewModel::kMinHeight, 80);
  const bool unicode = in.ConsumeBool();
  const std::string page_bytes = in.ConsumeRandomLengthString(size);
  const std::string stats_bytes = in.ConsumeRandomLengthString(size);
  const std::string groups_bytes = in.ConsumeRandomLengthString(size);
  const std::string timeline_bytes = in.ConsumeRandomLengthString(size);
  const std::string interfaces_bytes = in.ConsumeRandomLengthString(size);
  const std::string history_bytes = in.ConsumeRandomLengthString(size);
  const std::string keys = in.ConsumeRandomLengthString(24);

  ViewModel::Options options;
  options.unicode = unicode;
  options.target = "/run/rustnet/rustnetd.sock";
  ViewModel vm(options);
  vm.Resize(width, height);
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);

  rustnet::v1::ListConnectionsResponse page;
  if (!page.ParseFromString(page_bytes)) page.Clear();
  rustnet::v1::Stats stats;
  if (!stats.ParseFromString(stats_bytes)) stats.Clear();
  vm.OnPage(vm.CurrentQuery(), page);
  vm.OnStats(stats);
  CheckScreen(vm.Render(now), width, height);

  // The current tab's answer, as the fetcher would bring it.
  const auto answer = [&]() {
    const rustnet::client::ApiRequest r = vm.CurrentApiRequest(now);
    rustnet::client::ApiReply reply;
    reply.kind = r.kind;
    reply.identity = r.identity;
    reply.received = now;
    reply.stats = stats;
    using Kind = rustnet::client::ApiRequest::Kind;
    switch (r.kind) {
      case Kind::kGroups:
        if (!reply.groups.ParseFromString(groups_bytes)) reply.groups.Clear();
        break;
      case Kind::kTimeline:
        if (!reply.timeline.ParseFromString(timeline_bytes)) reply.timeline.Clear();
        break;
      case Kind::kInterfaces:
        if (!reply.interfaces.ParseFromString(interfaces_bytes)) reply.interfaces.Clear();
        break;
      case Kind::kHistory:
        if (!reply.history.ParseFromString(history_bytes)) reply.history.Clear();
        break;
      case Kind::kNone: return;
    }
    vm.OnApiReply(reply);
  };

  // Keys: move, open Details, cycle sort and tabs, toggle names.
  static constexpr KeyCode kCodes[] = {KeyCode::kDown,  KeyCode::kUp,       KeyCode::kEnter,
                                       KeyCode::kTab,   KeyCode::kPageDown, KeyCode::kEnd,
                                       KeyCode::kHome,  KeyCode::kEscape,   KeyCode::kBackTab};
  // Chars: sort, reverse, pause, names, help, closed, grouping, tabs,
  // the tabs' own keys (g w e), Space; a high bit and bit 6: a click.
  static constexpr char32_t kChars[] = U"sSpdhta1234567][gwe xr";
  for (const char k : keys) {
    const auto u = static_cast<unsigned char>(k);
    Key key;
    if (u < 128) {
      key = Key::Of(kCodes[u % std::size(kCodes)]);
    } else if ((u & 0x40) != 0) {
      key = Key::Mouse(u & 1 ? rustnet::client::MouseAction::kClick
                             : rustnet::client::MouseAction::kWheelDown,
                       (u * 7) % width, (u & 0x3f) % height);
    } else {
      key = Key::Char(kChars[u % (std::size(kChars) - 1)]);
    }
    if (vm.HandleKey(key, now).quit) break;
    vm.OnPage(vm.CurrentQuery(), page);
    answer();
    CheckScreen(vm.Render(now), width, height);
  }
  return 0;
}
