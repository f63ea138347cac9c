#include "client/tabs/details_view.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/location.h"
#include "client/tabs/overview_model.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

constexpr size_t kDetailLabelWidth = 13;
constexpr size_t kDetailMinColumnWidth = 40;
constexpr size_t kDetailMaxColumns = 4;
constexpr size_t kDetailMaxColumnWidth = 64;
// Rows a wrapped detail value may take: a process's command line, its
// executable and cgroup paths.
constexpr size_t kCommandLineRows = 4;
constexpr size_t kPathRows = 2;

std::string AsString(std::string_view s) { return std::string(s); }

// --- The Details tab's items ----------------------------------------------------

// The items, added section by section.
class DetailList {
 public:
  explicit DetailList(const Glyphs& glyphs) : glyphs_(glyphs) {}

  const Glyphs& glyphs() const { return glyphs_; }
  std::string Clean(std::string_view text) const { return SanitizeText(text, glyphs_.unicode); }

  void Heading(std::string title) { items_.push_back({{}, std::move(title), true}); }
  // A row; an empty value shows as a dim dash.
  void Add(std::string label, std::string value, Style style = Style::kNormal) {
    if (value.empty()) {
      value = std::string(glyphs_.Dash());
      style = Style::kDim;
    }
    items_.push_back({std::move(label), std::move(value), false, style});
  }
  // A row only when there is a value; long values wrap onto `max_rows`.
  void AddKnown(std::string label, std::string value, Style style = Style::kNormal,
                size_t max_rows = 1) {
    if (value.empty()) return;
    Add(std::move(label), std::move(value), style);
    items_.back().max_rows = max_rows;
  }

  std::vector<DetailItem> Take() { return std::move(items_); }

 private:
  const Glyphs& glyphs_;
  std::vector<DetailItem> items_;
};

std::string Count(uint64_t n) { return FormatCount(n); }

void AddConnectionDetails(const v1::Connection& c, DetailList* list) {
  list->Heading("Connection");
  list->Add("id", Cat(c.id()));
  list->Add("protocol", Cat(ProtocolName(c.protocol()), " (IPv", c.ip_version(), ")"));
  list->Add("state", AsString(StateName(c.state())), StateStyle(c.state()));
  list->Add("direction", AsString(DirectionName(c.direction())));
  list->Add("interface", list->Clean(c.interface()));
  list->Add("service", list->Clean(c.service()));
}

void AddEndpointDetails(const v1::Connection& c, DetailList* list) {
  list->Heading("Endpoints");
  list->Add("local", list->Clean(FormatEndpoint(c.local())));
  list->Add("local MAC", list->Clean(c.local().mac()));
  list->Add("remote", list->Clean(FormatEndpoint(c.remote())));
  list->Add("remote MAC", list->Clean(c.remote().mac()));
  list->Add("host name",
            c.hostname().empty()
                ? std::string()
                : Cat(list->Clean(c.hostname()),
                      c.hostname_source().empty()
                          ? ""
                          : Cat(" (", list->Clean(c.hostname_source()), ")")),
            Style::kAccent);
  // Only with rustnetd --show-ptr-lookups: its resolver's own query.
  if (c.own_lookup()) list->Add("own lookup", "rustnetd's reverse DNS query", Style::kWarn);
}

// Age and idle time as of the snapshot (`snapshot_us`; 0: none yet).
void AddTimingDetails(const v1::Connection& c, int64_t snapshot_us, DetailList* list) {
  list->Heading("Timing");
  const int64_t first = ToMicros(c.first_seen());
  const int64_t last = ToMicros(c.last_seen());
  list->Add("first seen", c.has_first_seen() ? FormatTimestamp(c.first_seen()) : "");
  list->Add("last seen", c.has_last_seen() ? FormatTimestamp(c.last_seen()) : "");
  if (c.closed()) {
    // Closed (`t`, or History): how long it lived and why it ended.
    const int64_t closed = ToMicros(c.closed_at());
    list->Add("closed at", c.has_closed_at() ? FormatTimestamp(c.closed_at()) : "", Style::kWarn);
    list->Add("duration",
              c.has_closed_at() && c.has_first_seen() ? FormatDuration(closed - first) : "");
    list->Add("close reason", AsString(CloseReasonName(c.close_reason())), Style::kWarn);
    return;
  }
  list->Add("age",
            snapshot_us > 0 && c.has_first_seen() ? FormatDuration(snapshot_us - first) : "");
  const Expiry expiry = ExpiryOf(c, snapshot_us);
  list->Add("idle",
            snapshot_us > 0 && c.has_last_seen() ? FormatDuration(snapshot_us - last) : "",
            expiry == Expiry::kCritical ? Style::kBad
            : expiry == Expiry::kWarn   ? Style::kWarn
                                        : Style::kNormal);
  if (c.has_idle_timeout()) {
    list->Add("idle timeout", FormatDuration(ToMicros(c.idle_timeout())));
  }
}

