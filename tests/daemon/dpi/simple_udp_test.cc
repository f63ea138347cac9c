// NTP, DHCP, STUN and mDNS from hand-built datagrams: each recognised by
// content (a port is only a hint), every truncation refused without a
// crash, and malformed cases named after their defect.
#include "daemon/dpi/simple_udp.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/dns.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;

// RFC 5905 §7.3: LI 0, version `version`, mode `mode`, stratum, 48 bytes.
Bytes Ntp(uint8_t version, uint8_t mode, uint8_t stratum = 2) {
  Bytes b(48, 0);
  b[0] = static_cast<uint8_t>((version << 3) | mode);
  b[1] = stratum;
  b[2] = 6;     // Poll.
  b[3] = 0xec;  // Precision.
  b[40] = 0xe9;  // Transmit timestamp (seconds, 2024).
  return b;
}

// RFC 2131 §2 fixed part, the magic cookie, then `options` (an End is
// appended unless `end` is false).
Bytes Dhcp(uint8_t op, const Bytes& options, bool end = true) {
  Bytes b(236, 0);
  b[0] = op;
  b[1] = 1;  // htype Ethernet.
  b[2] = 6;  // hlen.
  b[4] = 0x39;  // xid.
  for (int i = 0; i < 6; ++i) b[28 + static_cast<size_t>(i)] = static_cast<uint8_t>(0x10 + i);
  PutBytes(b, {0x63, 0x82, 0x53, 0x63});
  PutBytes(b, options);
  if (end) Put8(b, 255);
  return b;
}

Bytes Option(uint8_t code, const std::string& value) {
  Bytes b = {code, static_cast<uint8_t>(value.size())};
  PutBytes(b, testing::Text(value));
  return b;
}

// RFC 8489 §5: type, length, magic cookie, 12-byte transaction id, then
// attributes (`attributes` bytes, a multiple of 4).
Bytes Stun(uint16_t type, const Bytes& attributes) {
  Bytes b;
  Put16(b, type);
  Put16(b, static_cast<uint16_t>(attributes.size()));
  Put32(b, 0x2112a442);
  for (int i = 0; i < 12; ++i) Put8(b, static_cast<uint8_t>(i));
  PutBytes(b, attributes);
  return b;
}

const FlowInfo kNtpFlow{kIpProtoUdp, 40000, 123};
const FlowInfo kDhcpFlow{kIpProtoUdp, 68, 67};
const FlowInfo kStunFlow{kIpProtoUdp, 40000, 3478};

// Feeds one datagram (UDP keeps its boundaries: never split).
ParseState FeedOne(const Dissector& d, const FlowInfo& flow, const Bytes& datagram,
                   AppRecord* r, DpiAnomalies* a) {
  return testing::FeedSession(d, flow, {{true, datagram}}, testing::Split::kWhole, r, a);
}

// Every proper prefix of `datagram` is refused by Probe and by a session.
void CheckEveryTruncationRefused(const Dissector& d, const FlowInfo& flow, const Bytes& datagram) {
  for (size_t n = 0; n < datagram.size(); ++n) {
    const std::span<const uint8_t> cut(datagram.data(), n);
    INFO("first " << n << " bytes");
    CHECK_FALSE(d.Probe(flow, true, cut));
    AppRecord r;
    DpiAnomalies a;
    CHECK(d.NewSession(flow)->Feed(true, cut, &r, &a) == ParseState::kNotMine);
    CHECK(r.protocol == AppProtocol::kUnknown);
  }
}

TEST_CASE("ntp: client and server packets of every version", "[dpi][ntp]") {
  auto d = MakeNtpDissector();
  for (uint8_t version = 1; version <= 4; ++version) {
    for (const uint8_t mode : {uint8_t{3}, uint8_t{4}}) {
      INFO("version " << int{version} << " mode " << int{mode});
      const Bytes p = Ntp(version, mode);
      CHECK(d->Probe(kNtpFlow, true, p));
      AppRecord r;
      DpiAnomalies a;
      CHECK(FeedOne(*d, kNtpFlow, p, &r, &a) == ParseState::kDone);
      CHECK(r.protocol == AppProtocol::kNtp);
      CHECK(r.Label() == "NTP");
      CHECK(a.empty());
    }
  }
  CHECK(d->PortHint(kNtpFlow));
  CheckEveryTruncationRefused(*d, kNtpFlow, Ntp(4, 3));
}

