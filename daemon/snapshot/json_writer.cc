#include "daemon/snapshot/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include "google/protobuf/descriptor.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;

constexpr char kHex[] = "0123456789abcdef";

// Escapes of the ASCII range; nullptr: copied as is. As protobuf 3.21's
// util/internal/json_escaping.cc: '<' and '>' too (against HTML injection).
constexpr auto kAsciiEscapes = [] {
  struct Table {
    const char* escape[128] = {};
  } t;
  constexpr const char* kControls[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  for (int c = 0; c < 32; ++c) t.escape[c] = kControls[c];
  t.escape[static_cast<uint8_t>('"')] = "\\\"";
  t.escape[static_cast<uint8_t>('\\')] = "\\\\";
  t.escape[static_cast<uint8_t>('<')] = "\\u003c";
  t.escape[static_cast<uint8_t>('>')] = "\\u003e";
  t.escape[0x7f] = "\\u007f";
  return t;
}();

void AppendU16Escape(uint32_t unit, std::string* out) {
  const char buf[6] = {'\\',
                       'u',
                       kHex[(unit >> 12) & 0xf],
                       kHex[(unit >> 8) & 0xf],
                       kHex[(unit >> 4) & 0xf],
                       kHex[unit & 0xf]};
  out->append(buf, sizeof(buf));
}

// Non-ASCII code points protobuf escapes: C1 controls and invisible or
// format characters (javascript hazards). False: copy the bytes as they are.
bool AppendNonAsciiEscape(uint32_t cp, std::string* out) {
  const bool bmp_escaped = cp < 0xa0 || cp == 0x00ad || cp == 0x06dd || cp == 0x070f ||
                           cp == 0x17b4 || cp == 0x17b5 || cp == 0xfeff ||
                           (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0x0600 && cp <= 0x0603) ||
                           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
                           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x206a && cp <= 0x206f);
  if (bmp_escaped) {
    AppendU16Escape(cp, out);
    return true;
  }
  const bool astral_escaped =
      cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f);
  if (astral_escaped) {
    const uint32_t v = cp - 0x10000;
    AppendU16Escape(0xd800 + (v >> 10), out);
    AppendU16Escape(0xdc00 + (v & 0x3ff), out);
    return true;
  }
  return false;
}

template <typename T>
void AppendInt(T v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// printf("%0*d"): `width` digits at least.
void AppendPadded(int64_t v, int width, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  for (auto len = r.ptr - buf; len < width; ++len) out->push_back('0');
  out->append(buf, r.ptr);
}

// protobuf's SimpleDtoa: "%.15g", or "%.17g" when 15 digits do not read
// back as the same double. to_chars with a precision is printf's %g.
void AppendDouble(double v, std::string* out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 15);
  double back = 0;
  std::from_chars(buf, r.ptr, back);
  if (back != v) r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 17);
  out->append(buf, r.ptr);
}