void AddTrafficDetails(const v1::Connection& c, DetailList* list) {
  list->Heading("Traffic");
  const auto traffic = [](const v1::Counters& k) {
    return Cat(Count(k.packets()), k.packets() == 1 ? " packet, " : " packets, ",
               FormatBytes(k.bytes()));
  };
  list->Add("sent", traffic(c.sent()));
  list->Add("received", traffic(c.received()));
  list->Add("rate in", FormatRate(c.rate_in()),
            c.rate_in() > 0 ? Style::kAccent : Style::kNormal);
  list->Add("rate out", FormatRate(c.rate_out()),
            c.rate_out() > 0 ? Style::kAccent : Style::kNormal);
  list->Add("fragments", Count(c.fragments()));
}

// Each of the protocol sections only for its protocol (or when the
// connection has its block).
void AddTcpDetails(const v1::Connection& c, DetailList* list) {
  if (c.protocol() != v1::PROTOCOL_TCP && !c.has_tcp()) return;
  list->Heading("TCP health");
  const v1::TcpHealth& t = c.tcp();
  const auto warn_if = [](bool bad) { return bad ? Style::kWarn : Style::kNormal; };
  list->Add("handshake RTT", t.has_handshake_rtt()
                                 ? FormatRtt(ToMicros(t.handshake_rtt()), list->glyphs())
                                 : "");
  const auto rtt = [&](bool has, const google::protobuf::Duration& d) {
    return has ? FormatRtt(ToMicros(d), list->glyphs()) : std::string();
  };
  list->Add("smoothed RTT", rtt(t.has_srtt(), t.srtt()));
  list->Add("RTT variation", rtt(t.has_rttvar(), t.rttvar()));
  list->Add("local leg RTT", rtt(t.has_local_leg_rtt(), t.local_leg_rtt()));
  list->Add("remote leg RTT", rtt(t.has_remote_leg_rtt(), t.remote_leg_rtt()));
  list->Add("retransmits", Count(t.retransmissions()), warn_if(t.retransmissions() > 0));
  list->Add("out of order", Count(t.out_of_order()), warn_if(t.out_of_order() > 0));
  list->Add("zero windows", Count(t.zero_windows()), warn_if(t.zero_windows() > 0));
  list->Add("flags seen", TcpFlagsText(t.flags_seen()));
}

void AddIcmpDetails(const v1::Connection& c, DetailList* list) {
  const bool v6 = c.protocol() == v1::PROTOCOL_ICMPV6;
  if (c.protocol() != v1::PROTOCOL_ICMP && !v6 && !c.has_icmp()) return;
  list->Heading(v6 ? "ICMPv6" : "ICMP");
  const v1::IcmpInfo& i = c.icmp();
  list->Add("echo id", i.echo_id() != 0 ? Cat(i.echo_id()) : "");
  const std::string_view name = IcmpTypeName(v6, i.last_type());
  list->Add("type/code",
            Cat(i.last_type(), "/", i.last_code(), name.empty() ? "" : Cat(" (", name, ")")));
}

void AddArpDetails(const v1::Connection& c, DetailList* list) {
  if (c.protocol() != v1::PROTOCOL_ARP && !c.has_arp()) return;
  list->Heading("ARP");
  list->Add("requests", Count(c.arp().requests()));
  list->Add("replies", Count(c.arp().replies()));
  list->Add("resolved MAC", list->Clean(c.arp().resolved_mac()));
}

