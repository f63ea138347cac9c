#include "client/view_model.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/location.h"
#include "common/filter.h"

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
  list->Add("age",
            snapshot_us > 0 && c.has_first_seen() ? FormatDuration(snapshot_us - first) : "");
  list->Add("idle",
            snapshot_us > 0 && c.has_last_seen() ? FormatDuration(snapshot_us - last) : "");
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
  list->AddKnown("cgroup", list->Clean(p.cgroup()), Style::kNormal, kPathRows);
  list->AddKnown("started", p.has_started() ? FormatTimestamp(p.started()) : "");
  if (p.exited()) {
    list->Add("state", "exited", Style::kWarn);
  } else if (p.pid() != 0) {
    list->Add("state", "running");
  }
  list->AddKnown("found via", AsString(AttributionMethodName(p.method())));
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

std::string Line::Text() const {
  std::string out;
  for (const Segment& s : segments) out += s.text;
  return out;
}

bool Query::SameShape(const Query& other) const {
  return filter == other.filter && sort == other.sort && order == other.order &&
         hide_loopback == other.hide_loopback;
}

v1::ListConnectionsRequest Query::ToRequest() const {
  v1::ListConnectionsRequest r;
  r.set_filter(filter);
  r.set_sort(sort);
  r.set_order(order);
  r.set_offset(offset);
  r.set_limit(limit);
  r.set_hide_loopback(hide_loopback);
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
    default: return "?";
  }
}

ViewModel::ViewModel(Options options)
    : options_(std::move(options)),
      glyphs_{options_.unicode},
      filter_(options_.filter),
      hide_loopback_(options_.hide_loopback) {
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
  q.offset = window_offset_;
  q.limit = WindowLimit();
  return q;
}

// --- Data in --------------------------------------------------------------------

const v1::Connection* ViewModel::RowAt(uint64_t index) const {
  if (!have_page_ || index < page_offset_ || index - page_offset_ >= rows_.size()) return nullptr;
  return &rows_[index - page_offset_];
}

const v1::Connection* ViewModel::Selected() const {
  return selected_copy_ ? &*selected_copy_ : nullptr;
}

void ViewModel::OnPage(const Query& query, const v1::ListConnectionsResponse& page) {
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
}

void ViewModel::OnStats(const v1::Stats& stats) {
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
      SetMessage("filter unchanged", Style::kNormal, now);
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
  if (edit_.active) return HandleEditKey(key, now);
  if (ConfirmQuit(key, now, &result)) return result;

  const KeyCode code = WithViKeys(key);
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
  if (tab_ == Tab::kOverview || tab_ == Tab::kDetails) {
    MoveBy(step);
  } else if (step < 0) {
    help_scroll_ = help_scroll_ > 0 ? help_scroll_ - 1 : 0;
  } else {
    help_scroll_ = std::min(help_scroll_ + 1, HelpMaxScroll());
  }
}

void ViewModel::PageKey(bool down) {
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
  if (tab_ == Tab::kHelp) {
    help_scroll_ = end ? HelpMaxScroll() : 0;
  } else if (!end) {
    SelectIndex(0);
  } else if (matched_ > 0) {
    SelectIndex(matched_ - 1);
  }
}

void ViewModel::SwitchTab(bool forward) {
  if (forward) {
    tab_ = tab_ == Tab::kOverview  ? Tab::kDetails
           : tab_ == Tab::kDetails ? Tab::kHelp
                                   : Tab::kOverview;
  } else {
    tab_ = tab_ == Tab::kOverview  ? Tab::kHelp
           : tab_ == Tab::kDetails ? Tab::kOverview
                                   : Tab::kDetails;
  }
  // Esc in Help goes back to the tab it was reached from.
  if (tab_ == Tab::kHelp) tab_before_help_ = forward ? Tab::kDetails : Tab::kOverview;
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
    case U'h': ToggleHelp(); break;
    case U'c': CopyRemote(now, result); break;
    case U'/': StartFilterEdit(); break;
    case U's':
    case U'S': ChangeSort(ch == U's', now); break;
    case U'n': ToggleNames(now); break;
    default: break;
  }
}

void ViewModel::ToggleHelp() {
  if (tab_ == Tab::kHelp) {
    tab_ = tab_before_help_;
  } else {
    tab_before_help_ = tab_;
    tab_ = Tab::kHelp;
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
      {"Tab / Shift+Tab", "next / previous tab (Overview, Details, Help)"},
      {Cat(g.Up(), " k / ", g.Down(), " j"), "move the selection up / down"},
      {"PageUp / PageDown", "move by 10 (Details, Help: scroll)"},
      {"Home g / End G", "first / last connection"},
      {"Enter", "details of the selected connection"},
      {"Esc", "go back"},
      {"c", "copy the remote address to the clipboard (OSC 52)"},
      {"h", "toggle this help"},
      {"/", "edit the filter: Enter applies, Esc cancels"},
      {"s / S", "next sort column / reverse the order"},
      {"n", "show host names or raw addresses"},
      {"Ctrl+L", "redraw the screen"},
      {"Ctrl+Z", "suspend (fg resumes)"},
  };
}

