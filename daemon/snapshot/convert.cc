#include "daemon/snapshot/convert.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/services.h"
#include "daemon/snapshot/json_writer.h"

namespace rustnet {
namespace {

struct SecondsNanos {
  int64_t seconds;
  int32_t nanos;
};

// Floor division, so negative times still give nanos in [0, 1e9) as the
// Timestamp and Duration JSON mappings require.
SecondsNanos SplitUs(int64_t us) {
  int64_t seconds = us / 1'000'000;
  int64_t rest = us % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  return {seconds, static_cast<int32_t>(rest * 1000)};
}

// Timestamp's JSON form only spans years 0001..9999.
SecondsNanos TimestampOfUs(int64_t us) {
  constexpr int64_t kMaxUs = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999Z
  constexpr int64_t kMinUs = -62'135'596'800'000'000;  // 0001-01-01T00:00:00Z
  return SplitUs(std::clamp(us, kMinUs, kMaxUs));
}

template <typename T>
void SetSecondsNanos(SecondsNanos v, T* t) {
  t->set_seconds(v.seconds);
  t->set_nanos(v.nanos);
}

void SetTimestamp(int64_t us, google::protobuf::Timestamp* t) { SetTimestampUs(us, t); }

rustnet::v1::Protocol ProtocolOf(uint8_t p) {
  switch (p) {
    case kIpProtoTcp: return rustnet::v1::PROTOCOL_TCP;
    case kIpProtoUdp: return rustnet::v1::PROTOCOL_UDP;
    case kIpProtoIcmp: return rustnet::v1::PROTOCOL_ICMP;
    case kIpProtoIcmpv6: return rustnet::v1::PROTOCOL_ICMPV6;
    case kPseudoProtoArp: return rustnet::v1::PROTOCOL_ARP;
    default: return rustnet::v1::PROTOCOL_UNSPECIFIED;
  }
}

bool IsZero(const MacAddress& m) {
  for (uint8_t b : m) {
    if (b != 0) return false;
  }
  return true;
}

bool HasPorts(const Connection& c) {
  return c.key.protocol == kIpProtoTcp || c.key.protocol == kIpProtoUdp;
}

// The service name from the server port; empty without ports.
std::string_view ServiceOf(const Connection& c) {
  if (!HasPorts(c)) return {};
  const int resp = 1 - c.initiator;
  const uint16_t init_port = c.initiator == 0 ? c.key.port_a : c.key.port_b;
  const uint16_t resp_port = resp == 0 ? c.key.port_a : c.key.port_b;
  return ServiceForConnection(c.key.protocol, init_port, resp_port);
}

// An endpoint's address and MAC as text, without allocating.
struct EndpointText {
  EndpointText(const Connection& c, int side) {
    address_size = (side == 0 ? c.key.addr_a : c.key.addr_b).Format(address);
    if (!IsZero(c.mac[side])) {
      FormatMac(c.mac[side], mac);
      mac_size = kMacTextSize;
    }
  }
  std::string_view Address() const { return {address, address_size}; }
  std::string_view Mac() const { return {mac, mac_size}; }

