#include "daemon/snapshot/convert.h"

#include <google/protobuf/util/json_util.h>

#include "common/services.h"

namespace rustnet {
namespace {

void SetTimestamp(int64_t us, google::protobuf::Timestamp* t) {
  t->set_seconds(us / 1'000'000);
  t->set_nanos(static_cast<int32_t>((us % 1'000'000) * 1000));
}

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
        tcp->mutable_handshake_rtt()->set_seconds(c.handshake_rtt_us / 1'000'000);
        tcp->mutable_handshake_rtt()->set_nanos(
            static_cast<int32_t>((c.handshake_rtt_us % 1'000'000) * 1000));
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
}

std::string ToJsonLine(const rustnet::v1::Connection& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;  // lowerCamelCase, as proto3 JSON
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace rustnet