std::string ViewModel::CellText(const v1::Connection& c, Column column) const {
  switch (column) {
    case Column::kProtocol: return AsString(ProtocolName(c.protocol()));
    case Column::kLocal: return Clean(FormatEndpoint(c.local()));
    case Column::kRemote:
      if (show_names_ && RemoteNameKnown(c)) {
        return Clean(FormatNamedEndpoint(c.hostname(), c.remote().port()));
      }
      return Clean(FormatEndpoint(c.remote()));
    case Column::kLocation: return Clean(LocationCell(c.remote_location()));
    case Column::kState: return AsString(StateName(c.state()));
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

Line ViewModel::TitleLine() const {
  Line line;
  line.fill = Style::kTitle;
  line.segments.push_back({" rustnet ", Style::kTitle});
  const std::pair<Tab, const char*> tabs[] = {
      {Tab::kOverview, "Overview"}, {Tab::kDetails, "Details"}, {Tab::kHelp, "Help"}};
  for (const auto& [tab, name] : tabs) {
    line.segments.push_back({" ", Style::kTitle});
    line.segments.push_back({Cat(" ", name, " "), tab == tab_ ? Style::kTabActive : Style::kTitle});
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
                               hide_loopback_ ? Cat(dot, "loopback hidden") : ""),
                           Style::kDim});
  return line;
}

Line ViewModel::TableHeader(const std::vector<PlacedColumn>& layout) const {
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

Line ViewModel::TableRow(const std::vector<PlacedColumn>& layout, uint64_t index) const {
  Line line;
  const v1::Connection* c = RowAt(index);
  const bool selected = index == selected_index_;
  if (selected) line.fill = Style::kSelected;
  if (c == nullptr) {
    line.segments.push_back(
        {AsString(glyphs_.Ellipsis()), selected ? Style::kSelected : Style::kDim});
    return line;
  }
  for (size_t i = 0; i < layout.size(); ++i) {
    const Column column = layout[i].column;
    const ColumnSpec& spec = SpecOf(column);
    bool peer = false;
    const v1::ProcessInfo* process = column == Column::kProcess ? ShownProcess(*c, &peer) : nullptr;
    const std::string text = process != nullptr ? std::string() : CellText(*c, column);
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
      default: break;
    }
    if (process != nullptr && process->exited()) style = Style::kDim;
    if (selected) style = Style::kSelected;
    if (i > 0) line.segments.push_back({" ", selected ? Style::kSelected : Style::kNormal});
    if (process != nullptr) {
      // A narrow column cuts the name, not the pid or the markers.
      const ProcessCell cell = MakeProcessCell(*process, peer, glyphs_);
      line.segments.push_back(
          {FitAffixed(cell.prefix, cell.name, cell.suffix, layout[i].width, glyphs_), style});
      continue;
    }
    // Addresses and names lose their start, so the port and the domain stay.
    const bool keep_end = column == Column::kLocal || column == Column::kRemote;
    line.segments.push_back({keep_end ? FitStart(text, layout[i].width, glyphs_, spec.right_align)
                                      : FitEnd(text, layout[i].width, glyphs_, spec.right_align),
                             style});
  }
  return line;
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
    line.segments.push_back({AsString(kPrompt), Style::kAccent});
    line.segments.push_back({shown, edit_.error.empty() ? Style::kNormal : Style::kError});
    return line;
  }
  const std::string message = Message(now);
  if (!message.empty()) {
    line.segments.push_back({message, message_style_});
    return line;
  }
  const std::string dot = Cat(" ", glyphs_.Dot(), " ");
  line.segments.push_back({Cat("q quit", dot, "Tab tabs", dot, "Enter details", dot, "/ filter",
                               dot, "s sort", dot, "c copy", dot, "h help"),
                           Style::kDim});
  return line;
}

