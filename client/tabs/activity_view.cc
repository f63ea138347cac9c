#include "client/tabs/activity_view.h"

#include <algorithm>

#include "client/tabs/chart.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

constexpr size_t kHeaderRows = 2;  // The grouping line and the column titles.
constexpr size_t kSparkWidth = 20;

struct Col {
  std::string_view title;
  size_t width;
  bool right;
};

// Fixed columns after the name; the last ones drop on narrow screens.
constexpr Col kCols[] = {
    {"Open", 6, true},     {"Total", 7, true},    {"Bytes in", 10, true},
    {"Bytes out", 10, true}, {"Rate in", 10, true}, {"Rate out", 10, true},
    {"Last 60 s", kSparkWidth, false}, {"Top peer", 24, false},
};
constexpr size_t kNameMin = 16;

// How many of kCols fit beside a name of at least kNameMin.
size_t ColumnsFor(size_t width) {
  size_t used = kNameMin;
  size_t n = 0;
  for (const Col& c : kCols) {
    if (used + 1 + c.width > width) break;
    used += 1 + c.width;
    ++n;
  }
  return n;
}

}  // namespace

ApiRequest ActivityView::Request(const TabContext& context) const {
  ApiRequest r;
  r.kind = ApiRequest::Kind::kGroups;
  r.groups.set_group_by(ToGroupBy(model_.grouping()));
  r.groups.set_filter(context.filter);
  r.groups.set_include_closed(true);
  r.groups.set_hide_loopback(context.hide_loopback);
  r.groups.set_limit(ActivityModel::kGroupLimit);
  r.identity = r.groups.SerializeAsString();
  return r;
}

void ActivityView::OnReply(const ApiReply& reply) {
  if (reply.kind != ApiRequest::Kind::kGroups) return;
  if (!reply.status.ok()) {
    error_ = std::string(reply.status.message());
    return;
  }
  error_.clear();
  model_.OnGroups(reply.groups);
}

void ActivityView::Enter(TabAction* action) const {
  const v1::ConnectionGroup* g = model_.Selected();
  if (g == nullptr) {
    action->message = "no group selected";
    action->message_style = Style::kWarn;
    return;
  }
  std::string why;
  if (auto filter = model_.FilterFor(*g, &why)) {
    action->apply_filter = *filter;
  } else {
    action->message = why;
    action->message_style = Style::kWarn;
  }
}

bool ActivityView::OnKey(const Key& key, const TabContext& /*context*/, TabAction* action) {
  switch (key.code) {
    case KeyCode::kUp: model_.Move(-1); return true;
    case KeyCode::kDown: model_.Move(1); return true;
    case KeyCode::kPageUp: model_.Move(-static_cast<int64_t>(std::max<size_t>(page_rows_, 1))); return true;
    case KeyCode::kPageDown: model_.Move(static_cast<int64_t>(std::max<size_t>(page_rows_, 1))); return true;
    case KeyCode::kHome: model_.Select(0); return true;
    case KeyCode::kEnd: model_.Select(SIZE_MAX); return true;
    case KeyCode::kEnter: Enter(action); return true;
    case KeyCode::kChar:
      if (key.ch == U'g') {
        model_.NextGrouping();
        action->message = Cat("activity per ", GroupingName(model_.grouping()));
        return true;
      }
      if (key.ch == U's') {
        model_.NextSort();
        action->message = Cat("activity sorted by ", ActivitySortName(model_.sort()));
        return true;
      }
      return false;
    default: return false;
  }
}

bool ActivityView::OnClick(size_t row, size_t /*x*/, bool double_click,
                           const TabContext& /*context*/, TabAction* action) {
  if (row < kHeaderRows) return false;
  const size_t index = top_ + row - kHeaderRows;
  if (index >= model_.rows().size()) return false;
  model_.Select(index);
  if (double_click) Enter(action);
  return true;
}

void ActivityView::EnsureVisible(size_t rows) const {
  page_rows_ = rows;
  const size_t sel = model_.selected();
  if (sel < top_) top_ = sel;
  if (rows > 0 && sel >= top_ + rows) top_ = sel - rows + 1;
  const size_t n = model_.rows().size();
  if (top_ + rows > n) top_ = n > rows ? n - rows : 0;
}