TEST_CASE("ntp: malformed headers are not NTP", "[dpi][ntp]") {
  auto d = MakeNtpDissector();
  CHECK_FALSE(d->Probe(kNtpFlow, true, Ntp(0, 3)));       // version_zero
  CHECK_FALSE(d->Probe(kNtpFlow, true, Ntp(5, 3)));       // version_above_4
  CHECK_FALSE(d->Probe(kNtpFlow, true, Ntp(4, 0)));       // mode_reserved
  // Modes 6 (control) and 7 (private) are NTP too (ntpq, ntpdc), on port 123.
  CHECK(d->Probe(kNtpFlow, true, Ntp(4, 6)));
  CHECK(d->Probe(kNtpFlow, true, Bytes{0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0}));
  CHECK_FALSE(d->Probe(kNtpFlow, true, Bytes{0x0f, 0x00, 0x03, 0x2a, 0, 0, 0, 0}));  // v1 private
  CHECK_FALSE(d->Probe(kNtpFlow, true, Ntp(4, 3, 17)));   // stratum_above_16
  // NTP's header has too little structure to trust off port 123.
  CHECK_FALSE(d->Probe(FlowInfo{kIpProtoUdp, 40000, 5000}, true, Ntp(4, 3)));
  // Over TCP: not NTP.
  CHECK_FALSE(d->Probe(FlowInfo{kIpProtoTcp, 40000, 123}, true, Ntp(4, 3)));
}