void AddTlsDetails(const v1::TlsInfo& tls, DetailList* list) {
  list->Add("SNI", list->Clean(tls.sni()), Style::kAccent);
  list->Add("ALPN", list->Clean(absl::StrJoin(tls.alpn(), ", ")));
  list->Add("offered", list->Clean(absl::StrJoin(tls.offered_versions(), ", ")));
  list->Add("version", list->Clean(tls.version()));
  list->Add("cipher suite", list->Clean(tls.cipher_suite()));
  list->Add("ECH offered", tls.ech_offered() ? "yes" : "no");
  list->Add("JA4", list->Clean(tls.ja4()));
  list->AddKnown("certificate CN", list->Clean(tls.certificate_cn()), Style::kAccent);
  list->AddKnown("certificate names",
                 list->Clean(absl::StrJoin(tls.certificate_names(), ", ")), Style::kNormal, 3);
}

void AddHttpDetails(const v1::HttpInfo& h, DetailList* list) {
  list->Add("method", list->Clean(h.method()));
  list->Add("host", list->Clean(h.host()), Style::kAccent);
  list->Add("path", list->Clean(h.path()));
  list->Add("user agent", list->Clean(h.user_agent()));
  list->Add("status", h.status() != 0 ? Cat(h.status()) : "");
  list->Add("HTTP version", list->Clean(h.version()));
}

void AddDnsDetails(const v1::DnsInfo& d, DetailList* list) {
  list->Add("query", list->Clean(d.query()), Style::kAccent);
  list->Add("type", list->Clean(d.query_type()));
  list->Add("response", list->Clean(d.response_code()));
  list->Add("answers", list->Clean(absl::StrJoin(d.answers(), ", ")));
  list->Add("over TCP", d.over_tcp() ? "yes" : "no");
  list->AddKnown("opcode", list->Clean(d.opcode()));
  // "SRV dc1.example:389", "MX 10 mx.example", "HTTPS . alpn=h2,h3", "TXT 42 bytes".
  std::vector<std::string> records;
  for (const v1::DnsRecord& r : d.records()) {
    std::string text = absl::StrCat(r.type(), " ");
    if (r.type() == "TXT") {
      absl::StrAppend(&text, r.txt_length(), " bytes");
    } else {
      if (r.type() == "MX") absl::StrAppend(&text, r.priority(), " ");
      absl::StrAppend(&text, r.target());
      if (r.port() != 0) absl::StrAppend(&text, ":", r.port());
      if (!r.alpn().empty()) absl::StrAppend(&text, " alpn=", absl::StrJoin(r.alpn(), ","));
    }
    records.push_back(std::move(text));
  }
  list->AddKnown("records", list->Clean(absl::StrJoin(records, ", ")), Style::kNormal, 4);
  if (d.suspicious_name()) list->Add("suspicious name", "yes (long labels: a tunnel?)", Style::kWarn);
  if (d.unusual_name()) list->Add("unusual name", "yes (bytes outside host names)", Style::kWarn);
}