// ".123", ".123456" or ".123456789" as the nanos need; nothing for 0.
void AppendNanos(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  out->push_back('.');
  if (nanos % 1'000'000 == 0) {
    AppendPadded(nanos / 1'000'000, 3, out);
  } else if (nanos % 1'000 == 0) {
    AppendPadded(nanos / 1'000, 6, out);
  } else {
    AppendPadded(nanos, 9, out);
  }
}

void WriteEndpoint(const v1::Endpoint& e, JsonObjectWriter w) {
  w.String("address", e.address());
  w.Uint32("port", e.port());
  w.String("mac", e.mac());
}

void WriteCounters(const v1::Counters& c, JsonObjectWriter w) {
  w.Uint64("packets", c.packets());
  w.Uint64("bytes", c.bytes());
}

void WriteTls(const v1::TlsInfo& t, JsonObjectWriter w) {
  w.String("sni", t.sni());
  w.StringList("alpn", t.alpn());
  w.StringList("offeredVersions", t.offered_versions());
  w.String("version", t.version());
  w.String("cipherSuite", t.cipher_suite());
  w.Bool("echOffered", t.ech_offered());
  w.String("ja4", t.ja4());
  w.String("certificateCn", t.certificate_cn());
  w.StringList("certificateNames", t.certificate_names());
}

void WriteApp(const v1::AppInfo& a, JsonObjectWriter w) {
  w.Enum("protocol", v1::AppProtocol_descriptor(), a.protocol());
  w.String("label", a.label());
  if (a.has_http()) {
    const v1::HttpInfo& h = a.http();
    JsonObjectWriter o = w.Object("http");
    o.String("method", h.method());
    o.String("host", h.host());
    o.String("path", h.path());
    o.String("userAgent", h.user_agent());
    o.Uint32("status", h.status());
    o.String("version", h.version());
  }
  if (a.has_tls()) WriteTls(a.tls(), w.Object("tls"));
  if (a.has_dns()) {
    const v1::DnsInfo& d = a.dns();
    JsonObjectWriter o = w.Object("dns");
    o.String("query", d.query());
    o.String("queryType", d.query_type());
    o.String("responseCode", d.response_code());
    o.StringList("answers", d.answers());
    o.Bool("overTcp", d.over_tcp());
    o.ObjectList("records", d.records(), [](const v1::DnsRecord& r, JsonObjectWriter& rw) {
      rw.String("type", r.type());
      rw.String("name", r.name());
      rw.String("target", r.target());
      rw.Uint32("port", r.port());
      rw.Uint32("priority", r.priority());
      rw.StringList("alpn", r.alpn());
      rw.Uint32("txtLength", r.txt_length());
    });
    o.Bool("suspiciousName", d.suspicious_name());
    o.Bool("unusualName", d.unusual_name());
    o.String("opcode", d.opcode());
  }
  if (a.has_ssh()) {
    JsonObjectWriter o = w.Object("ssh");
    o.String("client", a.ssh().client());
    o.String("server", a.ssh().server());
    o.String("protocolVersion", a.ssh().protocol_version());
    o.String("clientSoftware", a.ssh().client_software());
    o.String("serverSoftware", a.ssh().server_software());
  }
  if (a.has_quic()) {
    JsonObjectWriter o = w.Object("quic");
    o.String("version", a.quic().version());
    if (a.quic().has_tls()) WriteTls(a.quic().tls(), o.Object("tls"));
  }
  w.String("dhcpHostname", a.dhcp_hostname());
  if (a.has_mail()) {
    JsonObjectWriter o = w.Object("mail");
    o.String("greeting", a.mail().greeting());
    o.String("clientDomain", a.mail().client_domain());
    o.Bool("starttls", a.mail().starttls());
  }
  if (a.has_ftp()) {
    JsonObjectWriter o = w.Object("ftp");
    o.String("user", a.ftp().user());
    o.Uint64("controlConnectionId", a.ftp().control_connection_id());
    o.String("dataEndpoint", a.ftp().data_endpoint());
  }
  if (a.has_database()) {
    const v1::DatabaseInfo& d = a.database();
    JsonObjectWriter o = w.Object("database");
    o.String("user", d.user());
    o.String("database", d.database());
    o.String("serverVersion", d.server_version());
    o.String("command", d.command());
    o.Bool("tlsRequested", d.tls_requested());
  }
  if (a.has_lan()) {
    const v1::LanInfo& l = a.lan();
    JsonObjectWriter o = w.Object("lan");
    o.String("user", l.user());
    o.String("version", l.version());
    o.String("name", l.name());
    o.String("agent", l.agent());
    o.String("messageType", l.message_type());
    o.Bool("tls", l.tls());
  }
  if (a.has_mqtt()) {
    JsonObjectWriter o = w.Object("mqtt");
    o.String("version", a.mqtt().version());
    o.String("clientId", a.mqtt().client_id());
    o.String("topic", a.mqtt().topic());
  }
  if (a.has_sip()) {
    JsonObjectWriter o = w.Object("sip");
    o.String("method", a.sip().method());
    o.String("fromDomain", a.sip().from_domain());
    o.String("toDomain", a.sip().to_domain());
    o.String("userAgent", a.sip().user_agent());
  }
  if (a.has_snmp()) {
    JsonObjectWriter o = w.Object("snmp");
    o.String("version", a.snmp().version());
    o.String("pduType", a.snmp().pdu_type());
  }
  if (a.has_tftp()) {
    JsonObjectWriter o = w.Object("tftp");
    o.String("file", a.tftp().file());
    o.String("operation", a.tftp().operation());
  }
  if (a.has_socks()) {
    JsonObjectWriter o = w.Object("socks");
    o.String("version", a.socks().version());
    o.String("target", a.socks().target());
  }
  if (a.has_ntp()) {
    JsonObjectWriter o = w.Object("ntp");
    o.Uint32("version", a.ntp().version());
    o.String("mode", a.ntp().mode());
    o.Uint32("stratum", a.ntp().stratum());
  }
  if (a.has_stun()) {
    JsonObjectWriter o = w.Object("stun");
    o.String("messageType", a.stun().message_type());
    o.String("mappedAddress", a.stun().mapped_address());
    o.String("software", a.stun().software());
    o.String("realm", a.stun().realm());
  }
}

}  // namespace