void ActivityView::Render(const TabContext& context, size_t width, size_t rows,
                          std::vector<Line>* out) const {
  const Glyphs& g = context.glyphs;
  const std::string dot = Cat(" ", g.Dot(), " ");
  Line top;
  top.segments.push_back({Cat("Activity per ", GroupingName(model_.grouping())), Style::kHeading});
  top.segments.push_back(
      {Cat(dot, FormatCount(model_.total_groups()), " groups", dot, "sorted by ",
           ActivitySortName(model_.sort()), dot, "g grouping", dot, "s sort", dot,
           "Enter filters Overview",
           model_.complete() ? "" : Cat(dot, "some closed connections not counted")),
       Style::kDim});
  out->push_back(std::move(top));
  const size_t ncols = ColumnsFor(width);
  size_t fixed = 0;
  for (size_t i = 0; i < ncols; ++i) fixed += 1 + kCols[i].width;
  const size_t name_width = width > fixed ? width - fixed : kNameMin;
  Line header;
  header.fill = Style::kHeading;
  header.segments.push_back({FitEnd(GroupingName(model_.grouping()), name_width, g), Style::kHeading});
  for (size_t i = 0; i < ncols; ++i) {
    header.segments.push_back(
        {Cat(" ", FitEnd(kCols[i].title, kCols[i].width, g, kCols[i].right)), Style::kHeading});
  }
  out->push_back(std::move(header));
  const size_t body = rows > kHeaderRows ? rows - kHeaderRows : 0;
  if (!error_.empty()) {
    out->push_back({{{Cat("rustnetd: ", SanitizeText(error_, g.unicode)), Style::kError}}});
  } else if (!model_.have_data()) {
    out->push_back({{{Cat("waiting for rustnetd", g.Ellipsis()), Style::kDim}}});
  } else if (model_.rows().empty()) {
    out->push_back({{{"no connections yet", Style::kDim}}});
  }
  EnsureVisible(body);
  const auto& list = model_.rows();
  for (size_t r = 0; r < body && top_ + r < list.size() && error_.empty(); ++r) {
    const size_t index = top_ + r;
    const v1::ConnectionGroup& grp = list[index];
    const bool selected = index == model_.selected();
    Line line;
    if (selected) line.fill = Style::kSelected;
    const auto st = [&](Style s) { return selected ? Style::kSelected : s; };
    const std::string name =
        grp.key().empty() ? Cat("(no ", GroupingName(model_.grouping()), ")")
                          : SanitizeText(grp.key(), g.unicode);
    line.segments.push_back({FitEnd(name, name_width, g), st(grp.key().empty() ? Style::kDim : Style::kAccent)});
    const std::string cells[] = {
        FormatCount(grp.open_connections()),
        FormatCount(grp.total_connections()),
        FormatBytes(grp.bytes_in()),
        FormatBytes(grp.bytes_out()),
        FormatRate(grp.rate_in()),
        FormatRate(grp.rate_out()),
        Sparkline(model_.Series(grp.key()), kSparkWidth, g),
        grp.top_remote().empty() ? std::string(g.Dash())
                                 : SanitizeText(grp.top_remote(), g.unicode),
    };
    for (size_t i = 0; i < ncols; ++i) {
      Style s = Style::kNormal;
      if (i == 4 || i == 5) s = (i == 4 ? grp.rate_in() : grp.rate_out()) > 0 ? Style::kAccent : Style::kDim;
      if (i == 6) s = Style::kGood;
      line.segments.push_back(
          {Cat(" ", FitEnd(cells[i], kCols[i].width, g, kCols[i].right)), st(s)});
    }
    out->push_back(std::move(line));
  }
}

std::vector<KeyHelpItem> ActivityView::Keys(const Glyphs& g) const {
  return {
      {Cat(g.Up(), " k / ", g.Down(), " j"), "move the selection"},
      {"g", "group per process, application, remote host, user, unit, container"},
      {"s", "sort by total bytes, current rate, connections, name"},
      {"Enter", "show the group's connections in Overview (sets the filter)"},
      {"click / double click", "select a row / filter Overview to it"},
  };
}

}  // namespace rustnet::client