// What DPI found: the protocol and label, then each record it has.
void AddAppDetails(const v1::AppInfo& app, DetailList* list) {
  list->Heading("Application (DPI)");
  list->Add("protocol", AsString(AppProtocolName(app.protocol())));
  list->Add("label", list->Clean(app.label()), Style::kAccent);
  if (app.has_tls()) AddTlsDetails(app.tls(), list);
  if (app.has_quic()) {
    list->Add("QUIC version", list->Clean(app.quic().version()));
    AddTlsDetails(app.quic().tls(), list);
  }
  if (app.has_http()) AddHttpDetails(app.http(), list);
  if (app.has_dns()) AddDnsDetails(app.dns(), list);
  if (app.has_ssh()) {
    list->Add("SSH client", list->Clean(app.ssh().client()));
    list->Add("SSH server", list->Clean(app.ssh().server()));
    list->Add("SSH protocol", list->Clean(app.ssh().protocol_version()));
  }
  if (!app.dhcp_hostname().empty()) list->Add("DHCP name", list->Clean(app.dhcp_hostname()));
  if (app.has_mail()) {
    list->Add("greeting", list->Clean(app.mail().greeting()));
    list->Add("client name", list->Clean(app.mail().client_domain()));
    list->Add("STARTTLS", app.mail().starttls() ? "yes" : "no");
  }
  if (app.has_ftp()) {
    list->Add("FTP user", list->Clean(app.ftp().user()));
    if (app.ftp().control_connection_id() != 0) {
      list->Add("FTP control", Cat("connection ", app.ftp().control_connection_id()));
    }
    list->Add("data endpoint", list->Clean(app.ftp().data_endpoint()));
  }
  if (app.has_database()) {
    const v1::DatabaseInfo& d = app.database();
    list->Add("DB user", list->Clean(d.user()));
    list->Add("database", list->Clean(d.database()));
    list->Add("server version", list->Clean(d.server_version()));
    list->Add("command", list->Clean(d.command()));
    if (d.tls_requested()) list->Add("TLS requested", "yes");
  }
  if (app.has_lan()) {
    const v1::LanInfo& l = app.lan();
    list->Add("user", list->Clean(l.user()));
    list->Add("version", list->Clean(l.version()));
    list->Add("name", list->Clean(l.name()));
    list->Add("agent", list->Clean(l.agent()));
    list->Add("message", list->Clean(l.message_type()));
    if (l.tls()) list->Add("TLS", "yes");
  }
}

// The parent chain, nearest first: "bash (812) < sshd (700) < systemd (1)";
// an ancestor whose name could not be read shows its pid only.
std::string FormatLineage(const v1::ProcessInfo& p, const DetailList* list) {
  const std::string_view sep = list->glyphs().unicode ? " \u2190 " : " < ";
  std::string out;
  for (const v1::ProcessAncestor& a : p.lineage()) {
    if (!out.empty()) out += sep;
    out += a.name().empty() ? Cat("(", a.pid(), ")")
                            : Cat(list->Clean(a.name()), " (", a.pid(), ")");
  }
  return out;
}

// One process; rows that would be empty are left out.
void AddProcessInfo(const v1::ProcessInfo& p, DetailList* list) {
  if (p.pid() == 0) {
    list->Add("name", "unknown (not readable, or gone)", Style::kDim);
  } else {
    list->AddKnown("name", list->Clean(p.name()), Style::kAccent);
    list->Add("pid", Cat(p.pid()));
  }
  list->Add("user", p.user().empty() ? Cat("uid ", p.uid())
                                     : Cat(list->Clean(p.user()), " (", p.uid(), ")"));
  list->AddKnown("command line", FormatCommandLine(p, list->glyphs()), Style::kNormal,
                 kCommandLineRows);
  list->AddKnown("executable", list->Clean(p.executable()), Style::kNormal, kPathRows);
  list->AddKnown("systemd unit", list->Clean(p.unit()));
  list->AddKnown("user unit", list->Clean(p.user_unit()));
  list->AddKnown("container", FormatContainer(p, list->glyphs()));
  if (p.has_kubernetes()) {
    // As kubectl names it: namespace/pod.
    const v1::KubernetesInfo& k = p.kubernetes();
    std::string pod = list->Clean(k.pod());
    if (!pod.empty() && !k.namespace_().empty()) pod = Cat(list->Clean(k.namespace_()), "/", pod);
    list->AddKnown("pod", pod, Style::kAccent);
    list->AddKnown("pod container", list->Clean(k.container()));
    list->AddKnown("pod UID", list->Clean(k.pod_uid()));
  }
  list->AddKnown("cgroup", list->Clean(p.cgroup()), Style::kNormal, kPathRows);
  list->AddKnown("parents", FormatLineage(p, list), Style::kNormal, kPathRows);
  if (p.netns_inode() != 0) {
    const std::string inode = Cat("net:[", p.netns_inode(), "]");
    list->Add("netns", p.netns_name().empty() ? inode
                                              : Cat(list->Clean(p.netns_name()), " (", inode, ")"));
  }
  list->AddKnown("started", p.has_started() ? FormatTimestamp(p.started()) : "");
  if (p.exited()) {
    list->Add("state", "exited", Style::kWarn);
  } else if (p.pid() != 0) {
    list->Add("state", "running");
  }
  std::string via = AsString(AttributionMethodName(p.method()));
  if (!via.empty() && p.ebpf()) via += " (eBPF)";
  list->AddKnown("found via", via);
}

