// The state of rustnet-tui and everything it shows, without ncurses.
//
// The view model turns key presses and API replies into state (tab,
// selection, scroll position, filter being edited, sort, the "press q again"
// confirmation) and renders the whole screen as styled lines of text. The
// terminal layer (terminal.h) only maps styles to attributes and draws; the
// unit tests drive this class directly.
//
// Scale: the table is never held whole. The view model asks for a window of
// rows around the scroll position (CurrentQuery: filter, sort, offset,
// limit), a screenful larger on each side so moving a few rows is answered
// from what is already there; the window moves only when the visible rows
// come near its edge. A refresh costs the same with 100 or 100,000
// connections.
//
// Selection follows a connection, not a row number: after each refresh the
// selected connection's id is looked up in the new rows. If it moved, the
// selection moves with it; if it is gone, the row at the same position is
// selected (in Details, the last copy of the connection stays on screen,
// marked as gone). The API has no way to look up the position of an id
// outside the fetched window, so a connection that moved far away (sorted
// by rate) counts as gone.
//
// Threads: used from the UI thread only.
#ifndef RUSTNET_CLIENT_VIEW_MODEL_H_
#define RUSTNET_CLIENT_VIEW_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/columns.h"
#include "client/format.h"
#include "client/tabs/activity_view.h"
#include "client/tabs/details_view.h"
#include "client/tabs/graph_view.h"
#include "client/tabs/history_view.h"
#include "client/tabs/interfaces_view.h"
#include "client/tabs/overview_model.h"
#include "client/tabs/overview_view.h"
#include "client/tabs/tab_view.h"
#include "client/ui_types.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

// The query the view model needs answered: what the fetcher sends.
struct Query {
  std::string filter;
  rustnet::v1::SortField sort = rustnet::v1::SORT_FIELD_UNSPECIFIED;
  rustnet::v1::SortOrder order = rustnet::v1::SORT_ORDER_ASCENDING;
  bool hide_loopback = false;
  bool include_closed = false;  // `t`: the recently closed connections too.
  uint32_t offset = 0;
  uint32_t limit = 0;

  // Same filter, sort, loopback and closed choice: rows of one are valid for the
  // other, whatever the window.
  bool SameShape(const Query& other) const;
  bool operator==(const Query& other) const = default;
  rustnet::v1::ListConnectionsRequest ToRequest() const;
};

// One entry of the `s` cycle.
struct SortChoice {
  rustnet::v1::SortField field;
  rustnet::v1::SortOrder order;  // Its natural order: rates descending, names ascending.
};
const std::vector<SortChoice>& SortCycle();
// "first seen", "protocol", "rate in", ...
std::string_view SortFieldName(rustnet::v1::SortField field);

// Why the daemon cannot be reached, in words for the user.
struct LinkProblem {
  std::string target;               // "/run/rustnet/rustnetd.sock", "host:443 (TLS)"
  std::string reason;               // One sentence.
  std::vector<std::string> checks;  // What to check, one per line.
  std::string detail;               // gRPC's own message.
};

class ViewModel {
 public:
  struct Options {
    std::string filter;  // Initial filter (already validated).
    bool hide_loopback = false;
    std::string target;   // Shown in the title bar.
    bool unicode = true;  // UTF-8 terminal: arrows, ellipsis, dots.
    absl::Duration retry_interval = absl::Seconds(1);
    Tab tab = Tab::kOverview;     // The tab shown first (tui.conf).
    std::vector<Column> columns;  // The Overview's columns; empty: all that fit.
  };

  // What the shell must do after a key.
  struct KeyResult {
    bool quit = false;
    bool suspend = false;
    bool redraw = false;
    std::string copy;  // Text to put on the clipboard (OSC 52), if any.
  };

  // Paging keys move by this many rows, as in the original rustnet.
  static constexpr uint64_t kPageStep = 10;
  // The grouped Overview (`a`) asks for this many rows, sorted by process,
  // and groups them; past it the status says to narrow the filter.
  static constexpr uint32_t kGroupedRows = 5000;
  // Two clicks on the same row within this time: a double click.
  static constexpr absl::Duration kDoubleClick = absl::Milliseconds(400);
  // Smallest screen the layout works in.
  static constexpr int kMinWidth = 40;
  static constexpr int kMinHeight = 8;

  explicit ViewModel(Options options);

  void Resize(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }
  // Rows of the table the screen has room for.
  size_t TableRows() const;

  KeyResult HandleKey(const Key& key, absl::Time now);

