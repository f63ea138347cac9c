#include "daemon/snapshot/convert.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/services.h"

namespace rustnet {
namespace {

// Floor division, so negative times still give nanos in [0, 1e9) as the
// Timestamp and Duration JSON mappings require.
template <typename T>
void SetSecondsNanos(int64_t us, T* t) {
  int64_t seconds = us / 1'000'000;
  int64_t rest = us % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(rest * 1000));
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

void FillEndpoint(const Connection& c, int side, rustnet::v1::Endpoint* e) {
  const IpAddress& addr = side == 0 ? c.key.addr_a : c.key.addr_b;
  e->set_address(addr.ToString());
  const bool has_ports = c.key.protocol == kIpProtoTcp || c.key.protocol == kIpProtoUdp;
  if (has_ports) e->set_port(side == 0 ? c.key.port_a : c.key.port_b);
  if (!IsZero(c.mac[side])) e->set_mac(MacToString(c.mac[side]));
}

void FillTls(const TlsFacts& t, rustnet::v1::TlsInfo* out) {
  out->set_sni(t.sni);
  for (const std::string& a : t.alpn) out->add_alpn(a);
  for (const std::string& v : t.offered_versions) out->add_offered_versions(v);
  out->set_version(t.version);
  out->set_cipher_suite(t.cipher_suite);
  out->set_ech_offered(t.ech_offered);
  out->set_ja4(t.ja4);
}

void FillApp(const AppRecord& r, rustnet::v1::Connection* conn) {
  auto* app = conn->mutable_app();
  app->set_protocol(static_cast<rustnet::v1::AppProtocol>(r.protocol));
  app->set_label(r.Label());
  switch (r.protocol) {
    case AppProtocol::kHttp: {
      auto* h = app->mutable_http();
      h->set_method(r.http.method);
      h->set_host(r.http.host);
      h->set_path(r.http.path);
      h->set_user_agent(r.http.user_agent);
      h->set_status(r.http.status);
      h->set_version(r.http.version);
      break;
    }
    case AppProtocol::kTls:
      FillTls(r.tls, app->mutable_tls());
      break;
    case AppProtocol::kDns:
    case AppProtocol::kMdns: {
      auto* d = app->mutable_dns();
      d->set_query(r.dns.query);
      d->set_query_type(r.dns.query_type);
      d->set_response_code(r.dns.response_code);
      for (const std::string& a : r.dns.answers) d->add_answers(a);
      d->set_over_tcp(r.dns.over_tcp);
      break;
    }
    case AppProtocol::kSsh:
      app->mutable_ssh()->set_client(r.ssh.client);
      app->mutable_ssh()->set_server(r.ssh.server);
      break;
    case AppProtocol::kQuic:
      app->mutable_quic()->set_version(r.quic_version);
      if (r.tls.client_hello_seen) FillTls(r.tls, app->mutable_quic()->mutable_tls());
      break;
    case AppProtocol::kDhcp:
      app->set_dhcp_hostname(r.dhcp_hostname);
      break;
    default:
      break;
  }
  const std::string host = r.Hostname();
  if (!host.empty()) {
    conn->set_hostname(host);
    conn->set_hostname_source(std::string(r.HostnameSource()));
  }
}

}  // namespace

// Timestamp's JSON form only spans years 0001..9999.
void SetTimestampUs(int64_t us, google::protobuf::Timestamp* out) {
  constexpr int64_t kMaxUs = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999Z
  constexpr int64_t kMinUs = -62'135'596'800'000'000;  // 0001-01-01T00:00:00Z
  SetSecondsNanos(std::clamp(us, kMinUs, kMaxUs), out);
}

void SetDurationUs(int64_t us, google::protobuf::Duration* out) { SetSecondsNanos(us, out); }

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
  if (c.key.protocol == kIpProtoTcp || c.key.protocol == kIpProtoUdp) {
    const int resp = 1 - c.initiator;
    const uint16_t init_port = c.initiator == 0 ? c.key.port_a : c.key.port_b;
    const uint16_t resp_port = resp == 0 ? c.key.port_a : c.key.port_b;
    out->set_service(std::string(ServiceForConnection(c.key.protocol, init_port, resp_port)));
  }
  switch (c.key.protocol) {
    case kIpProtoTcp: {
      auto* tcp = out->mutable_tcp();
      if (c.handshake_rtt_us > 0) {
        SetSecondsNanos(c.handshake_rtt_us, tcp->mutable_handshake_rtt());
      }
      tcp->set_retransmissions(c.retransmissions);
      tcp->set_out_of_order(c.out_of_order);
      tcp->set_zero_windows(c.zero_windows);
      tcp->set_flags_seen(c.tcp_flags_seen);
      break;
    }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6: {
      auto* icmp = out->mutable_icmp();
      icmp->set_echo_id(c.key.port_a);
      icmp->set_last_type(c.icmp_type);
      icmp->set_last_code(c.icmp_code);
      break;
    }
    case kPseudoProtoArp: {
      auto* arp = out->mutable_arp();
      arp->set_requests(c.arp_requests);
      arp->set_replies(c.arp_replies);
      if (!IsZero(c.arp_resolved)) arp->set_resolved_mac(MacToString(c.arp_resolved));
      break;
    }
    default:
      break;
  }
  out->set_interface(std::string(interface));
  out->set_fragments(c.fragments);
  if (c.app) FillApp(*c.app, out);
  if (out->hostname().empty() && c.dns_name) {
    out->set_hostname(*c.dns_name);
    out->set_hostname_source("dns-cache");
  }
  if (c.attribution) {
    const SideAttribution& mine = c.attribution->side[c.local];
    const SideAttribution& theirs = c.attribution->side[1 - c.local];
    if (mine.process) FillProcess(mine, out->mutable_process());
    if (theirs.process) FillProcess(theirs, out->mutable_remote_process());
  }
}

std::string ToJsonLine(const rustnet::v1::Connection& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;  // lowerCamelCase, as proto3 JSON
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only out-of-range values can do this; say so in-band rather than
    // printing a truncated line.
    return absl::StrCat("{\"id\":\"", message.id(), "\",\"error\":\"not representable in JSON\"}");
  }
  return json;
}

}  // namespace rustnet