// Where each end is (GeoIP/ASN) and whose network cards they have (MAC
// vendors); the section is left out when the daemon sent none of it.
void AddLocationDetails(const v1::Connection& c, DetailList* list) {
  if (!c.has_remote_location() && !c.has_local_location() && !c.has_local_mac_vendor() &&
      !c.has_remote_mac_vendor()) {
    return;
  }
  list->Heading("Location");
  const std::string dot(list->glyphs().unicode ? "\u00b7" : "-");
  list->Add("remote", list->Clean(LocationDetail(c.remote_location(), dot)), Style::kAccent);
  list->AddKnown("local", list->Clean(LocationDetail(c.local_location(), dot)));
  list->AddKnown("remote MAC vendor", list->Clean(MacVendorText(c.remote_mac_vendor())));
  list->AddKnown("local MAC vendor", list->Clean(MacVendorText(c.local_mac_vendor())));
}

// The local process (or that none was found), and the remote one when the
// other end is on this machine too.
void AddProcessDetails(const v1::Connection& c, DetailList* list) {
  list->Heading("Process");
  if (c.has_process()) {
    AddProcessInfo(c.process(), list);
  } else {
    // Replayed files, other network namespaces, sockets gone before the
    // daemon looked.
    list->Add("owner", "not found", Style::kDim);
  }
  if (c.has_remote_process()) {
    list->Heading("Remote process");
    AddProcessInfo(c.remote_process(), list);
  }
}

}  // namespace

Style StateStyle(v1::ConnectionState s) {
  switch (s) {
    case v1::CONNECTION_STATE_ESTABLISHED:
    case v1::CONNECTION_STATE_ACTIVE: return Style::kGood;
    case v1::CONNECTION_STATE_SYN_SENT:
    case v1::CONNECTION_STATE_SYN_RECEIVED:
    case v1::CONNECTION_STATE_UNREPLIED: return Style::kWarn;
    case v1::CONNECTION_STATE_CLOSED: return Style::kBad;
    default: return Style::kDim;  // Closing states.
  }
}

std::vector<DetailItem> DetailsView::Items(const v1::Connection& c, int64_t snapshot_us) const {
  DetailList list(glyphs_);
  AddConnectionDetails(c, &list);
  AddEndpointDetails(c, &list);
  AddLocationDetails(c, &list);
  AddTimingDetails(c, snapshot_us, &list);
  AddTrafficDetails(c, &list);
  AddTcpDetails(c, &list);
  AddIcmpDetails(c, &list);
  AddArpDetails(c, &list);
  AddAppDetails(c.app(), &list);
  AddProcessDetails(c, &list);
  return list.Take();
}

std::vector<DetailItem> DetailsView::Rows(const v1::Connection& c, int64_t snapshot_us,
                                          size_t value_width) const {
  std::vector<DetailItem> rows;
  for (DetailItem& item : Items(c, snapshot_us)) {
    if (item.max_rows <= 1 || DisplayWidth(item.value) <= value_width) {
      rows.push_back(std::move(item));
      continue;
    }
    std::vector<std::string> lines = WrapText(item.value, value_width);
    if (lines.size() > item.max_rows) {
      // Cut: the last row kept ends in an ellipsis.
      lines.resize(item.max_rows);
      std::string& last = lines.back();
      last = DisplayWidth(last) < value_width ? Cat(last, glyphs_.Ellipsis())
                                              : FitEnd(Cat(last, " "), value_width, glyphs_);
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      rows.push_back({i == 0 ? item.label : std::string(), std::move(lines[i]), false, item.style});
    }
  }
  return rows;
}