TEST_CASE("dhcp: the client's host name from option 12", "[dpi][dhcp]") {
  auto d = MakeDhcpDissector();
  Bytes options = {53, 1, 1};  // DHCPDISCOVER.
  PutBytes(options, {0, 0});   // Pads between options.
  PutBytes(options, Option(12, "laptop-jane"));
  PutBytes(options, Option(12, "second-ignored"));
  const Bytes p = Dhcp(1, options);
  CHECK(d->Probe(kDhcpFlow, true, p));
  // On any port: the cookie is structure enough.
  CHECK(d->Probe(FlowInfo{kIpProtoUdp, 40000, 9999}, true, p));
  AppRecord r;
  DpiAnomalies a;
  CHECK(FeedOne(*d, kDhcpFlow, p, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kDhcp);
  CHECK(r.dhcp_hostname == "laptop-jane");
  CHECK(a.empty());
  CheckEveryTruncationRefused(*d, kDhcpFlow, p.size() > 240 ? Bytes(p.begin(), p.begin() + 240) : p);
}

TEST_CASE("dhcp: without a host name it waits a few packets, then settles", "[dpi][dhcp]") {
  auto d = MakeDhcpDissector();
  const Bytes offer = Dhcp(2, {53, 1, 2});
  auto session = d->NewSession(kDhcpFlow);
  AppRecord r;
  DpiAnomalies a;
  CHECK(session->Feed(false, offer, &r, &a) == ParseState::kNeedMore);
  CHECK(r.protocol == AppProtocol::kDhcp);
  Bytes request = {53, 1, 3};
  PutBytes(request, Option(12, "late-name"));
  CHECK(session->Feed(true, Dhcp(1, request), &r, &a) == ParseState::kDone);
  CHECK(r.dhcp_hostname == "late-name");

  auto quiet = d->NewSession(kDhcpFlow);
  AppRecord q;
  ParseState s = ParseState::kNeedMore;
  int packets = 0;
  while (s == ParseState::kNeedMore && packets < 10) {
    s = quiet->Feed(false, offer, &q, &a);
    ++packets;
  }
  CHECK(s == ParseState::kDone);
  CHECK(packets == 4);
  CHECK(q.dhcp_hostname.empty());
}

TEST_CASE("dhcp: malformed options are counted, names kept printable", "[dpi][dhcp]") {
  auto d = MakeDhcpDissector();
  {  // option_length_past_end: option 12 claims 40 bytes, 3 follow.
    Bytes options = {12, 40, 'a', 'b', 'c'};
    AppRecord r;
    DpiAnomalies a;
    CHECK(FeedOne(*d, kDhcpFlow, Dhcp(1, options, /*end=*/false), &r, &a) != ParseState::kNotMine);
    CHECK(r.protocol == AppProtocol::kDhcp);
    CHECK(r.dhcp_hostname.empty());
    CHECK(a["dhcp_option_past_end"] == 1);
  }
  {  // option_code_without_length: the last byte is a lone code.
    AppRecord r;
    DpiAnomalies a;
    (void)FeedOne(*d, kDhcpFlow, Dhcp(1, {53}, /*end=*/false), &r, &a);
    CHECK(a["dhcp_option_past_end"] == 1);
  }
  {  // hostname_with_control_bytes: shown as '?', never raw.
    AppRecord r;
    DpiAnomalies a;
    CHECK(FeedOne(*d, kDhcpFlow, Dhcp(1, Option(12, std::string("a\x1b[2Jb\x7f c", 9))), &r, &a) ==
          ParseState::kDone);
    CHECK(r.dhcp_hostname == "a?[2Jb??c");
  }
  {  // no_end_option: options simply stop at the end of the datagram.
    AppRecord r;
    DpiAnomalies a;
    CHECK(FeedOne(*d, kDhcpFlow, Dhcp(1, Option(12, "edge"), /*end=*/false), &r, &a) ==
          ParseState::kDone);
    CHECK(r.dhcp_hostname == "edge");
    CHECK(a.empty());
  }
  Bytes bad_cookie = Dhcp(1, {});
  bad_cookie[239] = 0x64;  // wrong_magic_cookie
  CHECK_FALSE(d->Probe(kDhcpFlow, true, bad_cookie));
  Bytes bad_op = Dhcp(3, {});  // op_not_request_or_reply
  CHECK_FALSE(d->Probe(kDhcpFlow, true, bad_op));
  Bytes bad_hlen = Dhcp(1, {});
  bad_hlen[2] = 8;  // hardware_length_not_ethernet
  CHECK_FALSE(d->Probe(kDhcpFlow, true, bad_hlen));
}

TEST_CASE("stun: binding request and response, by content on any port", "[dpi][stun]") {
  auto d = MakeStunDissector();
  Bytes attr;  // XOR-MAPPED-ADDRESS, 8 bytes.
  Put16(attr, 0x0020);
  Put16(attr, 8);
  PutBytes(attr, {0, 1, 0x11, 0x22, 0x5e, 0x12, 0xa4, 0x43});
  for (const Bytes& p : {Stun(0x0001, {}), Stun(0x0101, attr)}) {
    for (const FlowInfo& flow : {kStunFlow, FlowInfo{kIpProtoUdp, 40000, 50000}}) {
      CHECK(d->Probe(flow, true, p));
      AppRecord r;
      DpiAnomalies a;
      // A request waits for the answer's mapped address; the answer is done.
      CHECK(FeedOne(*d, flow, p, &r, &a) ==
            (p[1] == 0x01 && p[0] == 0 ? ParseState::kNeedMore : ParseState::kDone));
      CHECK(r.protocol == AppProtocol::kStun);
      CHECK(a.empty());
    }
  }
  CheckEveryTruncationRefused(*d, kStunFlow, Stun(0x0101, attr));
}

TEST_CASE("stun: message type, XOR-MAPPED-ADDRESS and SOFTWARE", "[dpi][stun]") {
  auto d = MakeStunDissector();
  Bytes request;  // SOFTWARE "libjuice" (8 bytes).
  Put16(request, 0x8022);
  Put16(request, 8);
  PutBytes(request, testing::Text("libjuice"));
  Bytes response;  // XOR-MAPPED-ADDRESS 127.0.0.1:12336 (port ^ 0x2112, address ^ cookie).
  Put16(response, 0x0020);
  Put16(response, 8);
  PutBytes(response, {0, 1, 0x11, 0x22, 0x5e, 0x12, 0xa4, 0x43});
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kStunFlow, {{true, Stun(0x0001, request)}, {false, Stun(0x0101, response)}},
                             testing::Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.net.stun_type == "binding-request");
  CHECK(r.net.stun_software == "libjuice");
  CHECK(r.net.stun_mapped == "127.0.0.1:12336");
  CHECK(a.empty());
  // TURN Allocate error response: the method and class from the type bits.
  AppRecord t;
  FeedOne(*d, kStunFlow, Stun(0x0113, {}), &t, &a);
  CHECK(t.net.stun_type == "allocate-error");
}