  char address[IpAddress::kMaxTextSize];
  size_t address_size = 0;
  char mac[kMacTextSize];
  size_t mac_size = 0;
};

void FillEndpoint(const Connection& c, int side, rustnet::v1::Endpoint* e) {
  const EndpointText text(c, side);
  e->mutable_address()->assign(text.Address());
  if (HasPorts(c)) e->set_port(side == 0 ? c.key.port_a : c.key.port_b);
  if (text.mac_size > 0) e->mutable_mac()->assign(text.Mac());
}

void FillTls(const TlsFacts& t, rustnet::v1::TlsInfo* out) {
  out->set_sni(t.sni);
  for (const std::string& a : t.alpn) out->add_alpn(a);
  for (const std::string& v : t.offered_versions) out->add_offered_versions(v);
  out->set_version(t.version);
  out->set_cipher_suite(t.cipher_suite);
  out->set_ech_offered(t.ech_offered);
  out->set_ja4(t.ja4);
  out->set_certificate_cn(t.certificate_cn);
  for (const std::string& n : t.certificate_names) out->add_certificate_names(n);
}

void FillDns(const DnsFacts& f, rustnet::v1::DnsInfo* d) {
  d->set_query(f.query);
  d->set_query_type(f.query_type);
  d->set_response_code(f.response_code);
  for (const std::string& a : f.answers) d->add_answers(a);
  d->set_over_tcp(f.over_tcp);
  for (const DnsRecordFacts& r : f.records) {
    auto* o = d->add_records();
    o->set_type(r.type);
    o->set_name(r.name);
    o->set_target(r.target);
    o->set_port(r.port);
    o->set_priority(r.priority);
    for (const std::string& a : r.alpn) o->add_alpn(a);
    o->set_txt_length(r.txt_length);
  }
  d->set_suspicious_name(f.suspicious_name);
  d->set_unusual_name(f.unusual_name);
  d->set_opcode(f.opcode);
}

// Which sub-records the protocols of daemon/dpi/{mail,ftp,db,remote,lan}.cc
// carry (FillNewerApp and WriteNewerApp agree through it).
struct NewerParts {
  bool http = false, tls = false, dns = false, mail = false, ftp = false, db = false,
       lan = false;
};
NewerParts NewerPartsOf(const AppRecord& r) {
  NewerParts p;
  switch (r.protocol) {
    case AppProtocol::kSmtp: case AppProtocol::kImap: case AppProtocol::kPop3:
      p.mail = true;
      p.tls = r.tls->client_hello_seen;
      break;
    case AppProtocol::kFtp:
      p.mail = p.ftp = true;
      p.tls = r.tls->client_hello_seen;
      break;
    case AppProtocol::kSmtps: case AppProtocol::kImaps: case AppProtocol::kPops:
      p.tls = true;
      break;
    case AppProtocol::kFtpData:
      p.ftp = true;
      break;
    case AppProtocol::kPostgresql: case AppProtocol::kMysql: case AppProtocol::kRedis:
    case AppProtocol::kMemcached: case AppProtocol::kMongodb:
      p.db = true;
      p.tls = r.tls->client_hello_seen;  // PostgreSQL after SSLRequest.
      break;
    case AppProtocol::kRdp:
      p.lan = true;
      p.tls = r.tls->client_hello_seen;
      break;
    case AppProtocol::kVnc: case AppProtocol::kSmb: case AppProtocol::kNetbiosNs:
    case AppProtocol::kNetbiosSession: case AppProtocol::kSsdp: case AppProtocol::kKerberos:
      p.lan = true;
      break;
    case AppProtocol::kLlmnr:
      p.dns = true;
      break;
    case AppProtocol::kHttp2:  // After an HTTP/1.1 h2c upgrade: its request.
      p.http = !r.http->method.empty();
      break;
    default:
      break;
  }
  return p;
}

void FillHttp(const HttpFacts& f, rustnet::v1::HttpInfo* h) {
  h->set_method(f.method);
  h->set_host(f.host);
  h->set_path(f.path);
  h->set_user_agent(f.user_agent);
  h->set_status(f.status);
  h->set_version(f.version);
}

void FillNewerApp(const AppRecord& r, rustnet::v1::AppInfo* app) {
  const NewerParts p = NewerPartsOf(r);
  if (p.http) FillHttp(r.http, app->mutable_http());
  if (p.tls) FillTls(r.tls, app->mutable_tls());
  if (p.dns) FillDns(r.dns, app->mutable_dns());
  if (p.mail) {
    auto* m = app->mutable_mail();
    m->set_greeting(r.mail->greeting);
    m->set_client_domain(r.mail->client_domain);
    m->set_starttls(r.mail->starttls);
  }
  if (p.ftp) {
    auto* f = app->mutable_ftp();
    f->set_user(r.ftp->user);
    f->set_control_connection_id(r.ftp->control_id);
    f->set_data_endpoint(r.ftp->data_endpoint);
  }
  if (p.db) {
    auto* d = app->mutable_database();
    d->set_user(r.db->user);
    d->set_database(r.db->database);
    d->set_server_version(r.db->server_version);
    d->set_command(r.db->command);
    d->set_tls_requested(r.db->tls_requested);
  }
  if (p.lan) {
    auto* l = app->mutable_lan();
    l->set_user(r.lan->user);
    l->set_version(r.lan->version);
    l->set_name(r.lan->name);
    l->set_agent(r.lan->agent);
    l->set_message_type(r.lan->message_type);
    l->set_tls(r.lan->tls);
  }
}

void FillApp(const AppRecord& r, rustnet::v1::Connection* conn) {
  auto* app = conn->mutable_app();
  app->set_protocol(static_cast<rustnet::v1::AppProtocol>(r.protocol));
  app->set_label(r.Label());
  switch (r.protocol) {
    case AppProtocol::kHttp:
      FillHttp(r.http, app->mutable_http());
      break;
    case AppProtocol::kTls:
      FillTls(r.tls, app->mutable_tls());
      break;
    case AppProtocol::kDns:
    case AppProtocol::kMdns:
      FillDns(r.dns, app->mutable_dns());
      break;
    case AppProtocol::kSsh: {
      auto* s = app->mutable_ssh();
      s->set_client(r.ssh->client);
      s->set_server(r.ssh->server);
      const SshIdentification c = SplitSshIdentification(r.ssh->client);
      const SshIdentification v = SplitSshIdentification(r.ssh->server);
      s->set_protocol_version(!v.protocol.empty() ? v.protocol : c.protocol);
      s->set_client_software(c.software);
      s->set_server_software(v.software);
      break;
    }
    case AppProtocol::kQuic:
      app->mutable_quic()->set_version(r.quic_version);
      if (r.tls->client_hello_seen) FillTls(r.tls, app->mutable_quic()->mutable_tls());
      break;
    case AppProtocol::kDhcp:
      app->set_dhcp_hostname(r.dhcp_hostname);
      break;
    case AppProtocol::kMqtt: {
      auto* m = app->mutable_mqtt();
      m->set_version(r.mqtt->version);
      m->set_client_id(r.mqtt->client_id);
      m->set_topic(r.mqtt->topic);
      break;
    }
    case AppProtocol::kSip: {
      auto* m = app->mutable_sip();
      m->set_method(r.sip->method);
      m->set_from_domain(r.sip->from_domain);
      m->set_to_domain(r.sip->to_domain);
      m->set_user_agent(r.sip->user_agent);
      break;
    }
    case AppProtocol::kSnmp:
      app->mutable_snmp()->set_version(r.net->snmp_version);
      app->mutable_snmp()->set_pdu_type(r.net->snmp_pdu);
      break;
    case AppProtocol::kTftp:
      app->mutable_tftp()->set_file(r.net->tftp_file);
      app->mutable_tftp()->set_operation(r.net->tftp_op);
      break;
    case AppProtocol::kSocks:
      app->mutable_socks()->set_version(r.net->socks_version);
      app->mutable_socks()->set_target(r.net->socks_target);
      break;
    case AppProtocol::kNtp:
      app->mutable_ntp()->set_version(r.net->ntp_version);
      app->mutable_ntp()->set_mode(std::string(NtpModeName(r.net->ntp_mode)));
      app->mutable_ntp()->set_stratum(r.net->ntp_stratum);
      break;
    case AppProtocol::kDtls:  // After STUN on the same flow (WebRTC): its STUN facts.
      if (r.net->stun_type.empty()) break;
      [[fallthrough]];
    case AppProtocol::kStun:
      app->mutable_stun()->set_message_type(r.net->stun_type);
      app->mutable_stun()->set_mapped_address(r.net->stun_mapped);
      app->mutable_stun()->set_software(r.net->stun_software);
      app->mutable_stun()->set_realm(r.net->stun_realm);
      break;
    default:
      break;
  }
  FillNewerApp(r, app);
}

// --- The same, straight to JSON (AppendJsonLine) ------------------------------
// Field for field what ToProto fills, written as json_writer.h writes the
// message; json_writer_test checks both give the same bytes on every
// fixture.

void WriteEndpoint(const Connection& c, int side, JsonObjectWriter w) {
  const EndpointText text(c, side);
  w.String("address", text.Address());
  if (HasPorts(c)) w.Uint32("port", side == 0 ? c.key.port_a : c.key.port_b);
  w.String("mac", text.Mac());
}

void WriteCounters(uint64_t packets, uint64_t bytes, JsonObjectWriter w) {
  w.Uint64("packets", packets);
  w.Uint64("bytes", bytes);
}

void WriteTimestamp(JsonObjectWriter& w, std::string_view name, int64_t us) {
  const SecondsNanos t = TimestampOfUs(us);
  w.Timestamp(name, t.seconds, t.nanos);
}

void WriteTls(const TlsFacts& t, JsonObjectWriter w) {
  w.String("sni", t.sni);
  w.StringList("alpn", t.alpn);
  w.StringList("offeredVersions", t.offered_versions);
  w.String("version", t.version);
  w.String("cipherSuite", t.cipher_suite);
  w.Bool("echOffered", t.ech_offered);
  w.String("ja4", t.ja4);
  w.String("certificateCn", t.certificate_cn);
  w.StringList("certificateNames", t.certificate_names);
}

void WriteDns(const DnsFacts& d, JsonObjectWriter o) {
  o.String("query", d.query);
  o.String("queryType", d.query_type);
  o.String("responseCode", d.response_code);
  o.StringList("answers", d.answers);
  o.Bool("overTcp", d.over_tcp);
  o.ObjectList("records", d.records, [](const DnsRecordFacts& r, JsonObjectWriter& w) {
    w.String("type", r.type);
    w.String("name", r.name);
    w.String("target", r.target);
    w.Uint32("port", r.port);
    w.Uint32("priority", r.priority);
    w.StringList("alpn", r.alpn);
    w.Uint32("txtLength", r.txt_length);
  });
  o.Bool("suspiciousName", d.suspicious_name);
  o.Bool("unusualName", d.unusual_name);
  o.String("opcode", d.opcode);
}

// In json_writer.cc's order: http, tls, dns, then the newer records after
// dhcpHostname.
void WriteHttp(const HttpFacts& f, JsonObjectWriter h) {
  h.String("method", f.method);
  h.String("host", f.host);
  h.String("path", f.path);
  h.String("userAgent", f.user_agent);
  h.Uint32("status", f.status);
  h.String("version", f.version);
}

void WriteNewerApp(const AppRecord& r, JsonObjectWriter& w) {
  const NewerParts p = NewerPartsOf(r);
  if (p.http) WriteHttp(r.http, w.Object("http"));
  if (p.tls) WriteTls(r.tls, w.Object("tls"));
  if (p.dns) WriteDns(r.dns, w.Object("dns"));
  if (p.mail) {
    JsonObjectWriter m = w.Object("mail");
    m.String("greeting", r.mail->greeting);
    m.String("clientDomain", r.mail->client_domain);
    m.Bool("starttls", r.mail->starttls);
  }
  if (p.ftp) {
    JsonObjectWriter f = w.Object("ftp");
    f.String("user", r.ftp->user);
    f.Uint64("controlConnectionId", r.ftp->control_id);
    f.String("dataEndpoint", r.ftp->data_endpoint);
  }
  if (p.db) {
    JsonObjectWriter d = w.Object("database");
    d.String("user", r.db->user);
    d.String("database", r.db->database);
    d.String("serverVersion", r.db->server_version);
    d.String("command", r.db->command);
    d.Bool("tlsRequested", r.db->tls_requested);
  }
  if (p.lan) {
    JsonObjectWriter l = w.Object("lan");
    l.String("user", r.lan->user);
    l.String("version", r.lan->version);
    l.String("name", r.lan->name);
    l.String("agent", r.lan->agent);
    l.String("messageType", r.lan->message_type);
    l.Bool("tls", r.lan->tls);
  }
}

void WriteApp(const AppRecord& r, JsonObjectWriter w) {
  w.Enum("protocol", rustnet::v1::AppProtocol_descriptor(), static_cast<int>(r.protocol));
  w.String("label", r.Label());
  switch (r.protocol) {
    case AppProtocol::kHttp:
      WriteHttp(r.http, w.Object("http"));
      break;
    case AppProtocol::kTls:
      WriteTls(r.tls, w.Object("tls"));
      break;
    case AppProtocol::kDns:
    case AppProtocol::kMdns:
      WriteDns(r.dns, w.Object("dns"));
      break;
    case AppProtocol::kSsh: {
      JsonObjectWriter o = w.Object("ssh");
      o.String("client", r.ssh->client);
      o.String("server", r.ssh->server);
      const SshIdentification c = SplitSshIdentification(r.ssh->client);
      const SshIdentification v = SplitSshIdentification(r.ssh->server);
      o.String("protocolVersion", !v.protocol.empty() ? v.protocol : c.protocol);
      o.String("clientSoftware", c.software);
      o.String("serverSoftware", v.software);
      break;
    }
    case AppProtocol::kQuic: {
      JsonObjectWriter q = w.Object("quic");
      q.String("version", r.quic_version);
      if (r.tls->client_hello_seen) WriteTls(r.tls, q.Object("tls"));
      break;
    }
    case AppProtocol::kDhcp:
      w.String("dhcpHostname", r.dhcp_hostname);
      break;
    case AppProtocol::kMqtt: {
      JsonObjectWriter o = w.Object("mqtt");
      o.String("version", r.mqtt->version);
      o.String("clientId", r.mqtt->client_id);
      o.String("topic", r.mqtt->topic);
      break;
    }
    case AppProtocol::kSip: {
      JsonObjectWriter o = w.Object("sip");
      o.String("method", r.sip->method);
      o.String("fromDomain", r.sip->from_domain);
      o.String("toDomain", r.sip->to_domain);
      o.String("userAgent", r.sip->user_agent);
      break;
    }
    case AppProtocol::kSnmp: {
      JsonObjectWriter o = w.Object("snmp");
      o.String("version", r.net->snmp_version);
      o.String("pduType", r.net->snmp_pdu);
      break;
    }
    case AppProtocol::kTftp: {
      JsonObjectWriter o = w.Object("tftp");
      o.String("file", r.net->tftp_file);
      o.String("operation", r.net->tftp_op);
      break;
    }
    case AppProtocol::kSocks: {
      JsonObjectWriter o = w.Object("socks");
      o.String("version", r.net->socks_version);
      o.String("target", r.net->socks_target);
      break;
    }
    case AppProtocol::kNtp: {
      JsonObjectWriter o = w.Object("ntp");
      o.Uint32("version", r.net->ntp_version);
      o.String("mode", NtpModeName(r.net->ntp_mode));
      o.Uint32("stratum", r.net->ntp_stratum);
      break;
    }
    case AppProtocol::kDtls:  // After STUN on the same flow (WebRTC): its STUN facts.
      if (r.net->stun_type.empty()) break;
      [[fallthrough]];
    case AppProtocol::kStun: {
      JsonObjectWriter o = w.Object("stun");
      o.String("messageType", r.net->stun_type);
      o.String("mappedAddress", r.net->stun_mapped);
      o.String("software", r.net->stun_software);
      o.String("realm", r.net->stun_realm);
      break;
    }
    default:
      break;
  }
  WriteNewerApp(r, w);
}

void WriteProcess(const SideAttribution& side, JsonObjectWriter w) {
  const ProcessRecord& r = *side.process;
  w.Uint32("pid", r.pid);
  w.String("name", r.name);
  w.StringList("commandLine", r.command_line);
  w.String("executable", r.executable);
  w.Uint32("uid", r.uid);
  w.String("user", r.user);
  w.String("unit", r.unit);
  w.String("userUnit", r.user_unit);
  w.String("containerRuntime", r.container_runtime);
  w.String("containerId", r.container_id);
  w.String("cgroup", r.cgroup);
  w.Bool("exited", r.pid != 0 && r.exited.load(std::memory_order_relaxed));
  w.Enum("method", rustnet::v1::AttributionMethod_descriptor(), static_cast<int>(side.method));
  if (r.started_us > 0) WriteTimestamp(w, "started", r.started_us);
  w.ObjectList("lineage", r.lineage, [](const ProcessRecord::Ancestor& a, JsonObjectWriter& o) {
    o.Uint32("pid", a.pid);
    o.String("name", a.name);
  });
  w.Uint32("netnsInode", r.netns_inode);
  w.String("netnsName", r.netns_name);
  w.Bool("ebpf", side.ebpf);
  if (!r.k8s_pod_uid.empty()) {
    JsonObjectWriter k = w.Object("kubernetes");
    k.String("pod", r.k8s_pod);
    k.String("namespace", r.k8s_namespace);
    k.String("container", r.k8s_container);
    k.String("podUid", r.k8s_pod_uid);
  }
}

}  // namespace

void SetTimestampUs(int64_t us, google::protobuf::Timestamp* out) {
  SetSecondsNanos(TimestampOfUs(us), out);
}

int64_t TimestampToUs(const google::protobuf::Timestamp& t) {
  // A client's seconds may be anything: clamp before multiplying.
  constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000 - 1;
  const int64_t seconds = std::clamp<int64_t>(t.seconds(), -kMaxSeconds, kMaxSeconds);
  const int64_t nanos = std::clamp<int64_t>(t.nanos(), 0, 999'999'999);
  return seconds * 1'000'000 + nanos / 1'000;
}

void SetDurationUs(int64_t us, google::protobuf::Duration* out) {
  SetSecondsNanos(SplitUs(us), out);
}

namespace {

void FillProcess(const SideAttribution& side, rustnet::v1::ProcessInfo* out) {
  const ProcessRecord& r = *side.process;
  out->set_pid(r.pid);
  out->set_name(r.name);
  for (const std::string& arg : r.command_line) out->add_command_line(arg);
  out->set_executable(r.executable);
  out->set_uid(r.uid);
  out->set_user(r.user);
  out->set_unit(r.unit);
  out->set_user_unit(r.user_unit);
  out->set_container_runtime(r.container_runtime);
  out->set_container_id(r.container_id);
  out->set_cgroup(r.cgroup);
  out->set_exited(r.pid != 0 && r.exited.load(std::memory_order_relaxed));
  out->set_method(static_cast<rustnet::v1::AttributionMethod>(side.method));
  if (r.started_us > 0) SetTimestampUs(r.started_us, out->mutable_started());
  for (const ProcessRecord::Ancestor& a : r.lineage) {
    auto* l = out->add_lineage();
    l->set_pid(a.pid);
    l->set_name(a.name);
  }
  out->set_netns_inode(r.netns_inode);
  out->set_netns_name(r.netns_name);
  out->set_ebpf(side.ebpf);
  if (!r.k8s_pod_uid.empty()) {
    auto* k = out->mutable_kubernetes();
    k->set_pod(r.k8s_pod);
    k->set_namespace_(r.k8s_namespace);
    k->set_container(r.k8s_container);
    k->set_pod_uid(r.k8s_pod_uid);
  }
}

}  // namespace

void ToProto(const Connection& c, int64_t now_us, std::string_view interface,
             rustnet::v1::Connection* out) {
  out->Clear();
  const int local = c.local;
  const int remote = 1 - local;
  out->set_id(c.id);
  out->set_protocol(ProtocolOf(c.key.protocol));
  out->set_ip_version(c.key.ip_version);
  FillEndpoint(c, local, out->mutable_local());
  FillEndpoint(c, remote, out->mutable_remote());
  out->set_direction(c.initiator == local ? rustnet::v1::DIRECTION_OUTBOUND
                                          : rustnet::v1::DIRECTION_INBOUND);
  out->set_state(static_cast<rustnet::v1::ConnectionState>(c.state));
  SetTimestamp(c.first_seen_us, out->mutable_first_seen());
  SetTimestamp(c.last_seen_us, out->mutable_last_seen());
  // Direction index d counts packets from endpoint d.
  out->mutable_sent()->set_packets(c.packets[local]);
  out->mutable_sent()->set_bytes(c.bytes[local]);
  out->mutable_received()->set_packets(c.packets[remote]);
  out->mutable_received()->set_bytes(c.bytes[remote]);
  out->set_rate_out(c.rate[local].Rate(now_us));
  out->set_rate_in(c.rate[remote].Rate(now_us));
  out->mutable_service()->assign(ServiceOf(c));
  switch (c.key.protocol) {
    case kIpProtoTcp: {
      auto* tcp = out->mutable_tcp();
      if (c.tcp.handshake_rtt_us > 0) {
        SetDurationUs(c.tcp.handshake_rtt_us, tcp->mutable_handshake_rtt());
      }
      tcp->set_retransmissions(c.tcp.retransmissions);
      tcp->set_out_of_order(c.tcp.out_of_order);
      tcp->set_zero_windows(c.tcp.zero_windows);
      tcp->set_flags_seen(c.tcp_flags_seen);
      if (c.tcp.rtt.has_rtt()) {
        SetDurationUs(c.tcp.rtt.srtt_us(), tcp->mutable_srtt());
        SetDurationUs(c.tcp.rtt.rttvar_us(), tcp->mutable_rttvar());
      }
      if (const uint32_t us = c.tcp.rtt.leg_srtt_us(local); us > 0) {
        SetDurationUs(us, tcp->mutable_local_leg_rtt());
      }
      if (const uint32_t us = c.tcp.rtt.leg_srtt_us(remote); us > 0) {
        SetDurationUs(us, tcp->mutable_remote_leg_rtt());
      }
      break;
    }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6: {
      auto* icmp = out->mutable_icmp();
      icmp->set_echo_id(c.key.port_a);
      icmp->set_last_type(c.icmp.type);
      icmp->set_last_code(c.icmp.code);
      break;
    }
    case kPseudoProtoArp: {
      auto* arp = out->mutable_arp();
      arp->set_requests(c.arp.requests);
      arp->set_replies(c.arp.replies);
      if (!IsZero(c.arp.resolved)) arp->set_resolved_mac(MacToString(c.arp.resolved));
      break;
    }
    default:
      break;
  }
  out->mutable_interface()->assign(interface);
  out->set_fragments(c.fragments);
  if (c.app) FillApp(*c.app, out);
  if (std::optional<Hostname> host = HostnameOf(c)) {
    out->set_hostname(std::move(host->name));
    out->mutable_hostname_source()->assign(host->source);
  }
  if (c.attribution) {
    const SideAttribution& mine = c.attribution->side[c.local];
    const SideAttribution& theirs = c.attribution->side[1 - c.local];
    if (mine.process) FillProcess(mine, out->mutable_process());
    if (theirs.process) FillProcess(theirs, out->mutable_remote_process());
  }
}

void AppendJsonLine(const Connection& c, int64_t now_us, std::string_view interface,
                    std::string* out) {
  // In ToProto's order, which is the field numbers'.
  const int local = c.local;
  const int remote = 1 - local;
  bool ok = true;  // Always: times are clamped into range.
  JsonObjectWriter w(out, &ok);
  w.Uint64("id", c.id);
  w.Enum("protocol", rustnet::v1::Protocol_descriptor(), ProtocolOf(c.key.protocol));
  w.Uint32("ipVersion", c.key.ip_version);
  WriteEndpoint(c, local, w.Object("local"));
  WriteEndpoint(c, remote, w.Object("remote"));
  w.Enum("direction", rustnet::v1::Direction_descriptor(),
         c.initiator == local ? rustnet::v1::DIRECTION_OUTBOUND : rustnet::v1::DIRECTION_INBOUND);
  w.Enum("state", rustnet::v1::ConnectionState_descriptor(), static_cast<int>(c.state));
  WriteTimestamp(w, "firstSeen", c.first_seen_us);
  WriteTimestamp(w, "lastSeen", c.last_seen_us);
  WriteCounters(c.packets[local], c.bytes[local], w.Object("sent"));
  WriteCounters(c.packets[remote], c.bytes[remote], w.Object("received"));
  w.Double("rateIn", c.rate[remote].Rate(now_us));
  w.Double("rateOut", c.rate[local].Rate(now_us));
  w.String("service", ServiceOf(c));
  switch (c.key.protocol) {
    case kIpProtoTcp: {
      JsonObjectWriter tcp = w.Object("tcp");
      if (c.tcp.handshake_rtt_us > 0) {
        const SecondsNanos rtt = SplitUs(c.tcp.handshake_rtt_us);
        tcp.Duration("handshakeRtt", rtt.seconds, rtt.nanos);
      }
      tcp.Uint64("retransmissions", c.tcp.retransmissions);
      tcp.Uint64("outOfOrder", c.tcp.out_of_order);
      tcp.Uint64("zeroWindows", c.tcp.zero_windows);
      tcp.Uint32("flagsSeen", c.tcp_flags_seen);
      if (c.tcp.rtt.has_rtt()) {
        const SecondsNanos srtt = SplitUs(c.tcp.rtt.srtt_us());
        tcp.Duration("srtt", srtt.seconds, srtt.nanos);
        const SecondsNanos rttvar = SplitUs(c.tcp.rtt.rttvar_us());
        tcp.Duration("rttvar", rttvar.seconds, rttvar.nanos);
      }
      if (const uint32_t us = c.tcp.rtt.leg_srtt_us(local); us > 0) {
        const SecondsNanos leg = SplitUs(us);
        tcp.Duration("localLegRtt", leg.seconds, leg.nanos);
      }
      if (const uint32_t us = c.tcp.rtt.leg_srtt_us(remote); us > 0) {
        const SecondsNanos leg = SplitUs(us);
        tcp.Duration("remoteLegRtt", leg.seconds, leg.nanos);
      }
      break;
    }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6: {
      JsonObjectWriter icmp = w.Object("icmp");
      icmp.Uint32("echoId", c.key.port_a);
      icmp.Uint32("lastType", c.icmp.type);
      icmp.Uint32("lastCode", c.icmp.code);
      break;
    }
    case kPseudoProtoArp: {
      JsonObjectWriter arp = w.Object("arp");
      arp.Uint64("requests", c.arp.requests);
      arp.Uint64("replies", c.arp.replies);
      if (!IsZero(c.arp.resolved)) {
        char mac[kMacTextSize];
        FormatMac(c.arp.resolved, mac);
        arp.String("resolvedMac", std::string_view(mac, sizeof(mac)));
      }
      break;
    }
    default:
      break;
  }
  w.String("interface", interface);
  w.Uint64("fragments", c.fragments);
  if (c.app) WriteApp(*c.app, w.Object("app"));
  if (const std::optional<Hostname> host = HostnameOf(c)) {
    w.String("hostname", host->name);
    w.String("hostnameSource", host->source);
  }
  if (c.attribution) {
    const SideAttribution& mine = c.attribution->side[c.local];
    const SideAttribution& theirs = c.attribution->side[1 - c.local];
    if (mine.process) WriteProcess(mine, w.Object("process"));
    if (theirs.process) WriteProcess(theirs, w.Object("remoteProcess"));
  }
}

std::string ToJsonLine(const rustnet::v1::Connection& message) {
  std::string json;
  AppendJsonLine(message, &json);
  return json;
}

void AppendJsonLine(const rustnet::v1::Connection& message, std::string* out) {
  if (!AppendConnectionJson(message, out)) {
    // Only out-of-range values can do this; say so in-band rather than
    // printing a truncated line.
    absl::StrAppend(out, "{\"id\":\"", message.id(), "\",\"error\":\"not representable in JSON\"}");
  }
}

std::optional<Hostname> HostnameOf(const Connection& c) {
  if (c.app) {
    std::string name = c.app->Hostname();
    if (!name.empty()) return Hostname{std::move(name), c.app->HostnameSource()};
  }
  if (c.dns_name) return Hostname{*c.dns_name, "dns-cache"};
  return std::nullopt;
}


}  // namespace rustnet
