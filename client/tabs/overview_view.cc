#include "client/tabs/overview_view.h"

#include <utility>

#include "client/location.h"
#include "client/tabs/details_view.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

std::string AsString(std::string_view s) { return std::string(s); }

// The daemon's `hostname` names the remote end, except when it comes from
// a DNS question (the remote is then the resolver, and the name is what was
// asked; the Application column shows it) or from DHCP (the client's name).
bool RemoteNameKnown(const v1::Connection& c) {
  return !c.hostname().empty() && c.hostname_source() != "dns" && c.hostname_source() != "dhcp";
}

// The process the Process column shows: the local socket's owner, else the
// remote end's (a socket on this host too), flagged as the peer; null when
// neither is known.
const v1::ProcessInfo* ShownProcess(const v1::Connection& c, bool* peer) {
  *peer = false;
  if (c.has_process()) return &c.process();
  if (c.has_remote_process()) {
    *peer = true;
    return &c.remote_process();
  }
  return nullptr;
}

}  // namespace

std::string OverviewView::CellText(const v1::Connection& c, Column column) const {
  switch (column) {
    case Column::kProtocol: return AsString(ProtocolName(c.protocol()));
    case Column::kLocal: return Clean(FormatEndpoint(c.local()));
    case Column::kRemote:
      if (show_names_ && RemoteNameKnown(c)) {
        return Clean(FormatNamedEndpoint(c.hostname(), c.remote().port()));
      }
      return Clean(FormatEndpoint(c.remote()));
    case Column::kLocation: return Clean(LocationCell(c.remote_location()));
    case Column::kState:
      if (c.closed()) {
        return Cat(glyphs_.unicode ? "\u2715 " : "x ", CloseReasonName(c.close_reason()));
      }
      return AsString(StateName(c.state()));
    case Column::kRtt:
      // The smoothed RTT where the daemon has one, else the handshake's.
      if (c.tcp().has_srtt()) return FormatRtt(ToMicros(c.tcp().srtt()), glyphs_);
      return c.tcp().has_handshake_rtt() ? FormatRtt(ToMicros(c.tcp().handshake_rtt()), glyphs_)
                                         : std::string(glyphs_.Dash());
    case Column::kService: return Clean(c.service());
    case Column::kApplication:
      if (!c.app().label().empty()) return Clean(c.app().label());
      return AsString(AppProtocolName(c.app().protocol()));
    case Column::kRateIn: return FormatRate(c.rate_in());
    case Column::kRateOut: return FormatRate(c.rate_out());
    case Column::kProcess: {
      bool peer = false;
      const v1::ProcessInfo* p = ShownProcess(c, &peer);
      return p != nullptr ? MakeProcessCell(*p, peer, glyphs_).Text() : std::string();
    }
  }
  return {};
}

Line OverviewView::Header(const std::vector<PlacedColumn>& layout) const {
  Line line;
  line.fill = Style::kHeading;
  for (size_t i = 0; i < layout.size(); ++i) {
    const ColumnSpec& spec = SpecOf(layout[i].column);
    std::string title(spec.title);
    if (spec.sort == sort_field_ && layout[i].width > 1) {
      // The arrow stays even if the title has to be cut.
      title = Cat(FitEnd(title, std::min(DisplayWidth(title), layout[i].width - 1), glyphs_),
                  sort_order_ == v1::SORT_ORDER_DESCENDING ? glyphs_.Down() : glyphs_.Up());
    }
    if (i > 0) line.segments.push_back({" ", Style::kHeading});
    line.segments.push_back(
        {FitEnd(title, layout[i].width, glyphs_, spec.right_align), Style::kHeading});
  }
  return line;
}