TEST_CASE("stun: stun_attribute_past_end", "[dpi][stun]") {
  auto d = MakeStunDissector();
  Bytes attr;
  Put16(attr, 0x8022);
  Put16(attr, 40);  // 40 bytes announced, 4 present.
  PutBytes(attr, {'a', 'b', 'c', 'd'});
  AppRecord r;
  DpiAnomalies a;
  FeedOne(*d, kStunFlow, Stun(0x0001, attr), &r, &a);
  CHECK(r.protocol == AppProtocol::kStun);
  CHECK(r.net.stun_software.empty());
  CHECK(a.count("stun_attribute_past_end") == 1);
}

TEST_CASE("ntp: version, mode and stratum are kept", "[dpi][ntp]") {
  auto d = MakeNtpDissector();
  AppRecord r;
  DpiAnomalies a;
  FeedOne(*d, kNtpFlow, Ntp(3, 4, 2), &r, &a);
  CHECK(r.net.ntp_version == 3);
  CHECK(r.net.ntp_mode == 4);
  CHECK(r.net.ntp_stratum == 2);
  CHECK(NtpModeName(r.net.ntp_mode) == "server");
}

TEST_CASE("stun: malformed headers are not STUN", "[dpi][stun]") {
  auto d = MakeStunDissector();
  Bytes p = Stun(0x0001, {});
  p[0] |= 0x80;  // top_bits_set (RTP/TLS share the port)
  CHECK_FALSE(d->Probe(kStunFlow, true, p));
  p = Stun(0x0001, {});
  p[7] = 0x43;  // wrong_magic_cookie (classic RFC 3489 STUN has none)
  CHECK_FALSE(d->Probe(kStunFlow, true, p));
  p = Stun(0x0001, {0, 0, 0, 0});
  p[3] = 8;  // length_longer_than_datagram
  CHECK_FALSE(d->Probe(kStunFlow, true, p));
  p = Stun(0x0001, {0, 0, 0, 0});
  p[3] = 3;  // length_not_multiple_of_4
  CHECK_FALSE(d->Probe(kStunFlow, true, p));
  p = Stun(0x0001, {0, 0, 0, 0});
  p.push_back(0);  // trailing_bytes_after_message
  CHECK_FALSE(d->Probe(kStunFlow, true, p));
}

// mDNS (RFC 6762) is DNS on 5353: the DNS dissector names it.
TEST_CASE("mdns: a multicast query is labelled mDNS", "[dpi][mdns]") {
  auto d = MakeDnsDissector();
  Bytes q;
  Put16(q, 0);       // mDNS queries carry id 0.
  Put16(q, 0x0000);  // Standard query.
  Put16(q, 1);
  Put16(q, 0);
  Put16(q, 0);
  Put16(q, 0);
  for (const std::string label : {"_googlecast", "_tcp", "local"}) {
    Put8(q, static_cast<uint8_t>(label.size()));
    PutBytes(q, testing::Text(label));
  }
  Put8(q, 0);
  Put16(q, 12);      // PTR
  Put16(q, 0x8001);  // QU bit + IN.
  const FlowInfo flow{kIpProtoUdp, 5353, 5353};
  CHECK(d->Probe(flow, true, q));
  AppRecord r;
  DpiAnomalies a;
  (void)FeedOne(*d, flow, q, &r, &a);
  CHECK(r.protocol == AppProtocol::kMdns);
  CHECK(r.dns.query == "_googlecast._tcp.local");
  CHECK(r.dns.query_type == "PTR");
  CHECK(a.empty());
  for (size_t n = 0; n < q.size(); ++n) {
    AppRecord cut;
    DpiAnomalies ca;
    (void)d->NewSession(flow)->Feed(true, std::span<const uint8_t>(q.data(), n), &cut, &ca);
    CHECK(cut.dns.query.size() <= r.dns.query.size());
  }
}

}  // namespace
}  // namespace rustnet
