#include "client/view_model.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/location.h"
#include "client/tabs/help_view.h"
#include "client/tabs/overview_view.h"
#include "client/tabs/overview_model.h"
#include "common/filter.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

constexpr std::string_view kPrompt = "filter: ";

// Rows above and below the body: title, stats, query line; status line.
constexpr int kRowsAbove = 3;
constexpr int kRowsBelow = 1;

std::string AsString(std::string_view s) { return std::string(s); }

void AppendUtf8(char32_t c, std::string* out) {
  const auto u = static_cast<uint32_t>(c);
  if (u < 0x80) {
    *out += static_cast<char>(u);
  } else if (u < 0x800) {
    *out += static_cast<char>(0xC0 | (u >> 6));
    *out += static_cast<char>(0x80 | (u & 0x3F));
  } else if (u < 0x10000) {
    *out += static_cast<char>(0xE0 | (u >> 12));
    *out += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (u & 0x3F));
  } else if (u <= 0x10FFFF) {
    *out += static_cast<char>(0xF0 | (u >> 18));
    *out += static_cast<char>(0x80 | ((u >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (u & 0x3F));
  }
}

bool IsContinuation(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

size_t PrevBoundary(const std::string& s, size_t i) {
  if (i == 0) return 0;
  --i;
  while (i > 0 && IsContinuation(s[i])) --i;
  return i;
}

size_t NextBoundary(const std::string& s, size_t i) {
  if (i >= s.size()) return s.size();
  ++i;
  while (i < s.size() && IsContinuation(s[i])) ++i;
  return i;
}

// Cuts a line to `width` columns and drops what is past it.
Line FitLine(Line line, size_t width, const Glyphs& glyphs) {
  size_t used = 0;
  std::vector<Segment> kept;
  for (Segment& s : line.segments) {
    if (used >= width) break;
    const size_t w = DisplayWidth(s.text);
    if (used + w > width) s.text = FitEnd(s.text, width - used, glyphs);
    used += DisplayWidth(s.text);
    kept.push_back(std::move(s));
  }
  line.segments = std::move(kept);
  return line;
}

// vi's keys as the keys they stand for: k j up / down, g G first / last.
KeyCode WithViKeys(const Key& key) {
  if (key.code != KeyCode::kChar) return key.code;
  switch (key.ch) {
    case U'k': return KeyCode::kUp;
    case U'j': return KeyCode::kDown;
    case U'g': return KeyCode::kHome;
    case U'G': return KeyCode::kEnd;
    default: return KeyCode::kChar;
  }
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string Line::Text() const {
  std::string out;
  for (const Segment& s : segments) out += s.text;
  return out;
}

bool Query::SameShape(const Query& other) const {
  return filter == other.filter && sort == other.sort && order == other.order &&
         hide_loopback == other.hide_loopback && include_closed == other.include_closed;
}

v1::ListConnectionsRequest Query::ToRequest() const {
  v1::ListConnectionsRequest r;
  r.set_filter(filter);
  r.set_sort(sort);
  r.set_order(order);
  r.set_offset(offset);
  r.set_limit(limit);
  r.set_hide_loopback(hide_loopback);
  r.set_include_closed(include_closed);
  return r;
}

const std::vector<SortChoice>& SortCycle() {
  static const std::vector<SortChoice> kCycle = {
      {v1::SORT_FIELD_FIRST_SEEN, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_PROTOCOL, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_LOCAL_ADDRESS, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_REMOTE_ADDRESS, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_LOCATION, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_STATE, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_SERVICE, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_APPLICATION, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_RATE_IN, v1::SORT_ORDER_DESCENDING},
      {v1::SORT_FIELD_RATE_OUT, v1::SORT_ORDER_DESCENDING},
      {v1::SORT_FIELD_RATE_TOTAL, v1::SORT_ORDER_DESCENDING},
      {v1::SORT_FIELD_BYTES_TOTAL, v1::SORT_ORDER_DESCENDING},
      {v1::SORT_FIELD_PROCESS, v1::SORT_ORDER_ASCENDING},
      {v1::SORT_FIELD_RTT, v1::SORT_ORDER_DESCENDING},
      {v1::SORT_FIELD_LAST_SEEN, v1::SORT_ORDER_DESCENDING},
  };
  return kCycle;
}

std::string_view SortFieldName(v1::SortField field) {
  switch (field) {
    case v1::SORT_FIELD_UNSPECIFIED:
    case v1::SORT_FIELD_FIRST_SEEN: return "first seen";
    case v1::SORT_FIELD_LAST_SEEN: return "last seen";
    case v1::SORT_FIELD_PROTOCOL: return "protocol";
    case v1::SORT_FIELD_LOCAL_ADDRESS: return "local address";
    case v1::SORT_FIELD_REMOTE_ADDRESS: return "remote address";
    case v1::SORT_FIELD_STATE: return "state";
    case v1::SORT_FIELD_SERVICE: return "service";
    case v1::SORT_FIELD_APPLICATION: return "application";
    case v1::SORT_FIELD_RATE_IN: return "rate in";
    case v1::SORT_FIELD_RATE_OUT: return "rate out";
    case v1::SORT_FIELD_RATE_TOTAL: return "total rate";
    case v1::SORT_FIELD_BYTES_IN: return "bytes in";
    case v1::SORT_FIELD_BYTES_OUT: return "bytes out";
    case v1::SORT_FIELD_BYTES_TOTAL: return "total bytes";
    case v1::SORT_FIELD_PROCESS: return "process";
    case v1::SORT_FIELD_LOCATION: return "location";
    case v1::SORT_FIELD_RTT: return "RTT";
    default: return "?";
  }
}

ViewModel::ViewModel(Options options)
    : options_(std::move(options)),
      glyphs_{options_.unicode},
      filter_(options_.filter),
      hide_loopback_(options_.hide_loopback),
      activity_(std::make_unique<ActivityView>()),
      graph_(std::make_unique<GraphView>()),
      interfaces_(std::make_unique<InterfacesView>()),
      history_(std::make_unique<HistoryView>()) {
  tab_ = options_.tab;
  UpdateWindow();
}

// --- Geometry -------------------------------------------------------------------

void ViewModel::Resize(int width, int height) {
  width_ = std::max(width, 1);
  height_ = std::max(height, 1);
  EnsureVisible();
  UpdateWindow();
  details_scroll_ = std::min(details_scroll_, DetailsMaxScroll());
  help_scroll_ = std::min(help_scroll_, HelpMaxScroll());
}

size_t ViewModel::TableRows() const {
  const int rows = height_ - kRowsAbove - kRowsBelow - 1;  // 1: column headers.
  return rows > 0 ? static_cast<size_t>(rows) : 0;
}

size_t ViewModel::WindowMargin() const { return 2 * std::max<size_t>(TableRows(), kPageStep); }

uint32_t ViewModel::WindowLimit() const {
  return static_cast<uint32_t>(std::max<size_t>(TableRows(), 1) + 2 * WindowMargin());
}

void ViewModel::EnsureVisible() {
  const size_t rows = std::max<size_t>(TableRows(), 1);
  if (selected_index_ < top_) top_ = selected_index_;
  if (selected_index_ >= top_ + rows) top_ = selected_index_ - rows + 1;
  const uint64_t max_top = matched_ > rows ? matched_ - rows : 0;
  if (top_ > max_top) top_ = max_top;
}

void ViewModel::UpdateWindow() {
  // The window is the screen plus two screens on each side. When the
  // visible rows come within half a screen (at least a page step) of an
  // edge, the window is centred on them again: moving around changes the
  // query (and costs a fetch) only every screen and a half, and the rows
  // on screen are always already there while the new window is fetched.
  const uint64_t rows = std::max<size_t>(TableRows(), 1);
  const uint64_t margin = WindowMargin();
  const uint64_t slack = std::max<uint64_t>(rows / 2, kPageStep);
  const uint64_t limit = WindowLimit();
  const uint64_t start = window_offset_;
  const bool low_ok = start == 0 || top_ >= start + slack;
  const bool high_ok = top_ + rows + slack <= start + limit || start + limit >= matched_;
  if (!low_ok || !high_ok) {
    const uint64_t offset = top_ > margin ? top_ - margin : 0;
    window_offset_ = static_cast<uint32_t>(std::min<uint64_t>(offset, UINT32_MAX));
  }
}

Query ViewModel::CurrentQuery() const {
  Query q;
  q.filter = filter_;
  q.sort = sort_field_;
  q.order = sort_order_;
  q.hide_loopback = hide_loopback_;
  q.include_closed = show_closed_;
  q.offset = window_offset_;
  q.limit = WindowLimit();
  if (grouped_) {
    // The tree needs the rows of each process together, from the top.
    q.sort = v1::SORT_FIELD_PROCESS;
    q.order = v1::SORT_ORDER_ASCENDING;
    q.offset = 0;
    q.limit = kGroupedRows;
  }
  return q;
}

TabContext ViewModel::Context(absl::Time now) const {
  return TabContext{glyphs_, filter_, hide_loopback_, now};
}

TabView* ViewModel::DataTab(Tab tab) const {
  switch (tab) {
    case Tab::kActivity: return activity_.get();
    case Tab::kGraph: return graph_.get();
    case Tab::kInterfaces: return interfaces_.get();
    case Tab::kHistory: return history_.get();
    default: return nullptr;
  }
}

ApiRequest ViewModel::CurrentApiRequest(absl::Time now) const {
  const TabView* t = DataTab(tab_);
  return t != nullptr ? t->Request(Context(now)) : ApiRequest{};
}

void ViewModel::OnApiReply(const ApiReply& reply) {
  if (paused_) return;
  if (reply.stats) OnStats(*reply.stats);
  for (TabView* t : {static_cast<TabView*>(activity_.get()), static_cast<TabView*>(graph_.get()),
                     static_cast<TabView*>(interfaces_.get()),
                     static_cast<TabView*>(history_.get())}) {
    const ApiRequest want = t->Request(Context(absl::UnixEpoch()));
    // Only answers to the tab's current question (not to the grouping or
    // range it had before).
    if (want.kind == reply.kind && want.identity == reply.identity) {
      t->OnReply(reply);
    }
  }
}

// --- Data in --------------------------------------------------------------------

const v1::Connection* ViewModel::RowAt(uint64_t index) const {
  if (!have_page_ || index < page_offset_ || index - page_offset_ >= rows_.size()) return nullptr;
  return &rows_[index - page_offset_];
}

const v1::Connection* ViewModel::Selected() const {
  if (history_details_) return &*history_details_;
  return selected_copy_ ? &*selected_copy_ : nullptr;
}

void ViewModel::OnPage(const Query& query, const v1::ListConnectionsResponse& page) {
  if (paused_ && have_page_) return;              // `p`: the screen stays as it is.
  if (!query.SameShape(CurrentQuery())) return;  // Answer to an older filter or sort.
  link_ = Link::kConnected;
  have_page_ = true;
  matched_ = page.matched();
  total_ = page.total();
  page_offset_ = page.offset();
  rows_.assign(page.connections().begin(), page.connections().end());
  snapshot_us_ = page.has_snapshot_time() ? ToMicros(page.snapshot_time()) : 0;

  // Where is the selected connection now?
  std::optional<uint64_t> found;
  if (selected_id_ != 0) {
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (rows_[i].id() == selected_id_) {
        found = page_offset_ + i;
        break;
      }
    }
  }
  if (reanchor_ && !found) selected_index_ = 0;
  if (matched_ == 0) {
    selected_index_ = 0;
  } else if (selected_index_ >= matched_) {
    selected_index_ = matched_ - 1;
  }
  const v1::Connection* row_there = RowAt(selected_index_);
  if (found) {
    selected_index_ = *found;
    selected_copy_ = *RowAt(*found);
    selected_gone_ = false;
  } else if (selected_id_ != 0 && row_there == nullptr && matched_ > 0) {
    // A window that does not reach the selected row (an answer to an
    // earlier scroll position) says nothing about it: wait for the next.
  } else if (selected_id_ != 0 && tab_ == Tab::kDetails && !reanchor_) {
    // Gone (or moved out of reach). Keep showing the last copy: the user is
    // reading about it.
    selected_gone_ = true;
  } else {
    // Gone, or not known yet: the connection now on the same row.
    selected_id_ = row_there != nullptr ? row_there->id() : 0;
    if (row_there != nullptr) {
      selected_copy_ = *row_there;
    } else if (matched_ == 0) {
      selected_copy_.reset();
    }
    selected_gone_ = false;
  }
  reanchor_ = false;
  EnsureVisible();
  UpdateWindow();
  if (grouped_) RebuildTree();
}

void ViewModel::OnStats(const v1::Stats& stats) {
  if (paused_ && have_stats_) return;
  stats_ = stats;
  have_stats_ = true;
}

void ViewModel::OnUnreachable(LinkProblem problem) {
  link_ = Link::kUnreachable;
  problem_ = std::move(problem);
  have_stats_ = false;
}

void ViewModel::OnQueryError(const Query& query, const std::string& message, absl::Time now) {
  if (!query.SameShape(CurrentQuery())) return;
  link_ = Link::kConnected;
  SetMessage(Cat("rustnetd refused the query: ", Clean(message)), Style::kError, now,
             absl::Seconds(10));
}

// --- Keys -----------------------------------------------------------------------

void ViewModel::SetMessage(std::string text, Style style, absl::Time now, absl::Duration d) {
  message_ = std::move(text);
  message_style_ = style;
  message_until_ = now + d;
}

std::string ViewModel::Message(absl::Time now) const {
  return now < message_until_ ? message_ : std::string();
}

void ViewModel::SelectIndex(uint64_t index) {
  if (matched_ == 0) return;
  reanchor_ = false;  // The user chose a row; the next page must not move it.
  index = std::min(index, matched_ - 1);
  const uint64_t old_id = selected_id_;
  selected_index_ = index;
  const v1::Connection* row = RowAt(index);
  selected_id_ = row != nullptr ? row->id() : 0;  // 0: resolved when the rows arrive.
  if (row != nullptr) {
    selected_copy_ = *row;
  } else {
    selected_copy_.reset();
  }
  selected_gone_ = false;
  if (selected_id_ != old_id) details_scroll_ = 0;
  EnsureVisible();
  UpdateWindow();
}

void ViewModel::MoveBy(int64_t delta) {
  if (matched_ == 0) return;
  uint64_t index = selected_index_;
  if (delta < 0) {
    const auto back = static_cast<uint64_t>(-delta);
    index = index > back ? index - back : 0;
  } else {
    index += static_cast<uint64_t>(delta);
  }
  SelectIndex(index);
}

void ViewModel::ShapeChanged() {
  reanchor_ = true;
  have_page_ = false;
  rows_.clear();
  top_ = 0;
  selected_index_ = 0;
  window_offset_ = 0;
  UpdateWindow();
}

void ViewModel::Validate() {
  if (edit_.tab != nullptr) {
    edit_.error.clear();  // A tab's prompt is checked when submitted.
    return;
  }
  auto parsed = ParseFilter(edit_.text);
  edit_.error = parsed.ok() ? std::string() : std::string(parsed.status().message());
}

ViewModel::KeyResult ViewModel::HandleEditKey(const Key& key, absl::Time now) {
  KeyResult result;
  std::string& text = edit_.text;
  size_t& cursor = edit_.cursor;
  switch (key.code) {
    case KeyCode::kChar:
      if (key.ch >= 0x20 && key.ch != 0x7F && text.size() < kMaxFilterBytes) {
        std::string utf8;
        AppendUtf8(key.ch, &utf8);
        text.insert(cursor, utf8);
        cursor += utf8.size();
      }
      break;
    case KeyCode::kBackspace:
      if (cursor > 0) {
        const size_t start = PrevBoundary(text, cursor);
        text.erase(start, cursor - start);
        cursor = start;
      }
      break;
    case KeyCode::kDelete:
      if (cursor < text.size()) text.erase(cursor, NextBoundary(text, cursor) - cursor);
      break;
    case KeyCode::kLeft: cursor = PrevBoundary(text, cursor); break;
    case KeyCode::kRight: cursor = NextBoundary(text, cursor); break;
    case KeyCode::kHome:
    case KeyCode::kLineStart: cursor = 0; break;
    case KeyCode::kEnd:
    case KeyCode::kLineEnd: cursor = text.size(); break;
    case KeyCode::kKillLine:
      text.erase(0, cursor);
      cursor = 0;
      break;
    case KeyCode::kKillWord: {
      size_t start = cursor;
      while (start > 0 && text[start - 1] == ' ') --start;
      while (start > 0 && text[start - 1] != ' ') --start;
      text.erase(start, cursor - start);
      cursor = start;
      break;
    }
    case KeyCode::kEnter: {
      if (edit_.tab != nullptr) {
        if (auto error = edit_.tab->OnPrompt(text, Context(now))) {
          edit_.error = *error;
          SetMessage("fix it or press Esc to cancel", Style::kError, now);
          return result;
        }
        edit_.active = false;
        edit_.tab = nullptr;
        SetMessage(Cat(edit_.label, text.empty() ? "all" : Clean(text)), Style::kNormal, now);
        return result;
      }
      Validate();
      if (!edit_.error.empty()) {
        SetMessage("fix the filter or press Esc to cancel", Style::kError, now);
        return result;
      }
      std::string applied = text;
      const size_t first = applied.find_first_not_of(' ');
      applied = first == std::string::npos
                    ? std::string()
                    : applied.substr(first, applied.find_last_not_of(' ') - first + 1);
      edit_.active = false;
      if (applied != filter_) {
        filter_ = applied;
        ShapeChanged();
      }
      SetMessage(filter_.empty() ? "filter cleared" : Cat("filter: ", Clean(filter_)),
                 Style::kNormal, now);
      return result;
    }
    case KeyCode::kEscape:
      edit_.active = false;
      SetMessage(edit_.tab != nullptr ? "unchanged" : "filter unchanged", Style::kNormal, now);
      edit_.tab = nullptr;
      return result;
    case KeyCode::kInterrupt: result.quit = true; return result;
    case KeyCode::kRedraw: result.redraw = true; return result;
    default: return result;
  }
  Validate();
  return result;
}

ViewModel::KeyResult ViewModel::HandleKey(const Key& key, absl::Time now) {
  KeyResult result;
  if (key.code == KeyCode::kNone) return result;
  if (key.code == KeyCode::kInterrupt) {
    result.quit = true;
    return result;
  }
  if (key.code == KeyCode::kMouse) {
    if (!edit_.active) MouseKey(key, now, &result);
    return result;
  }
  if (edit_.active) return HandleEditKey(key, now);
  if (ConfirmQuit(key, now, &result)) return result;

  // Keys that mean the same on every tab.
  if (key.code == KeyCode::kChar) {
    const char32_t ch = key.ch;
    if (ch >= U'1' && ch < U'1' + kTabCount) {
      GoToTab(TabAt(static_cast<int>(ch - U'1')));
      return result;
    }
    switch (ch) {
      case U']': SwitchTab(true); return result;
      case U'[': SwitchTab(false); return result;
      case U'h': ToggleHelp(); return result;
      case U'/': StartFilterEdit(); return result;
      case U'p':
        paused_ = !paused_;
        SetMessage(paused_ ? "paused: the screen keeps its data; p resumes" : "resumed",
                   paused_ ? Style::kWarn : Style::kNormal, now);
        return result;
      case U'x':
        if (!filter_.empty()) {
          filter_.clear();
          ShapeChanged();
        }
        SetMessage("filter cleared", Style::kNormal, now);
        return result;
      default: break;
    }
  }
  // The data tabs: their own keys first (g, s, w, e as typed), then as vi
  // keys (j k g G as arrows, Home, End).
  if (TabView* t = DataTab(tab_)) {
    TabAction action;
    bool used = t->OnKey(key, Context(now), &action);
    if (!used && key.code == KeyCode::kChar) {
      const KeyCode mapped = WithViKeys(key);
      if (mapped != KeyCode::kChar) used = t->OnKey(Key::Of(mapped), Context(now), &action);
    }
    if (used) {
      ApplyTabAction(std::move(action), now);
      return result;
    }
  }

  const KeyCode code = WithViKeys(key);
  if (tab_ == Tab::kOverview && grouped_ && GroupedKey(code, key.ch, now)) return result;
  switch (code) {
    case KeyCode::kUp:
    case KeyCode::kDown: MoveKey(code == KeyCode::kUp ? -1 : 1); break;
    case KeyCode::kPageUp:
    case KeyCode::kPageDown: PageKey(code == KeyCode::kPageDown); break;
    case KeyCode::kHome:
    case KeyCode::kEnd: HomeEndKey(code == KeyCode::kEnd); break;
    case KeyCode::kTab:
    case KeyCode::kBackTab: SwitchTab(code == KeyCode::kTab); break;
    case KeyCode::kEnter: EnterKey(now); break;
    case KeyCode::kEscape: EscapeKey(); break;
    case KeyCode::kSuspend: result.suspend = true; break;
    case KeyCode::kRedraw: result.redraw = true; break;
    case KeyCode::kChar: CharKey(key.ch, now, &result); break;
    default: break;
  }
  return result;
}

void ViewModel::ApplyTabAction(TabAction action, absl::Time now) {
  if (!action.message.empty()) SetMessage(action.message, action.message_style, now);
  if (action.apply_filter) {
    if (*action.apply_filter != filter_) {
      filter_ = *action.apply_filter;
      ShapeChanged();
    }
    tab_ = Tab::kOverview;
    SetMessage(Cat("filter: ", Clean(filter_), "  (x clears it)"), Style::kNormal, now);
  }
  if (action.open_details && action.details) {
    history_details_ = std::move(action.details);
    details_scroll_ = 0;
    tab_ = Tab::kDetails;
  }
  if (action.prompt) {
    edit_.active = true;
    edit_.tab = DataTab(tab_);
    edit_.label = action.prompt_label;
    edit_.text = action.prompt_text;
    edit_.cursor = edit_.text.size();
    edit_.error.clear();
  }
}

// --- The grouped Overview (a) ---------------------------------------------------

void ViewModel::RebuildTree() {
  tree_.Build(rows_);
  // The cursor stays on its connection, else on its group.
  const auto& entries = tree_.entries();
  std::optional<size_t> at;
  for (size_t i = 0; i < entries.size() && !at; ++i) {
    const GroupTree::Entry& e = entries[i];
    if (tree_cursor_id_ != 0 && !e.is_group && rows_[e.row].id() == tree_cursor_id_) at = i;
  }
  for (size_t i = 0; i < entries.size() && !at; ++i) {
    const GroupTree::Entry& e = entries[i];
    if (e.is_group && tree_cursor_key_ && tree_.groups()[e.group].key == *tree_cursor_key_) {
      at = i;
    }
  }
  tree_cursor_ = at.value_or(std::min(tree_cursor_, entries.empty() ? 0 : entries.size() - 1));
  TreeMove(0);
}

void ViewModel::TreeMove(int64_t delta) {
  const auto& entries = tree_.entries();
  if (entries.empty()) {
    tree_cursor_ = 0;
    return;
  }
  const auto n = static_cast<int64_t>(entries.size());
  tree_cursor_ = static_cast<size_t>(
      std::clamp<int64_t>(static_cast<int64_t>(tree_cursor_) + delta, 0, n - 1));
  const GroupTree::Entry& e = entries[tree_cursor_];
  tree_cursor_key_ = tree_.groups()[e.group].key;
  tree_cursor_id_ = e.is_group ? 0 : rows_[e.row].id();
  // On a connection, it is the selection too (c copies it, Enter opens it).
  // The grouped rows start at 0, so a row's index is its position.
  if (!e.is_group && e.row != selected_index_) SelectIndex(e.row);
  const size_t rows = std::max<size_t>(TableRows(), 1);
  if (tree_cursor_ < tree_top_) tree_top_ = tree_cursor_;
  if (tree_cursor_ >= tree_top_ + rows) tree_top_ = tree_cursor_ - rows + 1;
}

void ViewModel::TreeEnter(absl::Time now) {
  const auto& entries = tree_.entries();
  if (tree_cursor_ >= entries.size()) return;
  const GroupTree::Entry e = entries[tree_cursor_];
  if (e.is_group) {
    tree_.Toggle(tree_.groups()[e.group].key);
    TreeMove(0);
    return;
  }
  // The rows of the grouped view start at 0: the row is its index.
  SelectIndex(e.row);
  EnterKey(now);
}

bool ViewModel::GroupedKey(KeyCode code, char32_t ch, absl::Time now) {
  const auto& entries = tree_.entries();
  const auto key_of_cursor = [&]() -> std::string {
    return tree_cursor_ < entries.size() ? tree_.groups()[entries[tree_cursor_].group].key
                                         : std::string();
  };
  switch (code) {
    case KeyCode::kUp: TreeMove(-1); return true;
    case KeyCode::kDown: TreeMove(1); return true;
    case KeyCode::kPageUp: TreeMove(-static_cast<int64_t>(kPageStep)); return true;
    case KeyCode::kPageDown: TreeMove(static_cast<int64_t>(kPageStep)); return true;
    case KeyCode::kHome: TreeMove(-static_cast<int64_t>(entries.size())); return true;
    case KeyCode::kEnd: TreeMove(static_cast<int64_t>(entries.size())); return true;
    case KeyCode::kEnter: TreeEnter(now); return true;
    case KeyCode::kRight:
    case KeyCode::kLeft: {
      if (entries.empty()) return true;
      const std::string key = key_of_cursor();
      const bool open = code == KeyCode::kRight;
      tree_.SetExpanded(key, open);
      if (!open) {
        // The cursor goes to the group's line.
        for (size_t i = 0; i < tree_.entries().size(); ++i) {
          const GroupTree::Entry& e = tree_.entries()[i];
          if (e.is_group && tree_.groups()[e.group].key == key) tree_cursor_ = i;
        }
      }
      TreeMove(0);
      return true;
    }
    case KeyCode::kChar:
      if (ch == U' ') {
        if (entries.empty()) return true;
        const std::string key = key_of_cursor();
        tree_.Toggle(key);
        if (!tree_.expanded(key)) {
          for (size_t i = 0; i < tree_.entries().size(); ++i) {
            const GroupTree::Entry& e = tree_.entries()[i];
            if (e.is_group && tree_.groups()[e.group].key == key) tree_cursor_ = i;
          }
        }
        TreeMove(0);
        return true;
      }
      return false;
    default: return false;
  }
}

// --- Mouse ------------------------------------------------------------------------

void ViewModel::MouseKey(const Key& key, absl::Time now, KeyResult* /*result*/) {
  if (width_ < kMinWidth || height_ < kMinHeight) return;
  if (key.mouse == MouseAction::kWheelUp || key.mouse == MouseAction::kWheelDown) {
    const bool up = key.mouse == MouseAction::kWheelUp;
    const Key arrow = Key::Of(up ? KeyCode::kUp : KeyCode::kDown);
    for (int i = 0; i < 3; ++i) HandleKey(arrow, now);
    return;
  }
  if (key.mouse != MouseAction::kClick) return;
  const bool double_click = key.y == last_click_y_ && now - last_click_ <= kDoubleClick;
  last_click_ = double_click ? absl::InfinitePast() : now;
  last_click_y_ = key.y;
  if (key.y == 0) {
    for (const TabLabel& label : TabBar()) {
      const auto x = static_cast<size_t>(std::max(key.x, 0));
      if (x >= label.x && x < label.x + label.width) GoToTab(label.tab);
    }
    return;
  }
  if (key.y < kRowsAbove || key.y >= height_ - kRowsBelow) return;
  const auto row = static_cast<size_t>(key.y - kRowsAbove);
  const auto x = static_cast<size_t>(std::max(key.x, 0));
  if (TabView* t = DataTab(tab_)) {
    TabAction action;
    if (t->OnClick(row, x, double_click, Context(now), &action)) {
      ApplyTabAction(std::move(action), now);
    }
    return;
  }
  if (tab_ != Tab::kOverview || link_ == Link::kUnreachable) return;
  if (row == 0) {
    HeaderClick(x, now);
    return;
  }
  if (grouped_) {
    const size_t index = tree_top_ + row - 1;
    if (index >= tree_.entries().size()) return;
    tree_cursor_ = index;
    TreeMove(0);
    if (double_click) TreeEnter(now);
    return;
  }
  const uint64_t index = top_ + row - 1;
  if (index >= matched_) return;
  SelectIndex(index);
  if (double_click) EnterKey(now);
}

void ViewModel::HeaderClick(size_t x, absl::Time now) {
  for (const PlacedColumn& p : LayoutColumns(static_cast<size_t>(width_), options_.columns)) {
    if (x < p.x || x >= p.x + p.width + 1) continue;
    const v1::SortField field = SpecOf(p.column).sort;
    if (field == v1::SORT_FIELD_UNSPECIFIED) return;
    if (field == sort_field_) {
      sort_order_ = sort_order_ == v1::SORT_ORDER_DESCENDING ? v1::SORT_ORDER_ASCENDING
                                                             : v1::SORT_ORDER_DESCENDING;
    } else {
      sort_field_ = field;
      sort_order_ = v1::SORT_ORDER_ASCENDING;
      for (const SortChoice& c : SortCycle()) {
        if (c.field == field) sort_order_ = c.order;
      }
    }
    ShapeChanged();
    SetMessage(Cat("sort: ", SortFieldName(sort_field_), " ",
                   sort_order_ == v1::SORT_ORDER_DESCENDING ? glyphs_.Down() : glyphs_.Up()),
               Style::kNormal, now);
    return;
  }
}

bool ViewModel::ConfirmQuit(const Key& key, absl::Time now, KeyResult* result) {
  const bool is_q = key.code == KeyCode::kChar && key.ch == U'q';
  if (quit_armed_) {
    quit_armed_ = false;
    message_until_ = absl::InfinitePast();
    result->quit = is_q;
    // Any other key cancels the quit and then does what it does.
    return is_q;
  }
  if (!is_q) return false;
  quit_armed_ = true;
  SetMessage("press q again to quit", Style::kWarn, now, absl::InfiniteDuration());
  return true;
}

void ViewModel::MoveKey(int64_t step) {
  if (DataTab(tab_) != nullptr) return;
  if (tab_ == Tab::kOverview || tab_ == Tab::kDetails) {
    MoveBy(step);
  } else if (step < 0) {
    help_scroll_ = help_scroll_ > 0 ? help_scroll_ - 1 : 0;
  } else {
    help_scroll_ = std::min(help_scroll_ + 1, HelpMaxScroll());
  }
}

void ViewModel::PageKey(bool down) {
  if (DataTab(tab_) != nullptr) return;
  if (tab_ == Tab::kOverview) {
    MoveBy(down ? static_cast<int64_t>(kPageStep) : -static_cast<int64_t>(kPageStep));
    return;
  }
  size_t& scroll = tab_ == Tab::kDetails ? details_scroll_ : help_scroll_;
  const size_t max = tab_ == Tab::kDetails ? DetailsMaxScroll() : HelpMaxScroll();
  const size_t page = std::max<size_t>(1, static_cast<size_t>(std::max(height_ - 6, 1)));
  scroll = down ? std::min(scroll + page, max) : (scroll > page ? scroll - page : 0);
}

void ViewModel::HomeEndKey(bool end) {
  if (DataTab(tab_) != nullptr) return;
  if (tab_ == Tab::kHelp) {
    help_scroll_ = end ? HelpMaxScroll() : 0;
  } else if (!end) {
    SelectIndex(0);
  } else if (matched_ > 0) {
    SelectIndex(matched_ - 1);
  }
}

void ViewModel::GoToTab(Tab tab) {
  if (tab == tab_) return;
  if (tab == Tab::kHelp) {
    tab_before_help_ = tab_;
    help_scroll_ = 0;
  }
  if (tab_ == Tab::kDetails && tab != Tab::kDetails) history_details_.reset();
  tab_ = tab;
}

void ViewModel::SwitchTab(bool forward) {
  const int i = TabIndex(tab_);
  GoToTab(TabAt(forward ? i + 1 : i + kTabCount - 1));
}

void ViewModel::EnterKey(absl::Time now) {
  if (tab_ != Tab::kOverview) return;
  if (Selected() == nullptr) {
    SetMessage("no connection selected", Style::kWarn, now);
    return;
  }
  tab_ = Tab::kDetails;
  details_scroll_ = 0;
}

void ViewModel::EscapeKey() {
  if (tab_ == Tab::kDetails) {
    if (history_details_) {
      history_details_.reset();
      tab_ = Tab::kHistory;
      return;
    }
    tab_ = Tab::kOverview;
    if (selected_gone_) SelectIndex(selected_index_);
  } else if (tab_ == Tab::kHelp) {
    tab_ = tab_before_help_;
  } else {
    message_until_ = absl::InfinitePast();
  }
}

void ViewModel::CharKey(char32_t ch, absl::Time now, KeyResult* result) {
  switch (ch) {
    case U'c': CopyRemote(now, result); break;
    case U's':
    case U'S':
      if (tab_ == Tab::kOverview || tab_ == Tab::kDetails) ChangeSort(ch == U's', now);
      break;
    case U'n':
    case U'd': ToggleNames(now); break;
    case U'r':
      if (sort_field_ != v1::SORT_FIELD_FIRST_SEEN || sort_order_ != v1::SORT_ORDER_ASCENDING) {
        sort_field_ = v1::SORT_FIELD_FIRST_SEEN;
        sort_order_ = v1::SORT_ORDER_ASCENDING;
        ShapeChanged();
      }
      SetMessage("sort reset: first seen", Style::kNormal, now);
      break;
    case U't':
      show_closed_ = !show_closed_;
      ShapeChanged();
      SetMessage(show_closed_ ? "showing recently closed connections (dimmed)"
                              : "hiding closed connections",
                 Style::kNormal, now);
      break;
    case U'a':
      grouped_ = !grouped_;
      ShapeChanged();
      tree_cursor_ = 0;
      tree_top_ = 0;
      tree_cursor_key_.reset();
      tree_cursor_id_ = 0;
      if (tab_ == Tab::kDetails) tab_ = Tab::kOverview;
      SetMessage(grouped_ ? Cat("grouped by process: Space or ",
                                glyphs_.unicode ? "\u2192" : "Right", " opens a group, ",
                                glyphs_.unicode ? "\u2190" : "Left", " closes it")
                          : std::string("not grouped"),
                 Style::kNormal, now);
      break;
    default: break;
  }
}

void ViewModel::ToggleHelp() {
  if (tab_ == Tab::kHelp) {
    tab_ = tab_before_help_;
  } else {
    GoToTab(Tab::kHelp);
  }
}

void ViewModel::CopyRemote(absl::Time now, KeyResult* result) {
  const v1::Connection* c = Selected();
  if (c == nullptr) {
    SetMessage("no connection selected", Style::kWarn, now);
    return;
  }
  result->copy = Clean(FormatEndpoint(c->remote()));
  SetMessage(Cat("copied ", result->copy), Style::kGood, now);
}

void ViewModel::StartFilterEdit() {
  edit_.active = true;
  edit_.text = filter_;
  edit_.cursor = edit_.text.size();
  Validate();
}

void ViewModel::ChangeSort(bool next_field, absl::Time now) {
  if (next_field) {
    const auto& cycle = SortCycle();
    size_t pos = 0;
    for (size_t i = 0; i < cycle.size(); ++i) {
      if (cycle[i].field == sort_field_) pos = i;
    }
    const SortChoice& next = cycle[(pos + 1) % cycle.size()];
    sort_field_ = next.field;
    sort_order_ = next.order;
  } else {
    sort_order_ = sort_order_ == v1::SORT_ORDER_DESCENDING ? v1::SORT_ORDER_ASCENDING
                                                           : v1::SORT_ORDER_DESCENDING;
  }
  ShapeChanged();
  SetMessage(Cat("sort: ", SortFieldName(sort_field_), " ",
                 sort_order_ == v1::SORT_ORDER_DESCENDING ? glyphs_.Down() : glyphs_.Up()),
             Style::kNormal, now);
}

void ViewModel::ToggleNames(absl::Time now) {
  show_names_ = !show_names_;
  SetMessage(show_names_ ? "showing host names where known" : "showing raw addresses",
             Style::kNormal, now);
}

// --- Rendering ------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> ViewModel::KeyHelp(const Glyphs& g) {
  return {
      {"q q", "quit (press q twice; any other key cancels)"},
      {"Ctrl+C", "quit at once"},
      {"1 .. 7", "Overview, Details, Activity, Graph, Interfaces, History, Help"},
      {"Tab / Shift+Tab", "next / previous tab (also ] and [)"},
      {Cat(g.Up(), " k / ", g.Down(), " j"), "move the selection up / down"},
      {"PageUp / PageDown", "move by 10 (Details, Help: scroll; also Ctrl+B / Ctrl+F)"},
      {"Home g / End G", "first / last row"},
      {"Esc", "go back"},
      {"h", "toggle this help"},
      {"/", "edit the filter: Enter applies, Esc cancels"},
      {"x", "clear the filter"},
      {"p", "pause updates (PAUSED in the title bar); p again resumes"},
      {"mouse", "click a tab or a row, wheel scrolls, double click opens"},
      {"Ctrl+L", "redraw the screen"},
      {"Ctrl+Z", "suspend (fg resumes)"},
  };
}

std::vector<std::pair<std::string, std::string>> ViewModel::OverviewKeyHelp(const Glyphs& g) {
  return {
      {"Enter / double click", "details of the selected connection"},
      {"c", "copy the remote address to the clipboard (OSC 52)"},
      {"s / S", "next sort column / reverse the order (or click a column title)"},
      {"r", "reset the sort (first seen)"},
      {"n / d", "show host names or raw addresses"},
      {"t", "show the recently closed connections too (dimmed, with why they closed)"},
      {"a", "group by process: one line per process with its totals"},
      {Cat("Space / ", g.unicode ? "\u2192 / \u2190" : "Right / Left"),
       "grouped: open / close the process under the cursor"},
      {"colours", "yellow: idle past 75% of its timeout; red: past 90% (about to expire)"},
  };
}

std::vector<ViewModel::TabLabel> ViewModel::TabBar() const {
  // Full names when they fit beside the title, else short ones.
  static constexpr const char* kShort[] = {"Ovw", "Det", "Act", "Graph", "Ifc", "Hist", "Help"};
  const size_t title = DisplayWidth(" rustnet ");
  for (const bool full : {true, false}) {
    std::vector<TabLabel> labels;
    size_t x = title;
    for (int i = 0; i < kTabCount; ++i) {
      const Tab tab = TabAt(i);
      std::string text = Cat(" ", full ? TabName(tab) : kShort[i], " ");
      x += 1;  // The blank before each label.
      const size_t w = DisplayWidth(text);
      labels.push_back({tab, x, w, std::move(text)});
      x += w;
    }
    if (!full || x + 12 <= static_cast<size_t>(width_)) return labels;
  }
  return {};
}

Line ViewModel::TitleLine() const {
  Line line;
  line.fill = Style::kTitle;
  line.segments.push_back({" rustnet ", Style::kTitle});
  for (const TabLabel& label : TabBar()) {
    line.segments.push_back({" ", Style::kTitle});
    line.segments.push_back({label.text, label.tab == tab_ ? Style::kTabActive : Style::kTitle});
  }
  if (paused_) {
    line.segments.push_back({" ", Style::kTitle});
    line.segments.push_back({" PAUSED ", Style::kWarn});
  }
  std::string right;
  switch (link_) {
    case Link::kConnecting: right = Cat("connecting", glyphs_.Ellipsis()); break;
    case Link::kUnreachable: right = "disconnected"; break;
    case Link::kConnected:
      right = have_stats_ ? Cat("rustnetd ", Clean(stats_.version()), " ", glyphs_.Dot(), " up ",
                                FormatDuration(ToMicros(stats_.uptime())))
                          : "connected";
      break;
  }
  right += " ";
  size_t used = 0;
  for (const Segment& s : line.segments) used += DisplayWidth(s.text);
  const size_t right_width = DisplayWidth(right);
  if (used + 1 + right_width <= static_cast<size_t>(width_)) {
    line.segments.push_back(
        {std::string(static_cast<size_t>(width_) - used - right_width, ' '), Style::kTitle});
    line.segments.push_back({right, Style::kTitle});
  }
  return line;
}

Line ViewModel::StatsLine() const {
  Line line;
  if (link_ != Link::kConnected || !have_stats_) {
    line.segments.push_back({link_ == Link::kUnreachable
                                 ? "no data: rustnetd cannot be reached"
                                 : Cat("waiting for rustnetd", glyphs_.Ellipsis()),
                             Style::kDim});
    return line;
  }
  const std::string dot = Cat(" ", glyphs_.Dot(), " ");
  std::vector<std::string> sources;
  for (const v1::CaptureStats& c : stats_.captures()) {
    sources.push_back(
        c.live() ? Clean(c.name())
                 : Cat(Clean(BaseName(c.name())), " (file", c.finished() ? ", done" : "", ")"));
  }
  uint64_t dropped = stats_.pipeline().dropped_queues();
  for (const v1::CaptureStats& c : stats_.captures()) {
    dropped += c.dropped_kernel() + c.dropped_interface();
  }
  std::vector<std::string> by_protocol;
  for (const char* p : {"tcp", "udp", "icmp", "icmpv6", "arp"}) {
    auto it = stats_.connections().by_protocol().find(p);
    if (it != stats_.connections().by_protocol().end() && it->second > 0) {
      by_protocol.push_back(Cat(p, " ", FormatCount(it->second)));
    }
  }
  line.segments.push_back(
      {sources.empty() ? std::string("no capture") : absl::StrJoin(sources, ", "), Style::kAccent});
  line.segments.push_back(
      {Cat(dot, "packets ", FormatCount(stats_.pipeline().packets()), dot, "dropped "),
       Style::kNormal});
  line.segments.push_back({FormatCount(dropped), dropped > 0 ? Style::kBad : Style::kNormal});
  std::string conns = Cat(dot, "connections ", FormatCount(stats_.connections().current()));
  if (!by_protocol.empty()) conns += Cat(" (", absl::StrJoin(by_protocol, ", "), ")");
  line.segments.push_back({conns, Style::kNormal});
  return line;
}

Line ViewModel::QueryLine() const {
  Line line;
  const std::string dot = Cat(" ", glyphs_.Dot(), " ");
  line.segments.push_back({"filter: ", Style::kDim});
  line.segments.push_back(
      {filter_.empty() ? "none" : Clean(filter_), filter_.empty() ? Style::kDim : Style::kAccent});
  line.segments.push_back(
      {link_ == Link::kConnected && have_page_
           ? Cat(dot, "showing ", FormatCount(matched_), " of ", FormatCount(total_), dot)
           : Cat(dot, "showing ", glyphs_.Dash(), dot),
       Style::kNormal});
  line.segments.push_back({"sort: ", Style::kDim});
  line.segments.push_back(
      {Cat(SortFieldName(sort_field_), " ",
           sort_order_ == v1::SORT_ORDER_DESCENDING ? glyphs_.Down() : glyphs_.Up()),
       Style::kNormal});
  line.segments.push_back({Cat(dot, show_names_ ? "host names" : "raw addresses",
                               hide_loopback_ ? Cat(dot, "loopback hidden") : "",
                               show_closed_ ? Cat(dot, "closed shown") : "",
                               grouped_ ? Cat(dot, "grouped by process") : ""),
                           Style::kDim});
  return line;
}

OverviewView ViewModel::Overview() const {
  return OverviewView(glyphs_, show_names_, sort_field_, sort_order_, snapshot_us_);
}

Line ViewModel::TableRow(const std::vector<PlacedColumn>& layout, uint64_t index) const {
  return Overview().Row(layout, RowAt(index), index == selected_index_, "");
}

void ViewModel::RenderGrouped(std::vector<Line>* out, size_t rows) const {
  const std::vector<PlacedColumn> layout = LayoutColumns(static_cast<size_t>(width_), options_.columns);
  out->push_back(Overview().Header(layout));
  const size_t table_rows = rows > 0 ? rows - 1 : 0;
  const auto& entries = tree_.entries();
  const bool cut = matched_ > rows_.size() && have_page_;
  for (size_t i = 0; i < table_rows; ++i) {
    const size_t index = tree_top_ + i;
    if (index < entries.size()) {
      const GroupTree::Entry& e = entries[index];
      const bool selected = index == tree_cursor_;
      if (e.is_group) {
        out->push_back(Overview().GroupLine(tree_.groups()[e.group], tree_.expanded(tree_.groups()[e.group].key), selected));
      } else {
        out->push_back(Overview().Row(layout, &rows_[e.row], selected, "  "));
      }
    } else if (index == entries.size() && cut) {
      out->push_back({{{Cat("grouped the first ", FormatCount(rows_.size()), " of ",
                            FormatCount(matched_), " connections; narrow the filter to see all"),
                        Style::kWarn}}});
    } else if (i == 0 && have_page_) {
      out->push_back({{{filter_.empty() ? "no connections yet" : "no connection matches the filter",
                        Style::kDim}}});
    } else {
      out->push_back({});
    }
  }
}

Line ViewModel::StatusLine(absl::Time now) const {
  Line line;
  if (edit_.active) {
    // Scroll the text so the cursor stays on screen.
    const size_t avail =
        static_cast<size_t>(std::max(width_ - static_cast<int>(kPrompt.size()) - 1, 1));
    const size_t cursor_col = DisplayWidth(std::string_view(edit_.text).substr(0, edit_.cursor));
    std::string shown = Clean(edit_.text);
    if (cursor_col > avail) {
      const size_t skip = cursor_col - avail;
      size_t i = 0;
      for (size_t n = 0; n < skip && i < shown.size(); ++n) i = NextBoundary(shown, i);
      shown = shown.substr(i);
    }
    line.segments.push_back(
        {edit_.tab != nullptr ? edit_.label : AsString(kPrompt), Style::kAccent});
    line.segments.push_back({shown, edit_.error.empty() ? Style::kNormal : Style::kError});
    return line;
  }
  const std::string message = Message(now);
  if (!message.empty()) {
    line.segments.push_back({message, message_style_});
    return line;
  }
  const std::string dot = Cat(" ", glyphs_.Dot(), " ");
  std::string hints;
  switch (tab_) {
    case Tab::kActivity: hints = Cat("g grouping", dot, "s sort", dot, "Enter filter Overview"); break;
    case Tab::kGraph: hints = Cat("w window"); break;
    case Tab::kHistory: hints = Cat("e time range", dot, "Enter details"); break;
    case Tab::kInterfaces: hints = Cat("1-7 tabs"); break;
    default:
      hints = Cat("Enter details", dot, "s sort", dot, "t closed", dot, "a group", dot, "c copy");
      break;
  }
  line.segments.push_back({Cat("q quit", dot, "1-7/Tab tabs", dot, "/ filter", dot, hints, dot,
                               "p pause", dot, "h help"),
                           Style::kDim});
  return line;
}

std::optional<std::pair<int, int>> ViewModel::Cursor() const {
  if (!edit_.active || width_ < kMinWidth || height_ < kMinHeight) return std::nullopt;
  const size_t avail =
      static_cast<size_t>(std::max(width_ - static_cast<int>(kPrompt.size()) - 1, 1));
  const size_t cursor_col = DisplayWidth(std::string_view(edit_.text).substr(0, edit_.cursor));
  const size_t label = edit_.tab != nullptr ? DisplayWidth(edit_.label) : kPrompt.size();
  const size_t col = label + std::min(cursor_col, avail);
  return std::make_pair(height_ - 1, static_cast<int>(col));
}

void ViewModel::RenderUnreachable(std::vector<Line>* out, size_t rows) const {
  // Indented by 2, wrapped to the screen.
  const size_t width = static_cast<size_t>(std::max(width_ - 4, 10));
  std::vector<Line> lines;
  const auto add = [&](const std::string& text, Style style, const std::string& indent = "",
                       size_t max_lines = 0) {
    const std::string hang(DisplayWidth(indent), ' ');
    std::vector<std::string> wrapped = WrapText(text, width - hang.size());
    if (max_lines > 0 && wrapped.size() > max_lines) wrapped.resize(max_lines);
    for (size_t i = 0; i < wrapped.size(); ++i) {
      lines.push_back({{{"  ", Style::kNormal}, {Cat(i == 0 ? indent : hang, wrapped[i]), style}}});
    }
  };
  add(Cat("Cannot reach rustnetd at ", Clean(problem_.target)), Style::kError);
  lines.push_back({});
  if (!problem_.reason.empty()) add(Clean(problem_.reason), Style::kNormal);
  lines.push_back({});
  if (!problem_.checks.empty()) {
    add("Check:", Style::kHeading);
    for (const std::string& check : problem_.checks) {
      add(Clean(check), Style::kNormal, glyphs_.unicode ? "  \u2022 " : "  - ");
    }
    lines.push_back({});
  }
  add(Cat("Retrying every ", absl::FormatDuration(options_.retry_interval),
          "; the table comes back by itself. q q or Ctrl+C quits."),
      Style::kDim);
  if (!problem_.detail.empty()) add(Cat("(", Clean(problem_.detail), ")"), Style::kDim, "", 3);
  out->push_back({});
  for (size_t i = 0; i + 1 < rows; ++i) out->push_back(i < lines.size() ? lines[i] : Line{});
}

void ViewModel::RenderOverview(std::vector<Line>* out, size_t rows) const {
  if (link_ == Link::kUnreachable) {
    RenderUnreachable(out, rows);
    return;
  }
  if (grouped_) {
    RenderGrouped(out, rows);
    return;
  }
  const std::vector<PlacedColumn> layout = LayoutColumns(static_cast<size_t>(width_), options_.columns);
  out->push_back(Overview().Header(layout));
  const size_t table_rows = rows > 0 ? rows - 1 : 0;
  for (size_t i = 0; i < table_rows; ++i) {
    const uint64_t index = top_ + i;
    if (index < matched_) {
      out->push_back(TableRow(layout, index));
    } else if (i == 0 && have_page_) {
      out->push_back({{{filter_.empty() ? "no connections yet" : "no connection matches the filter",
                        Style::kDim}}});
    } else if (i == 0 && link_ == Link::kConnecting) {
      out->push_back(
          {{{Cat("connecting to ", Clean(options_.target), glyphs_.Ellipsis()), Style::kDim}}});
    } else {
      out->push_back({});
    }
  }
}

void ViewModel::RenderDetails(std::vector<Line>* out, size_t rows) const {
  if (link_ == Link::kUnreachable) {
    RenderUnreachable(out, rows);
    return;
  }
  DetailsView(glyphs_).Render(Selected(), selected_gone_, snapshot_us_,
                              static_cast<size_t>(width_), rows, details_scroll_, out);
}

size_t ViewModel::DetailsMaxScroll() const {
  const int body = height_ - kRowsAbove - kRowsBelow;
  return DetailsView(glyphs_).MaxScroll(Selected(), snapshot_us_, static_cast<size_t>(width_),
                                        body > 0 ? static_cast<size_t>(body) : 0);
}

std::vector<Line> ViewModel::HelpLines() const {
  const auto convert = [](std::vector<std::pair<std::string, std::string>> keys) {
    std::vector<KeyHelpItem> out;
    for (auto& [k, what] : keys) out.push_back({std::move(k), std::move(what)});
    return out;
  };
  // The keys of the tab Help was opened from come first.
  const Tab from = tab_before_help_;
  std::vector<HelpSection> sections;
  if (const TabView* t = DataTab(from)) {
    sections.push_back({Cat("Keys of ", TabName(from)), t->Keys(glyphs_)});
  } else {
    sections.push_back({Cat("Keys of ", TabName(from)), convert(OverviewKeyHelp(glyphs_))});
  }
  sections.push_back({"Keys everywhere", convert(KeyHelp(glyphs_))});
  if (DataTab(from) != nullptr) {
    sections.push_back({"Keys of Overview and Details", convert(OverviewKeyHelp(glyphs_))});
  }
  for (Tab other : {Tab::kActivity, Tab::kGraph, Tab::kHistory}) {
    if (other == from) continue;
    sections.push_back({Cat("Keys of ", TabName(other)), DataTab(other)->Keys(glyphs_)});
  }
  return HelpView(glyphs_).Lines(sections);
}

size_t ViewModel::HelpMaxScroll() const {
  const int body = height_ - kRowsAbove - kRowsBelow;
  const size_t rows = body > 0 ? static_cast<size_t>(body) : 0;
  const size_t n = HelpLines().size();
  return n > rows ? n - rows : 0;
}

void ViewModel::RenderHelp(std::vector<Line>* out, size_t rows) const {
  const std::vector<Line> lines = HelpLines();
  const size_t scroll = std::min(help_scroll_, HelpMaxScroll());
  for (size_t r = 0; r < rows; ++r) {
    out->push_back(scroll + r < lines.size() ? lines[scroll + r] : Line{});
  }
}

std::vector<Line> ViewModel::Render(absl::Time now) const {
  std::vector<Line> out;
  const auto w = static_cast<size_t>(width_);
  const auto h = static_cast<size_t>(height_);
  if (width_ < kMinWidth || height_ < kMinHeight) {
    out.push_back({{{Cat("terminal too small (", width_, "x", height_, ", need ", kMinWidth, "x",
                         kMinHeight, ")"),
                     Style::kWarn}}});
    if (h > 1) out.push_back({{{"q q or Ctrl+C quits", Style::kDim}}});
    while (out.size() + 1 < h) out.push_back({});
    if (out.size() < h) out.push_back(StatusLine(now));
  } else {
    out.push_back(TitleLine());
    out.push_back(StatsLine());
    out.push_back(QueryLine());
    const size_t body = h - kRowsAbove - kRowsBelow;
    switch (tab_) {
      case Tab::kOverview: RenderOverview(&out, body); break;
      case Tab::kDetails: RenderDetails(&out, body); break;
      case Tab::kHelp: RenderHelp(&out, body); break;
      default:
        if (link_ == Link::kUnreachable) {
          RenderUnreachable(&out, body);
        } else {
          DataTab(tab_)->Render(Context(now), w, body, &out);
        }
        break;
    }
    out.resize(h - 1);
    if (edit_.active && !edit_.error.empty()) {
      out[h - 2] = Line{{{Cat("bad filter: ", Clean(edit_.error)), Style::kError}}, Style::kNormal};
    }
    out.push_back(StatusLine(now));
  }
  out.resize(h);
  for (Line& line : out) line = FitLine(std::move(line), w, glyphs_);
  return out;
}

}  // namespace rustnet::client