Line OverviewView::Row(const std::vector<PlacedColumn>& layout, const v1::Connection* c,
                       bool selected, std::string_view indent) const {
  Line line;
  if (selected) line.fill = Style::kSelected;
  if (c == nullptr) {
    line.segments.push_back(
        {AsString(glyphs_.Ellipsis()), selected ? Style::kSelected : Style::kDim});
    return line;
  }
  // A closed connection (t) is dimmed; one close to its idle timeout is
  // yellow, then red.
  const Expiry expiry = ExpiryOf(*c, snapshot_us_);
  for (size_t i = 0; i < layout.size(); ++i) {
    const Column column = layout[i].column;
    const ColumnSpec& spec = SpecOf(column);
    bool peer = false;
    const v1::ProcessInfo* process = column == Column::kProcess ? ShownProcess(*c, &peer) : nullptr;
    std::string text = process != nullptr ? std::string() : CellText(*c, column);
    size_t width = layout[i].width;
    if (i == 0 && !indent.empty()) {
      // The grouped view indents a process's connections under it.
      line.segments.push_back({std::string(indent), selected ? Style::kSelected : Style::kNormal});
      const size_t w = DisplayWidth(indent);
      width = width > w ? width - w : 0;
    }
    Style style = Style::kNormal;
    switch (column) {
      case Column::kState: style = StateStyle(c->state()); break;
      case Column::kRateIn: style = c->rate_in() > 0 ? Style::kAccent : Style::kDim; break;
      case Column::kRateOut: style = c->rate_out() > 0 ? Style::kAccent : Style::kDim; break;
      case Column::kRemote:
        style = show_names_ && RemoteNameKnown(*c) ? Style::kAccent : Style::kNormal;
        break;
      case Column::kLocation:
        style = c->remote_location().special().empty() ? Style::kNormal : Style::kDim;
        break;
      case Column::kRtt:
        style = c->tcp().has_srtt() || c->tcp().has_handshake_rtt() ? Style::kNormal : Style::kDim;
        break;
      default: break;
    }
    if (process != nullptr && process->exited()) style = Style::kDim;
    if (expiry == Expiry::kWarn) style = Style::kWarn;
    if (expiry == Expiry::kCritical) style = Style::kBad;
    if (c->closed()) style = Style::kDim;
    if (selected) style = Style::kSelected;
    if (i > 0) line.segments.push_back({" ", selected ? Style::kSelected : Style::kNormal});
    if (process != nullptr) {
      // A narrow column cuts the name, not the pid or the markers.
      const ProcessCell cell = MakeProcessCell(*process, peer, glyphs_);
      line.segments.push_back(
          {FitAffixed(cell.prefix, cell.name, cell.suffix, width, glyphs_), style});
      continue;
    }
    // Addresses and names lose their start, so the port and the domain stay.
    const bool keep_end = column == Column::kLocal || column == Column::kRemote;
    line.segments.push_back({keep_end ? FitStart(text, width, glyphs_, spec.right_align)
                                      : FitEnd(text, width, glyphs_, spec.right_align),
                             style});
  }
  return line;
}

Line OverviewView::GroupLine(const GroupTree::Group& group, bool open, bool selected) const {
  Line line;
  if (selected) line.fill = Style::kSelected;
  const auto st = [&](Style s) { return selected ? Style::kSelected : s; };
  const std::string arrow = glyphs_.unicode ? (open ? "\u25be " : "\u25b8 ") : (open ? "- " : "+ ");
  const std::string dot = Cat(" ", glyphs_.Dot(), " ");
  line.segments.push_back({arrow, st(Style::kNormal)});
  line.segments.push_back({group.key.empty() ? std::string("(no process)") : Clean(group.key),
                           st(group.key.empty() ? Style::kDim : Style::kHeading)});
  line.segments.push_back(
      {Cat(dot, FormatCount(group.connections),
           group.connections == 1 ? " connection" : " connections",
           group.open != group.connections ? Cat(" (", FormatCount(group.open), " open)") : "",
           dot, "in ", FormatRate(group.rate_in), dot, "out ", FormatRate(group.rate_out), dot,
           FormatBytes(group.bytes_in), " / ", FormatBytes(group.bytes_out)),
       st(group.rate_in + group.rate_out > 0 ? Style::kAccent : Style::kNormal)});
  return line;
}

}  // namespace rustnet::client