DetailsView::Geometry DetailsView::Layout(const v1::Connection* c, int64_t snapshot_us,
                                          size_t width, size_t rows) const {
  Geometry g;
  g.rows = rows > 0 ? rows - 1 : 0;  // 1: the title line.
  // As few columns as hold every row (at most as many as fit), each at most
  // kDetailMaxColumnWidth wide so labels stay near their values. Wrapped
  // values take more rows in narrower columns, so each count is tried.
  const size_t fit = std::clamp<size_t>(width / kDetailMinColumnWidth, 1, kDetailMaxColumns);
  for (size_t columns = 1; columns <= fit; ++columns) {
    g.columns = columns;
    g.column_width = std::min(width / columns, kDetailMaxColumnWidth);
    // Indent 2, label, blank, value, and a blank before the next column: a
    // 40-column cell holds a 23-character timestamp.
    g.value_width =
        g.column_width > kDetailLabelWidth + 5 ? g.column_width - kDetailLabelWidth - 4 : 1;
    const size_t n = c != nullptr ? Rows(*c, snapshot_us, g.value_width).size() : 0;
    g.total_rows = (n + columns - 1) / columns;
    if (g.total_rows <= g.rows) break;
  }
  return g;
}

size_t DetailsView::MaxScroll(const v1::Connection* c, int64_t snapshot_us, size_t width,
                              size_t rows) const {
  const Geometry g = Layout(c, snapshot_us, width, rows);
  return g.total_rows > g.rows ? g.total_rows - g.rows : 0;
}

void DetailsView::Render(const v1::Connection* c, bool gone, int64_t snapshot_us, size_t width,
                         size_t rows, size_t details_scroll, std::vector<Line>* out) const {
  const size_t start = out->size();
  if (c == nullptr) {
    out->push_back(
        {{{"No connection selected: pick one in Overview (Esc) and press Enter.", Style::kDim}}});
    while (out->size() < start + rows) out->push_back({});
    return;
  }
  Line title;
  title.segments.push_back({Cat(ProtocolName(c->protocol()), " ", Clean(FormatEndpoint(c->local())),
                                " ", glyphs_.unicode ? "\u2192" : "->", " ",
                                Clean(FormatEndpoint(c->remote())), "  ", StateName(c->state())),
                            Style::kHeading});
  if (gone) {
    title.segments.push_back(
        {"  gone: closed or no longer in view (last data shown)", Style::kWarn});
  }
  out->push_back(std::move(title));

  const Geometry g = Layout(c, snapshot_us, width, rows);
  const std::vector<DetailItem> items = Rows(*c, snapshot_us, g.value_width);
  const size_t max_scroll = MaxScroll(c, snapshot_us, width, rows);
  const size_t scroll = std::min(details_scroll, max_scroll);
  const size_t per_column = std::max<size_t>(g.total_rows, 1);
  const size_t value_width = g.value_width;
  const size_t body = rows > 0 ? rows - 1 : 0;
  for (size_t r = 0; r < body; ++r) {
    Line line;
    for (size_t col = 0; col < g.columns; ++col) {
      const size_t index = col * per_column + scroll + r;
      const bool in_column = scroll + r < per_column && index < items.size();
      std::vector<Segment> cell;
      if (in_column) {
        const DetailItem& item = items[index];
        if (item.heading) {
          cell.push_back({FitEnd(item.value, g.column_width - 1, glyphs_), Style::kHeading});
        } else {
          cell.push_back(
              {Cat("  ", FitEnd(item.label, kDetailLabelWidth, glyphs_), " "), Style::kDim});
          cell.push_back({FitEnd(item.value, value_width, glyphs_), item.style});
        }
      }
      size_t used = 0;
      for (const Segment& s : cell) used += DisplayWidth(s.text);
      if (col + 1 < g.columns && used < g.column_width) {
        cell.push_back({std::string(g.column_width - used, ' '), Style::kNormal});
      }
      for (Segment& s : cell) line.segments.push_back(std::move(s));
    }
    out->push_back(std::move(line));
  }
  if (max_scroll > 0 && out->size() > start) {
    Line& last = out->back();
    last.segments.clear();
    last.segments.push_back({scroll < max_scroll
                                 ? Cat(glyphs_.Ellipsis(), " more: PageDown (or a larger terminal)")
                                 : "PageUp scrolls back",
                             Style::kDim});
  }
}

}  // namespace rustnet::client