  // A page of rows for `query`. Pages for an older filter or sort are
  // ignored; pages for another window of the same shape are used.
  void OnPage(const Query& query, const rustnet::v1::ListConnectionsResponse& page);
  void OnStats(const rustnet::v1::Stats& stats);
  // The daemon cannot be reached (the fetcher keeps retrying).
  void OnUnreachable(LinkProblem problem);
  // The daemon answered but refused the query (e.g. its filter parser
  // disagrees with ours).
  void OnQueryError(const Query& query, const std::string& message, absl::Time now);

  Query CurrentQuery() const;
  // What the current tab needs besides the connection list (kind kNone:
  // nothing), and its answer.
  ApiRequest CurrentApiRequest(absl::Time now) const;
  void OnApiReply(const ApiReply& reply);

  // The whole screen: exactly height() lines, none wider than width().
  std::vector<Line> Render(absl::Time now) const;
  // Where the terminal's cursor goes (row, column) while the filter is
  // being edited; nullopt otherwise (cursor hidden).
  std::optional<std::pair<int, int>> Cursor() const;

  // State, for the shell and the tests.
  Tab tab() const { return tab_; }
  bool paused() const { return paused_; }
  bool show_closed() const { return show_closed_; }
  bool grouped() const { return grouped_; }
  const GroupTree& tree() const { return tree_; }
  size_t tree_cursor() const { return tree_cursor_; }
  const ActivityView& activity() const { return *activity_; }
  const GraphView& graph() const { return *graph_; }
  const InterfacesView& interfaces() const { return *interfaces_; }
  const HistoryView& history() const { return *history_; }
  // The tab bar: where each tab's label is on row 0.
  struct TabLabel {
    Tab tab;
    size_t x;
    size_t width;
    std::string text;
  };
  std::vector<TabLabel> TabBar() const;
  bool editing_filter() const { return edit_.active; }
  const std::string& filter() const { return filter_; }
  const std::string& edit_text() const { return edit_.text; }
  const std::string& edit_error() const { return edit_.error; }
  bool quit_armed() const { return quit_armed_; }
  rustnet::v1::SortField sort_field() const { return sort_field_; }
  rustnet::v1::SortOrder sort_order() const { return sort_order_; }
  bool show_names() const { return show_names_; }
  uint64_t selected_index() const { return selected_index_; }
  uint64_t selected_id() const { return selected_id_; }
  bool selected_gone() const { return selected_gone_; }
  uint64_t top() const { return top_; }
  uint64_t matched() const { return matched_; }
  bool connected() const { return link_ == Link::kConnected; }
  bool unreachable() const { return link_ == Link::kUnreachable; }
  // The message on the status line, if one is showing at `now`.
  std::string Message(absl::Time now) const;
  // The selected connection (the last copy seen), if any.
  const rustnet::v1::Connection* Selected() const;
  // The connection at absolute row `index`, if it is in the fetched window.
  const rustnet::v1::Connection* RowAt(uint64_t index) const;

  // Help: the keys of every tab, and those of Overview (and Details).
  static std::vector<std::pair<std::string, std::string>> KeyHelp(const Glyphs& glyphs);
  static std::vector<std::pair<std::string, std::string>> OverviewKeyHelp(const Glyphs& glyphs);

 private:
  enum class Link { kConnecting, kConnected, kUnreachable };

  struct FilterEdit {
    bool active = false;
    // A tab's prompt (History's time range) rather than the filter: `label`
    // is shown before the text and Enter hands it to `tab`.
    TabView* tab = nullptr;
    std::string label;
    std::string text;
    size_t cursor = 0;  // Byte offset, on a code point boundary.
    std::string error;  // ParseFilter's message; empty when valid.
  };

  KeyResult HandleEditKey(const Key& key, absl::Time now);
  // HandleKey's jobs. `q q`: true when the key went to the confirmation
  // (arming it, or quitting); any other key disarms it and goes on.
  bool ConfirmQuit(const Key& key, absl::Time now, KeyResult* result);
  void MoveKey(int64_t step);     // Up / down: the selection, or Help's scroll.
  void PageKey(bool down);        // The selection by a page, or scroll.
  void HomeEndKey(bool end);      // First / last connection, or Help's top / end.
  void SwitchTab(bool forward);   // Tab / Shift+Tab, ] / [.
  void GoToTab(Tab tab);
  // Keys of the Overview's grouped view; true when used.
  bool GroupedKey(KeyCode code, char32_t ch, absl::Time now);
  void MouseKey(const Key& key, absl::Time now, KeyResult* result);
  void HeaderClick(size_t x, absl::Time now);
  // The data tab shown now, or null (Overview, Details, Help).
  TabView* DataTab(Tab tab) const;
  TabContext Context(absl::Time now) const;
  void ApplyTabAction(TabAction action, absl::Time now);
  void RebuildTree();
  void TreeMove(int64_t delta);
  void TreeEnter(absl::Time now);
  void EnterKey(absl::Time now);  // Overview: the selected connection's details.
  void EscapeKey();               // Back, or the message off.
  void CharKey(char32_t ch, absl::Time now, KeyResult* result);
  void ToggleHelp();
  void CopyRemote(absl::Time now, KeyResult* result);
  void StartFilterEdit();
  void ChangeSort(bool next_field, absl::Time now);  // s: next field; S: reverse.
  void ToggleNames(absl::Time now);
  void Validate();
  void SetMessage(std::string text, Style style, absl::Time now,
                  absl::Duration for_how_long = absl::Seconds(3));