void WriteLocation(const v1::Location& l, JsonObjectWriter w) {
  w.String("countryCode", l.country_code());
  w.String("countryName", l.country_name());
  w.String("city", l.city());
  w.Uint32("asn", l.asn());
  w.String("asOrg", l.as_org());
  w.String("special", l.special());
}

void WriteMacVendor(const v1::MacVendor& v, JsonObjectWriter w) {
  w.String("vendor", v.vendor());
  w.Bool("locallyAdministered", v.locally_administered());
  w.Bool("multicast", v.multicast());
}

void WriteProcessInfoJson(const v1::ProcessInfo& p, JsonObjectWriter w) {
  w.Uint32("pid", p.pid());
  w.String("name", p.name());
  w.StringList("commandLine", p.command_line());
  w.String("executable", p.executable());
  w.Uint32("uid", p.uid());
  w.String("user", p.user());
  w.String("unit", p.unit());
  w.String("userUnit", p.user_unit());
  w.String("containerRuntime", p.container_runtime());
  w.String("containerId", p.container_id());
  w.String("cgroup", p.cgroup());
  w.Bool("exited", p.exited());
  w.Enum("method", v1::AttributionMethod_descriptor(), p.method());
  if (p.has_started()) w.Timestamp("started", p.started().seconds(), p.started().nanos());
  w.ObjectList("lineage", p.lineage(), [](const v1::ProcessAncestor& a, JsonObjectWriter& o) {
    o.Uint32("pid", a.pid());
    o.String("name", a.name());
  });
  w.Uint32("netnsInode", p.netns_inode());
  w.String("netnsName", p.netns_name());
  w.Bool("ebpf", p.ebpf());
  if (p.has_kubernetes()) {
    const v1::KubernetesInfo& k = p.kubernetes();
    JsonObjectWriter o = w.Object("kubernetes");
    o.String("pod", k.pod());
    o.String("namespace", k.namespace_());
    o.String("container", k.container());
    o.String("podUid", k.pod_uid());
  }
}

JsonObjectWriter::JsonObjectWriter(std::string* out, bool* ok) : out_(out), ok_(ok) {
  out_->push_back('{');
}

JsonObjectWriter::~JsonObjectWriter() { out_->push_back('}'); }

// Names are the fields' json_name: plain identifiers, nothing to escape.
void JsonObjectWriter::Key(std::string_view name) {
  char buf[64];
  if (name.size() > sizeof(buf) - 4) {
    out_->append(first_ ? "\"" : ",\"");
    out_->append(name);
    out_->append("\":");
  } else {
    // One append of `,"name":`: this runs for every member written.
    size_t n = 0;
    if (!first_) buf[n++] = ',';
    buf[n++] = '"';
    std::memcpy(buf + n, name.data(), name.size());
    n += name.size();
    buf[n++] = '"';
    buf[n++] = ':';
    out_->append(buf, n);
  }
  first_ = false;
}

void JsonObjectWriter::String(std::string_view name, std::string_view v) {
  if (v.empty()) return;
  Key(name);
  AppendJsonString(v, out_);
}

void JsonObjectWriter::Uint32(std::string_view name, uint32_t v) {
  if (v == 0) return;
  Key(name);
  AppendInt(v, out_);
}

// 64-bit integers are strings in proto3 JSON (JavaScript's numbers lose
// precision past 2^53).
void JsonObjectWriter::Uint64(std::string_view name, uint64_t v) {
  if (v == 0) return;
  Key(name);
  out_->push_back('"');
  AppendInt(v, out_);
  out_->push_back('"');
}

void JsonObjectWriter::Bool(std::string_view name, bool v) {
  if (!v) return;
  Key(name);
  out_->append("true");
}

// Left out only when the bits are zero: -0.0 is written ("-0").
void JsonObjectWriter::Double(std::string_view name, double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(bits));
  if (bits == 0) return;
  Key(name);
  if (std::isnan(v)) {
    out_->append("\"NaN\"");
  } else if (std::isinf(v)) {
    out_->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    AppendDouble(v, out_);
  }
}

