#include "client/tabs/history_view.h"

#include <algorithm>

#include "google/protobuf/util/time_util.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;
using google::protobuf::util::TimeUtil;

constexpr size_t kHeaderRows = 2;

std::string ReasonName(v1::CloseReason r) {
  switch (r) {
    case v1::CLOSE_REASON_FIN: return "fin";
    case v1::CLOSE_REASON_RESET: return "reset";
    case v1::CLOSE_REASON_TIMEOUT: return "timeout";
    case v1::CLOSE_REASON_EVICTED: return "evicted";
    case v1::CLOSE_REASON_REPLACED: return "replaced";
    case v1::CLOSE_REASON_SHUTDOWN: return "shutdown";
    default: return "closed";
  }
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

}  // namespace

ApiRequest HistoryView::Request(const TabContext& context) const {
  ApiRequest r;
  r.kind = ApiRequest::Kind::kHistory;
  r.history.set_filter(context.filter);
  if (range_.since) *r.history.mutable_since() = ToProtoTime(*range_.since);
  if (range_.until) *r.history.mutable_until() = ToProtoTime(*range_.until);
  r.history.set_order(v1::SORT_ORDER_DESCENDING);  // Newest closed first.
  r.history.set_limit(kPageLimit);
  r.identity = r.history.SerializeAsString();
  return r;
}

void HistoryView::OnReply(const ApiReply& reply) {
  if (reply.kind != ApiRequest::Kind::kHistory) return;
  have_data_ = true;
  if (!reply.status.ok()) {
    error_ = std::string(reply.status.message());
    rows_.clear();
    total_ = 0;
    return;
  }
  error_.clear();
  rows_.assign(reply.history.connections().begin(), reply.history.connections().end());
  total_ = reply.history.total();
  Select(selected_);
}

void HistoryView::Select(size_t index) {
  selected_ = rows_.empty() ? 0 : std::min(index, rows_.size() - 1);
}

void HistoryView::Open(TabAction* action) const {
  if (selected_ >= rows_.size()) return;
  action->open_details = true;
  action->details = rows_[selected_];
}

bool HistoryView::OnKey(const Key& key, const TabContext& /*context*/, TabAction* action) {
  const auto move = [&](int64_t d) {
    if (rows_.empty()) return;
    Select(static_cast<size_t>(std::clamp<int64_t>(static_cast<int64_t>(selected_) + d, 0,
                                                   static_cast<int64_t>(rows_.size()) - 1)));
  };
  switch (key.code) {
    case KeyCode::kUp: move(-1); return true;
    case KeyCode::kDown: move(1); return true;
    case KeyCode::kPageUp: move(-static_cast<int64_t>(std::max<size_t>(page_rows_, 1))); return true;
    case KeyCode::kPageDown: move(static_cast<int64_t>(std::max<size_t>(page_rows_, 1))); return true;
    case KeyCode::kHome: Select(0); return true;
    case KeyCode::kEnd: Select(SIZE_MAX); return true;
    case KeyCode::kEnter: Open(action); return true;
    case KeyCode::kChar:
      if (key.ch == U'e') {
        action->prompt = true;
        action->prompt_label = "time range: ";
        action->prompt_text = range_text_;
        return true;
      }
      return false;
    default: return false;
  }
}

bool HistoryView::OnClick(size_t row, size_t /*x*/, bool double_click,
                          const TabContext& /*context*/, TabAction* action) {
  if (row < kHeaderRows) return false;
  const size_t index = top_ + row - kHeaderRows;
  if (index >= rows_.size()) return false;
  Select(index);
  if (double_click) Open(action);
  return true;
}

std::optional<std::string> HistoryView::OnPrompt(const std::string& text,
                                                 const TabContext& context) {
  auto parsed = ParseTimeRange(text, context.now, tz_);
  if (!parsed.ok()) return std::string(parsed.status().message());
  range_ = *parsed;
  range_text_ = text;
  selected_ = 0;
  top_ = 0;
  return std::nullopt;
}