  // Selection and scrolling.
  void MoveBy(int64_t delta);
  void SelectIndex(uint64_t index);
  void EnsureVisible();
  void UpdateWindow();
  // Filter, sort or loopback choice changed: rows are re-fetched from the
  // top, and the selected connection is kept if it is among them.
  void ShapeChanged();
  size_t WindowMargin() const;
  uint32_t WindowLimit() const;

  // Rendering.
  Line TitleLine() const;
  Line StatsLine() const;
  Line QueryLine() const;
  Line TableRow(const std::vector<PlacedColumn>& layout, uint64_t index) const;
  OverviewView Overview() const;
  Line StatusLine(absl::Time now) const;
  void RenderOverview(std::vector<Line>* out, size_t rows) const;
  void RenderGrouped(std::vector<Line>* out, size_t rows) const;
  void RenderDetails(std::vector<Line>* out, size_t rows) const;
  void RenderHelp(std::vector<Line>* out, size_t rows) const;
  void RenderUnreachable(std::vector<Line>* out, size_t rows) const;

  size_t DetailsMaxScroll() const;
  size_t HelpMaxScroll() const;
  std::vector<Line> HelpLines() const;

  std::string Clean(std::string_view text) const { return SanitizeText(text, glyphs_.unicode); }

  Options options_;
  Glyphs glyphs_;
  int width_ = 80;
  int height_ = 24;

  Tab tab_ = Tab::kOverview;
  Tab tab_before_help_ = Tab::kOverview;
  bool quit_armed_ = false;
  bool show_names_ = true;

  std::string filter_;
  FilterEdit edit_;
  rustnet::v1::SortField sort_field_ = rustnet::v1::SORT_FIELD_FIRST_SEEN;
  rustnet::v1::SortOrder sort_order_ = rustnet::v1::SORT_ORDER_ASCENDING;
  bool hide_loopback_ = false;

  std::string message_;
  Style message_style_ = Style::kNormal;
  absl::Time message_until_ = absl::InfinitePast();

  // The link and the latest data.
  Link link_ = Link::kConnecting;
  LinkProblem problem_;
  bool have_stats_ = false;
  rustnet::v1::Stats stats_;
  bool have_page_ = false;
  uint64_t matched_ = 0;
  uint64_t total_ = 0;
  uint64_t page_offset_ = 0;
  std::vector<rustnet::v1::Connection> rows_;
  int64_t snapshot_us_ = 0;

  // Selection: the row position and the connection it is on.
  uint64_t selected_index_ = 0;
  uint64_t selected_id_ = 0;  // 0: none yet (its row is not fetched).
  std::optional<rustnet::v1::Connection> selected_copy_;
  bool selected_gone_ = false;
  bool reanchor_ = false;       // The next page decides where the selection goes.
  uint64_t top_ = 0;            // First visible row.
  uint32_t window_offset_ = 0;  // First row of the window asked for.
  size_t details_scroll_ = 0;
  size_t help_scroll_ = 0;

  // The original's toggles: p, t, a.
  bool paused_ = false;
  bool show_closed_ = false;
  bool grouped_ = false;
  GroupTree tree_;
  size_t tree_cursor_ = 0;  // Index into tree_.entries().
  size_t tree_top_ = 0;
  // The group the cursor is on (kept across refreshes); nullopt before the
  // first tree ("" is the group of connections without a process).
  std::optional<std::string> tree_cursor_key_;
  uint64_t tree_cursor_id_ = 0;  // The connection it is on, 0 on a group line.

  // A Details view opened from History shows this connection.
  std::optional<rustnet::v1::Connection> history_details_;

  // The data tabs.
  std::unique_ptr<ActivityView> activity_;
  std::unique_ptr<GraphView> graph_;
  std::unique_ptr<InterfacesView> interfaces_;
  std::unique_ptr<HistoryView> history_;

  // The last click, for double clicks.
  absl::Time last_click_ = absl::InfinitePast();
  int last_click_y_ = -1;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_VIEW_MODEL_H_