void JsonObjectWriter::Enum(std::string_view name, const google::protobuf::EnumDescriptor* type,
                            int v) {
  if (v == 0) return;
  Key(name);
  const google::protobuf::EnumValueDescriptor* value = type->FindValueByNumber(v);
  if (value == nullptr) {
    AppendInt(v, out_);
    return;
  }
  out_->push_back('"');
  out_->append(value->name());
  out_->push_back('"');
}

// RFC 3339 in UTC, years 0001..9999.
void JsonObjectWriter::Timestamp(std::string_view name, int64_t seconds, int32_t nanos) {
  constexpr int64_t kMinSeconds = -62'135'596'800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253'402'300'799;  // 9999-12-31T23:59:59Z
  if (seconds < kMinSeconds || seconds > kMaxSeconds || nanos < 0 || nanos >= 1'000'000'000) {
    *ok_ = false;
    return;
  }
  Key(name);
  int64_t days = seconds / 86'400;
  int64_t rest = seconds % 86'400;
  if (rest < 0) {
    rest += 86'400;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's civil_from_days;
  // proleptic Gregorian).
  const int64_t z = days + 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t doe = z - era * 146'097;
  const int64_t yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  out_->push_back('"');
  AppendPadded(year, 4, out_);
  out_->push_back('-');
  AppendPadded(month, 2, out_);
  out_->push_back('-');
  AppendPadded(day, 2, out_);
  out_->push_back('T');
  AppendPadded(rest / 3'600, 2, out_);
  out_->push_back(':');
  AppendPadded(rest / 60 % 60, 2, out_);
  out_->push_back(':');
  AppendPadded(rest % 60, 2, out_);
  AppendNanos(nanos, out_);
  out_->append("Z\"");
}

// "-1.5s": seconds and nanos carry the same sign.
void JsonObjectWriter::Duration(std::string_view name, int64_t seconds, int32_t nanos) {
  constexpr int64_t kMaxSeconds = 315'576'000'000;  // 10,000 years
  if (seconds < -kMaxSeconds || seconds > kMaxSeconds || nanos <= -1'000'000'000 ||
      nanos >= 1'000'000'000 || (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) {
    *ok_ = false;
    return;
  }
  Key(name);
  out_->push_back('"');
  if (seconds < 0 || nanos < 0) {
    out_->push_back('-');
    seconds = -seconds;
    nanos = -nanos;
  }
  AppendInt(seconds, out_);
  AppendNanos(nanos, out_);
  out_->append("s\"");
}

JsonObjectWriter JsonObjectWriter::Object(std::string_view name) {
  Key(name);
  return {out_, ok_};
}

void AppendJsonString(std::string_view value, std::string* out) {
  const auto* s = reinterpret_cast<const uint8_t*>(value.data());
  const size_t n = value.size();
  out->push_back('"');
  size_t i = 0;
  while (i < n) {
    // Runs that need no escaping are copied whole.
    size_t end = i;
    while (end < n && s[end] < 0x80 && kAsciiEscapes.escape[s[end]] == nullptr) ++end;
    out->append(value.data() + i, end - i);
    i = end;
    if (i == n) break;
    const uint8_t lead = s[i];
    if (lead < 0x80) {
      out->append(kAsciiEscapes.escape[lead]);
      ++i;
      continue;
    }
    // A UTF-8 sequence (RFC 3629 §3): the lead byte says how many
    // continuation bytes (10xxxxxx) follow.
    int follow = 0;
    uint32_t cp = 0;
    uint32_t min = 0;  // Smaller is an overlong encoding.
    if (lead >= 0xc0 && lead <= 0xdf) {
      follow = 1;
      cp = lead & 0x1fu;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      follow = 2;
      cp = lead & 0x0fu;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf7) {
      follow = 3;
      cp = lead & 0x07u;
      min = 0x10000;
    } else {
      ++i;  // A stray continuation byte, or 0xf8..0xff: dropped.
      continue;
    }
    size_t j = i + 1;
    bool valid = true;
    for (int k = 0; k < follow; ++k) {
      if (j == n) {
        valid = false;  // Cut off by the end.
        break;
      }
      const uint8_t c = s[j++];  // Consumed even when it is not a continuation, as protobuf does.
      if ((c & 0xc0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (c & 0x3fu);
    }
    valid = valid && cp >= min && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    if (valid && !AppendNonAsciiEscape(cp, out)) out->append(value.data() + i, j - i);
    i = j;
  }
  out->push_back('"');
}

bool AppendConnectionJson(const v1::Connection& m, std::string* out) {
  const size_t start = out->size();
  bool ok = true;
  {
    JsonObjectWriter w(out, &ok);
    w.Uint64("id", m.id());
    w.Enum("protocol", v1::Protocol_descriptor(), m.protocol());
    w.Uint32("ipVersion", m.ip_version());
    if (m.has_local()) WriteEndpoint(m.local(), w.Object("local"));
    if (m.has_remote()) WriteEndpoint(m.remote(), w.Object("remote"));
    w.Enum("direction", v1::Direction_descriptor(), m.direction());
    w.Enum("state", v1::ConnectionState_descriptor(), m.state());
    if (m.has_first_seen())
      w.Timestamp("firstSeen", m.first_seen().seconds(), m.first_seen().nanos());
    if (m.has_last_seen()) w.Timestamp("lastSeen", m.last_seen().seconds(), m.last_seen().nanos());
    if (m.has_sent()) WriteCounters(m.sent(), w.Object("sent"));
    if (m.has_received()) WriteCounters(m.received(), w.Object("received"));
    w.Double("rateIn", m.rate_in());
    w.Double("rateOut", m.rate_out());
    w.String("service", m.service());
    if (m.has_tcp()) {
      const v1::TcpHealth& t = m.tcp();
      JsonObjectWriter o = w.Object("tcp");
      if (t.has_handshake_rtt())
        o.Duration("handshakeRtt", t.handshake_rtt().seconds(), t.handshake_rtt().nanos());
      o.Uint64("retransmissions", t.retransmissions());
      o.Uint64("outOfOrder", t.out_of_order());
      o.Uint64("zeroWindows", t.zero_windows());
      o.Uint32("flagsSeen", t.flags_seen());
      if (t.has_srtt()) o.Duration("srtt", t.srtt().seconds(), t.srtt().nanos());
      if (t.has_rttvar()) o.Duration("rttvar", t.rttvar().seconds(), t.rttvar().nanos());
      if (t.has_local_leg_rtt())
        o.Duration("localLegRtt", t.local_leg_rtt().seconds(), t.local_leg_rtt().nanos());
      if (t.has_remote_leg_rtt())
        o.Duration("remoteLegRtt", t.remote_leg_rtt().seconds(), t.remote_leg_rtt().nanos());
    }
    if (m.has_icmp()) {
      JsonObjectWriter o = w.Object("icmp");
      o.Uint32("echoId", m.icmp().echo_id());
      o.Uint32("lastType", m.icmp().last_type());
      o.Uint32("lastCode", m.icmp().last_code());
    }
    if (m.has_arp()) {
      JsonObjectWriter o = w.Object("arp");
      o.Uint64("requests", m.arp().requests());
      o.Uint64("replies", m.arp().replies());
      o.String("resolvedMac", m.arp().resolved_mac());
    }
    w.String("interface", m.interface());
    w.Uint64("fragments", m.fragments());
    if (m.has_app()) WriteApp(m.app(), w.Object("app"));
    w.String("hostname", m.hostname());
    w.String("hostnameSource", m.hostname_source());
    if (m.has_process()) WriteProcessInfoJson(m.process(), w.Object("process"));
    if (m.has_remote_process()) WriteProcessInfoJson(m.remote_process(), w.Object("remoteProcess"));
    w.Bool("closed", m.closed());
    if (m.has_closed_at()) w.Timestamp("closedAt", m.closed_at().seconds(), m.closed_at().nanos());
    w.Enum("closeReason", v1::CloseReason_descriptor(), m.close_reason());
    // Enrichment (the API's; see daemon/rpc/enrichment.h).
    if (m.has_remote_location()) WriteLocation(m.remote_location(), w.Object("remoteLocation"));
    if (m.has_local_location()) WriteLocation(m.local_location(), w.Object("localLocation"));
    if (m.has_local_mac_vendor()) {
      WriteMacVendor(m.local_mac_vendor(), w.Object("localMacVendor"));
    }
    if (m.has_remote_mac_vendor()) {
      WriteMacVendor(m.remote_mac_vendor(), w.Object("remoteMacVendor"));
    }
    w.Bool("ownLookup", m.own_lookup());
    if (m.has_idle_timeout()) {
      w.Duration("idleTimeout", m.idle_timeout().seconds(), m.idle_timeout().nanos());
    }
  }
  if (!ok) out->resize(start);
  return ok;
}

}  // namespace rustnet