std::optional<std::pair<int, int>> ViewModel::Cursor() const {
  if (!edit_.active || width_ < kMinWidth || height_ < kMinHeight) return std::nullopt;
  const size_t avail =
      static_cast<size_t>(std::max(width_ - static_cast<int>(kPrompt.size()) - 1, 1));
  const size_t cursor_col = DisplayWidth(std::string_view(edit_.text).substr(0, edit_.cursor));
  const size_t col = kPrompt.size() + std::min(cursor_col, avail);
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
  const std::vector<PlacedColumn> layout = LayoutColumns(static_cast<size_t>(width_));
  out->push_back(TableHeader(layout));
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

std::vector<DetailItem> ViewModel::DetailItems(const v1::Connection& c) const {
  DetailList list(glyphs_);
  AddConnectionDetails(c, &list);
  AddEndpointDetails(c, &list);
  AddLocationDetails(c, &list);
  AddTimingDetails(c, snapshot_us_, &list);
  AddTrafficDetails(c, &list);
  AddTcpDetails(c, &list);
  AddIcmpDetails(c, &list);
  AddArpDetails(c, &list);
  AddAppDetails(c.app(), &list);
  AddProcessDetails(c, &list);
  return list.Take();
}

std::vector<DetailItem> ViewModel::DetailRows(const v1::Connection& c,
                                                         size_t value_width) const {
  std::vector<DetailItem> rows;
  for (DetailItem& item : DetailItems(c)) {
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

ViewModel::DetailsGeometry ViewModel::DetailsLayout() const {
  DetailsGeometry g;
  const size_t width = static_cast<size_t>(width_);
  const int body = height_ - kRowsAbove - kRowsBelow - 1;  // 1: the title line.
  g.rows = body > 0 ? static_cast<size_t>(body) : 0;
  const v1::Connection* c = Selected();
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
    const size_t n = c != nullptr ? DetailRows(*c, g.value_width).size() : 0;
    g.total_rows = (n + columns - 1) / columns;
    if (g.total_rows <= g.rows) break;
  }
  return g;
}

size_t ViewModel::DetailsMaxScroll() const {
  const DetailsGeometry g = DetailsLayout();
  return g.total_rows > g.rows ? g.total_rows - g.rows : 0;
}

void ViewModel::RenderDetails(std::vector<Line>* out, size_t rows) const {
  if (link_ == Link::kUnreachable) {
    RenderUnreachable(out, rows);
    return;
  }
  const v1::Connection* c = Selected();
  if (c == nullptr) {
    out->push_back(
        {{{"No connection selected: pick one in Overview (Esc) and press Enter.", Style::kDim}}});
    while (out->size() < rows + static_cast<size_t>(kRowsAbove)) out->push_back({});
    return;
  }
  Line title;
  title.segments.push_back({Cat(ProtocolName(c->protocol()), " ", Clean(FormatEndpoint(c->local())),
                                " ", glyphs_.unicode ? "\u2192" : "->", " ",
                                Clean(FormatEndpoint(c->remote())), "  ", StateName(c->state())),
                            Style::kHeading});
  if (selected_gone_) {
    title.segments.push_back(
        {"  gone: closed or no longer in view (last data shown)", Style::kWarn});
  }
  out->push_back(std::move(title));

  const DetailsGeometry g = DetailsLayout();
  const std::vector<DetailItem> items = DetailRows(*c, g.value_width);
  const size_t scroll = std::min(details_scroll_, DetailsMaxScroll());
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
  if (DetailsMaxScroll() > 0 && !out->empty()) {
    Line& last = out->back();
    last.segments.clear();
    last.segments.push_back({scroll < DetailsMaxScroll()
                                 ? Cat(glyphs_.Ellipsis(), " more: PageDown (or a larger terminal)")
                                 : "PageUp scrolls back",
                             Style::kDim});
  }
}

std::vector<Line> ViewModel::HelpLines() const {
  std::vector<Line> lines;
  lines.push_back({{{"Keys", Style::kHeading}}});
  for (const auto& [keys, what] : KeyHelp(glyphs_)) {
    lines.push_back(
        {{{Cat("  ", FitEnd(keys, 20, glyphs_)), Style::kAccent}, {what, Style::kNormal}}});
  }
  lines.push_back({});
  lines.push_back({{{"Filter (/): terms that must all match", Style::kHeading}}});
  const char* const kFilterHelp[] = {
      "  word               anywhere: protocol, addresses, state, service, names...",
      "  proto:tcp|udp|icmp|icmpv6|arp   ip:4|6   dir:in|out",
      "  port:443  port:8000-8999  lport:  rport:     addr:10.0.0.0/8  laddr:  raddr:",
      "  state:established (a prefix is enough: state:fin)   service:https",
      "  app:tls  sni:TEXT  host:TEXT  process:TEXT  pid:N  user:TEXT  iface:eth0",
      "  country:de (or country:germany, country:private)  asn:3320  org:TEXT (GeoIP)",
      "  -term or !term negates; \"a b\" quotes spaces.  Example: proto:tcp -port:22",
  };
  for (const char* text : kFilterHelp) lines.push_back({{{text, Style::kNormal}}});
  lines.push_back({});
  lines.push_back({{{"Process column", Style::kHeading}}});
  const std::pair<std::string, std::string_view> kProcessHelp[] = {
      {"name (pid)", "the owner of the local socket"},
      {Cat("name (pid) ", glyphs_.Exited()), "the same, since exited"},
      {"user NAME", "only the socket's owner is known, not its process"},
      {"peer name (pid)", "no local owner known: the remote end's (a socket on this host too)"},
  };
  for (const auto& [shown, what] : kProcessHelp) {
    lines.push_back({{{Cat("  ", FitEnd(shown, 20, glyphs_), what), Style::kNormal}}});
  }
  lines.push_back({});
  lines.push_back(
      {{{"Columns drop from the right by priority when the terminal is narrow; "
         "Details shows every field.",
         Style::kDim}}});
  return lines;
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
