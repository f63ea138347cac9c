#include "client/tabs/interfaces_view.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

constexpr size_t kHeaderRows = 2;

struct Col {
  std::string_view title;
  size_t width;
};
constexpr Col kCols[] = {
    {"Interface", 14}, {"State", 9},     {"Rate in", 11},  {"Rate out", 11}, {"Pkts/s in", 10},
    {"Pkts/s out", 10}, {"Bytes in", 10}, {"Bytes out", 10}, {"Errors", 8},    {"Drops", 8},
    {"Addresses", 30},
};

}  // namespace

ApiRequest InterfacesView::Request(const TabContext& /*context*/) const {
  ApiRequest r;
  r.kind = ApiRequest::Kind::kInterfaces;
  r.identity = "interfaces";
  return r;
}

void InterfacesView::OnReply(const ApiReply& reply) {
  if (reply.kind != ApiRequest::Kind::kInterfaces) return;
  if (reply.stats) model_.OnStats(*reply.stats);
  if (!reply.status.ok()) {
    error_ = std::string(reply.status.message());
    return;
  }
  error_.clear();
  model_.OnInterfaces(reply.interfaces, reply.received);
}

bool InterfacesView::OnKey(const Key& key, const TabContext& /*context*/, TabAction* /*action*/) {
  switch (key.code) {
    case KeyCode::kUp: model_.Move(-1); return true;
    case KeyCode::kDown: model_.Move(1); return true;
    case KeyCode::kHome: model_.Select(0); return true;
    case KeyCode::kEnd: model_.Select(SIZE_MAX); return true;
    default: return false;
  }
}

bool InterfacesView::OnClick(size_t row, size_t /*x*/, bool /*double_click*/,
                             const TabContext& /*context*/, TabAction* /*action*/) {
  if (row < kHeaderRows || row - kHeaderRows >= model_.rows().size()) return false;
  model_.Select(row - kHeaderRows);
  return true;
}

void InterfacesView::Render(const TabContext& context, size_t width, size_t rows,
                            std::vector<Line>* out) const {
  const Glyphs& g = context.glyphs;
  const std::string dot = Cat(" ", g.Dot(), " ");
  const size_t start = out->size();
  Line top;
  top.segments.push_back({"Interfaces", Style::kHeading});
  if (const auto& stats = model_.stats()) {
    for (const v1::CaptureStats& c : stats->captures()) {
      const uint64_t drops = c.dropped_kernel() + c.dropped_interface();
      top.segments.push_back({Cat(dot, "capturing ", SanitizeText(c.name(), g.unicode),
                                  c.live() ? "" : " (file)", ": received ",
                                  FormatCount(c.received()), ", dropped "),
                              Style::kNormal});
      top.segments.push_back({Cat(FormatCount(drops), " (kernel ", FormatCount(c.dropped_kernel()),
                                  ", interface ", FormatCount(c.dropped_interface()), ")"),
                              drops > 0 ? Style::kBad : Style::kNormal});
    }
    if (stats->pipeline().dropped_queues() > 0) {
      top.segments.push_back(
          {Cat(dot, "queue drops ", FormatCount(stats->pipeline().dropped_queues())), Style::kBad});
    }
  }
  out->push_back(std::move(top));
  Line header;
  header.fill = Style::kHeading;
  size_t used = 0;
  size_t ncols = 0;
  for (const Col& c : kCols) {
    if (used + c.width + 1 > width && ncols > 0) break;
    header.segments.push_back({Cat(FitEnd(c.title, c.width, g, ncols >= 2 && ncols <= 9), " "),
                               Style::kHeading});
    used += c.width + 1;
    ++ncols;
  }
  out->push_back(std::move(header));
  if (!error_.empty()) {
    out->push_back({{{Cat("rustnetd: ", SanitizeText(error_, g.unicode)), Style::kError}}});
    return;
  }
  if (!model_.have_data()) {
    out->push_back({{{Cat("waiting for rustnetd", g.Ellipsis()), Style::kDim}}});
    return;
  }
  const size_t body = rows > kHeaderRows ? rows - kHeaderRows : 0;
  for (size_t r = 0; r < body && r < model_.rows().size(); ++r) {
    const InterfaceRow& row = model_.rows()[r];
    const v1::Interface& i = row.iface;
    const bool selected = r == model_.selected();
    Line line;
    if (selected) line.fill = Style::kSelected;
    const auto st = [&](Style s) { return selected ? Style::kSelected : s; };
    const v1::InterfaceCounters& k = i.counters();
    const bool known = i.has_counters();
    const std::string dash(g.Dash());
    const std::string name = Cat(i.capturing() ? "* " : "  ", SanitizeText(i.name(), g.unicode));
    const std::string state = i.running() ? "running" : i.up() ? "up" : "down";
    const std::string cells[] = {
        name,
        state,
        row.have_rates ? FormatRate(row.rx_bytes_rate) : dash,
        row.have_rates ? FormatRate(row.tx_bytes_rate) : dash,
        row.have_rates ? Cat(static_cast<uint64_t>(row.rx_packet_rate + 0.5)) : dash,
        row.have_rates ? Cat(static_cast<uint64_t>(row.tx_packet_rate + 0.5)) : dash,
        known ? FormatBytes(k.rx_bytes()) : dash,
        known ? FormatBytes(k.tx_bytes()) : dash,
        known ? FormatCount(k.rx_errors() + k.tx_errors()) : dash,
        known ? FormatCount(k.rx_dropped() + k.tx_dropped()) : dash,
        SanitizeText(absl::StrJoin(i.addresses(), ", "), g.unicode),
    };
    for (size_t c = 0; c < ncols; ++c) {
      Style s = Style::kNormal;
      if (c == 0) s = i.capturing() ? Style::kAccent : Style::kNormal;
      if (c == 1) s = i.running() ? Style::kGood : i.up() ? Style::kWarn : Style::kDim;
      if ((c == 2 || c == 3) && row.have_rates) {
        s = (c == 2 ? row.rx_bytes_rate : row.tx_bytes_rate) > 0 ? Style::kAccent : Style::kDim;
      }
      if (c == 8 && known && k.rx_errors() + k.tx_errors() > 0) s = Style::kBad;
      if (c == 9 && known && k.rx_dropped() + k.tx_dropped() > 0) s = Style::kWarn;
      const bool right = c >= 2 && c <= 9;
      line.segments.push_back({Cat(FitEnd(cells[c], kCols[c].width, g, right), " "), st(s)});
    }
    out->push_back(std::move(line));
  }
  if (out->size() - start + 2 <= rows) {
    // A legend under the table, when there is room.
    out->push_back({});
    out->push_back({{{"* the interface rustnetd captures on; rates from the kernel's counters "
                      "between two refreshes",
                      Style::kDim}}});
  }
}

std::vector<KeyHelpItem> InterfacesView::Keys(const Glyphs& g) const {
  return {{Cat(g.Up(), " k / ", g.Down(), " j"), "move the selection"}};
}

}  // namespace rustnet::client
