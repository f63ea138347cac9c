#include "client/tabs/graph_view.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "client/tabs/chart.h"
#include "google/protobuf/util/time_util.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  return Cat(part * 100 / whole, "%");
}

}  // namespace

ApiRequest GraphView::Request(const TabContext& /*context*/) const {
  ApiRequest r;
  r.kind = ApiRequest::Kind::kTimeline;
  r.timeline.set_resolution(model_.resolution());
  r.identity = Cat("timeline ", static_cast<int>(model_.resolution()));
  // Only the window's points, once the daemon's clock is known (it is the
  // packets' clock when replaying, so the client's cannot be used).
  if (model_.now_us() > 0) {
    const int64_t since_us =
        model_.now_us() - (WindowSeconds(model_.window()) + 2 * model_.step_seconds()) * 1'000'000;
    *r.timeline.mutable_since() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(since_us);
  }
  return r;
}

void GraphView::OnReply(const ApiReply& reply) {
  if (reply.kind != ApiRequest::Kind::kTimeline) return;
  if (!reply.status.ok()) {
    error_ = std::string(reply.status.message());
    return;
  }
  error_.clear();
  model_.OnTimeline(reply.timeline);
}

bool GraphView::OnKey(const Key& key, const TabContext& /*context*/, TabAction* action) {
  if (key.code != KeyCode::kChar) return false;
  if (key.ch == U'w' || key.ch == U'+' || key.ch == U'-') {
    if (key.ch == U'-') {
      // Back one step: three forward in a cycle of four.
      for (int i = 0; i < 3; ++i) model_.NextWindow();
    } else {
      model_.NextWindow();
    }
    action->message = Cat("graph window: ", WindowName(model_.window()));
    return true;
  }
  return false;
}

void GraphView::Render(const TabContext& context, size_t width, size_t rows,
                       std::vector<Line>* out) const {
  const Glyphs& g = context.glyphs;
  const std::string dot = Cat(" ", g.Dot(), " ");
  std::vector<Line> lines;
  lines.push_back({{{Cat("Graph", dot, "last ", WindowName(model_.window())), Style::kHeading},
                    {Cat(dot, "w window (1m/10m/1h/24h)", dot, "traffic of every connection, "
                              "as rustnetd counted it"),
                     Style::kDim}}});
  if (!error_.empty()) {
    lines.push_back({{{Cat("rustnetd: ", SanitizeText(error_, g.unicode)), Style::kError}}});
  } else if (!model_.have_data()) {
    lines.push_back({{{Cat("waiting for rustnetd", g.Ellipsis()), Style::kDim}}});
  } else {
    // Two charts, then six summary lines; the charts take what is left.
    const size_t summary = 7;
    const size_t chart_rows =
        rows > summary + 3 + 4 ? std::min<size_t>((rows - summary - 3) / 2, 12) : 2;
    const auto rate = [](double v) { return FormatRate(v); };
    lines.push_back({{{Cat("Traffic in  ", g.Dot(), " ", FormatBytes(model_.total_bytes_in()),
                           " in ", WindowName(model_.window())),
                       Style::kHeading}}});
    for (Line& l : BlockChart(model_.rate_in(), width, chart_rows, rate, Style::kGood, g)) {
      lines.push_back(std::move(l));
    }
    lines.push_back({{{Cat("Traffic out ", g.Dot(), " ", FormatBytes(model_.total_bytes_out()),
                           " in ", WindowName(model_.window())),
                       Style::kHeading}}});
    for (Line& l : BlockChart(model_.rate_out(), width, chart_rows, rate, Style::kAccent, g)) {
      lines.push_back(std::move(l));
    }
    // The time axis under the charts.
    const size_t plot = width > kAxisWidth ? width - kAxisWidth : 0;
    const std::string left = Cat("-", WindowName(model_.window()));
    const std::string right = "now";
    std::string axis(kAxisWidth, ' ');
    axis += left;
    if (plot > left.size() + right.size()) {
      axis += std::string(plot - left.size() - right.size(), ' ');
      axis += right;
    }
    lines.push_back({{{axis, Style::kDim}}});
    const size_t spark = std::min<size_t>(plot > 30 ? plot - 30 : 10, 60);
    const auto spark_line = [&](std::string label, const std::vector<double>& v, uint64_t total,
                                Style style) {
      Line l;
      l.segments.push_back({FitEnd(label, 16, g), Style::kNormal});
      l.segments.push_back({FitEnd(FormatCount(total), 10, g, true), Style::kNormal});
      l.segments.push_back({" ", Style::kNormal});
      l.segments.push_back({Sparkline(v, spark, g), style});
      return l;
    };
    lines.push_back(spark_line("opened", model_.opened(), model_.total_opened(), Style::kGood));
    lines.push_back(spark_line("closed", model_.closed(), model_.total_closed(), Style::kWarn));
    lines.push_back(spark_line("TCP retransmits", model_.retransmissions(),
                               model_.total_retransmissions(),
                               model_.total_retransmissions() > 0 ? Style::kBad : Style::kDim));
    std::vector<std::string> mix;
    uint64_t all = 0;
    for (const auto& [app, bytes] : model_.app_mix()) all += bytes;
    for (const auto& [app, bytes] : model_.app_mix()) {
      if (mix.size() == 6) break;
      mix.push_back(Cat(SanitizeText(app, g.unicode), " ", Percent(bytes, all)));
    }
    lines.push_back({{{FitEnd("applications", 16, g), Style::kNormal},
                      {mix.empty() ? std::string(g.Dash()) : absl::StrJoin(mix, "  "),
                       Style::kAccent}}});
    std::vector<std::string> active;
    for (const auto& [proto, count] : model_.active()) {
      active.push_back(Cat(SanitizeText(proto, g.unicode), " ", FormatCount(count)));
    }
    lines.push_back({{{FitEnd("in the table", 16, g), Style::kNormal},
                      {active.empty() ? std::string(g.Dash()) : absl::StrJoin(active, "  "),
                       Style::kNormal}}});
  }
  for (size_t i = 0; i < rows && i < lines.size(); ++i) out->push_back(std::move(lines[i]));
}

std::vector<KeyHelpItem> GraphView::Keys(const Glyphs& /*glyphs*/) const {
  return {
      {"w / + / -", "window: 1 minute, 10 minutes, 1 hour, 24 hours"},
  };
}

}  // namespace rustnet::client