void HistoryView::Render(const TabContext& context, size_t width, size_t rows,
                         std::vector<Line>* out) const {
  const Glyphs& g = context.glyphs;
  const std::string dot = Cat(" ", g.Dot(), " ");
  out->push_back(
      {{{"History", Style::kHeading},
        {Cat(dot, DescribeTimeRange(range_, tz_), dot,
             have_data_ && error_.empty()
                 ? Cat(FormatCount(total_), " closed",
                       total_ > rows_.size() ? Cat(", newest ", FormatCount(rows_.size()), " shown")
                                             : "")
                 : std::string(),
             dot, "e time range", dot, "Enter details"),
         Style::kDim}}});
  Line header;
  header.fill = Style::kHeading;
  header.segments.push_back(
      {"Closed               Proto Local                  Remote                 Reason   "
       "    Bytes in   Bytes out Process",
       Style::kHeading});
  out->push_back(std::move(header));
  const size_t body = rows > kHeaderRows ? rows - kHeaderRows : 0;
  page_rows_ = body;
  if (!error_.empty()) {
    out->push_back({{{Cat("rustnetd: ", SanitizeText(error_, g.unicode)), Style::kError}}});
    if (error_.find("history") != std::string::npos || error_.find("store") != std::string::npos) {
      out->push_back({{{"Start rustnetd with --history-db PATH to keep closed connections on disk.",
                        Style::kDim}}});
    }
    return;
  }
  if (!have_data_) {
    out->push_back({{{Cat("waiting for rustnetd", g.Ellipsis()), Style::kDim}}});
    return;
  }
  if (rows_.empty()) {
    out->push_back({{{"no closed connection in this range matches", Style::kDim}}});
    return;
  }
  if (selected_ < top_) top_ = selected_;
  if (body > 0 && selected_ >= top_ + body) top_ = selected_ - body + 1;
  for (size_t r = 0; r < body && top_ + r < rows_.size(); ++r) {
    const size_t i = top_ + r;
    const v1::Connection& c = rows_[i];
    const bool selected = i == selected_;
    const std::string closed =
        c.has_closed_at()
            ? absl::FormatTime("%Y-%m-%d %H:%M:%S",
                               absl::FromUnixMicros(ToMicros(c.closed_at())), tz_)
            : std::string(g.Dash());
    bool peer = false;
    const v1::ProcessInfo* p = c.has_process() ? &c.process() : nullptr;
    (void)peer;
    std::string text = Cat(FitEnd(closed, 20, g), " ", FitEnd(ProtocolName(c.protocol()), 5, g),
                           " ", FitStart(SanitizeText(FormatEndpoint(c.local()), g.unicode), 22, g),
                           " ", FitStart(SanitizeText(FormatEndpoint(c.remote()), g.unicode), 22, g),
                           " ", FitEnd(ReasonName(c.close_reason()), 8, g), " ",
                           FitEnd(FormatBytes(c.received().bytes()), 11, g, true), " ",
                           FitEnd(FormatBytes(c.sent().bytes()), 11, g, true), " ",
                           p != nullptr ? SanitizeText(p->name(), g.unicode) : std::string());
    Line line;
    if (selected) line.fill = Style::kSelected;
    line.segments.push_back({FitEnd(text, width, g), selected ? Style::kSelected : Style::kNormal});
    out->push_back(std::move(line));
  }
}

std::vector<KeyHelpItem> HistoryView::Keys(const Glyphs& g) const {
  return {
      {"e", "time range: 1h, 30m, yesterday 14:00, 2026-12-06 14:00, A .. B, until B"},
      {Cat(g.Up(), " k / ", g.Down(), " j"), "move the selection"},
      {"Enter / double click", "details of the closed connection"},
  };
}

}  // namespace rustnet::client
