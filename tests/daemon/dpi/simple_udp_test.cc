// NTP, DHCP, STUN and mDNS from hand-built datagrams: each recognised by
// content (a port is only a hint), every truncation refused without a
// crash, and malformed cases named after their defect.
#include "daemon/dpi/simple_udp.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/dns.h"
#include "tests/daemon/dpi/breadth_test_util.h"
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
      // More datagrams are read: DTLS may follow the checks (WebRTC).
      CHECK(FeedOne(*d, flow, p, &r, &a) == ParseState::kNeedMore);
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
                             testing::Split::kWhole, &r, &a) == ParseState::kNeedMore);
  CHECK(r.net->stun_type == "binding-request");
  CHECK(r.net->stun_software == "libjuice");
  CHECK(r.net->stun_mapped == "127.0.0.1:12336");
  CHECK(a.empty());
  // TURN Allocate error response: the method and class from the type bits.
  AppRecord t;
  FeedOne(*d, kStunFlow, Stun(0x0113, {}), &t, &a);
  CHECK(t.net->stun_type == "allocate-error");
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
  CHECK(r.net->stun_software.empty());
  CHECK(a.count("stun_attribute_past_end") == 1);
}

TEST_CASE("ntp: version, mode and stratum are kept", "[dpi][ntp]") {
  auto d = MakeNtpDissector();
  AppRecord r;
  DpiAnomalies a;
  FeedOne(*d, kNtpFlow, Ntp(3, 4, 2), &r, &a);
  CHECK(r.net->ntp_version == 3);
  CHECK(r.net->ntp_mode == 4);
  CHECK(r.net->ntp_stratum == 2);
  CHECK(NtpModeName(r.net->ntp_mode) == "server");
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

// REALM (RFC 8489 §14.9), as a TURN server's 401 answer carries it.
Bytes RealmAttribute(const std::string& realm) {
  Bytes b;
  Put16(b, 0x0014);
  Put16(b, static_cast<uint16_t>(realm.size()));
  PutBytes(b, testing::Text(realm));
  while (b.size() % 4 != 0) Put8(b, 0);
  return b;
}

// A DTLS 1.2 record header (ClientHello, handshake type 22) and 16 bytes.
Bytes DtlsRecord() {
  Bytes b = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0};
  Put16(b, 16);
  PutBytes(b, Bytes(16, 0x01));
  return b;
}

TEST_CASE("stun: REALM is kept, printable (nDPI's host name for STUN)", "[dpi][stun]") {
  auto d = MakeStunDissector();
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, kStunFlow,
                             {{true, Stun(0x0003, {})},
                              {false, Stun(0x0113, RealmAttribute("turn.l.google.com"))}},
                             testing::Split::kWhole, &r, &a);
  CHECK(r.net->stun_realm == "turn.l.google.com");
  CHECK(a.empty());
  AppRecord junk;
  (void)FeedOne(*d, kStunFlow, Stun(0x0113, RealmAttribute("a\x01 b")), &junk, &a);
  CHECK(junk.net->stun_realm == "a??b");  // Control bytes and spaces replaced.
  // 200 bytes of REALM: 128 kept.
  AppRecord longer;
  (void)FeedOne(*d, kStunFlow, Stun(0x0113, RealmAttribute(std::string(200, 'r'))), &longer, &a);
  CHECK(longer.net->stun_realm == std::string(128, 'r'));
}

TEST_CASE("stun: DTLS after STUN on the same flow is DTLS, with the STUN facts", "[dpi][stun]") {
  auto d = MakeStunDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kStunFlow,
                             {{true, Stun(0x0001, {})}, {false, Stun(0x0101, {})},
                              {true, DtlsRecord()}},
                             testing::Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kDtls);
  CHECK(r.net->stun_type == "binding-request");
  // Media (RTP, first byte 0x80) after STUN ends the inspection as STUN.
  AppRecord m;
  Bytes rtp = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(testing::FeedSession(*d, kStunFlow, {{true, Stun(0x0001, {})}, {true, rtp}},
                             testing::Split::kWhole, &m, &a) == ParseState::kDone);
  CHECK(m.protocol == AppProtocol::kStun);
  // A DTLS header whose length runs past the datagram is not DTLS.
  Bytes cut = DtlsRecord();
  cut.resize(cut.size() - 1);
  AppRecord c;
  (void)testing::FeedSession(*d, kStunFlow, {{true, Stun(0x0001, {})}, {true, cut}},
                             testing::Split::kWhole, &c, &a);
  CHECK(c.protocol == AppProtocol::kStun);
  // Only so many STUN datagrams are read.
  std::vector<testing::Chunk> many(20, {true, Stun(0x0001, {})});
  AppRecord n;
  CHECK(testing::FeedSession(*d, kStunFlow, many, testing::Split::kWhole, &n, &a) ==
        ParseState::kDone);
  CHECK(a.empty());
}

// RFC 4571: a 2-byte length before each message.
Bytes Framed(const Bytes& message) {
  Bytes b;
  Put16(b, static_cast<uint16_t>(message.size()));
  PutBytes(b, message);
  return b;
}

Bytes XorMappedAddress() {
  Bytes attr;  // XOR-MAPPED-ADDRESS 127.0.0.1:12336.
  Put16(attr, 0x0020);
  Put16(attr, 8);
  PutBytes(attr, {0, 1, 0x11, 0x22, 0x5e, 0x12, 0xa4, 0x43});
  return attr;
}

TEST_CASE("stun: over TCP, messages back to back (RFC 8489 §6.2.2), any split",
          "[dpi][stun]") {
  auto d = MakeStunDissector();
  const FlowInfo flow = testing::Tcp(3478);
  const Bytes request = Stun(0x0003, {});
  Bytes two = Stun(0x0113, RealmAttribute("apps-host.com"));  // Two answers in one segment.
  PutBytes(two, Stun(0x0103, XorMappedAddress()));
  CHECK(d->Probe(flow, true, request));
  CHECK(d->Probe(testing::Tcp(443), true, request));  // By content on any port.
  const testing::Outcome o = testing::Run(*d, flow, {{true, request}, {false, two}});
  CHECK(o.state == ParseState::kNeedMore);
  CHECK(o.record.protocol == AppProtocol::kStun);
  CHECK(o.record.net->stun_type == "allocate-request");
  CHECK(o.record.net->stun_realm == "apps-host.com");
  CHECK(o.record.net->stun_mapped == "127.0.0.1:12336");
  CHECK(o.anomalies.empty());
  testing::EveryTruncation(*d, flow, request);
}

TEST_CASE("stun: over TCP behind RFC 4571 lengths (ICE-TCP), any split", "[dpi][stun]") {
  auto d = MakeStunDissector();
  const FlowInfo flow = testing::Tcp(42000);
  const Bytes request = Framed(Stun(0x0001, {}));
  Bytes answers = Framed(Stun(0x0101, XorMappedAddress()));
  PutBytes(answers, Framed(Stun(0x0001, {})));
  CHECK(d->Probe(flow, true, request));
  const testing::Outcome o = testing::Run(*d, flow, {{true, request}, {false, answers}});
  CHECK(o.state == ParseState::kNeedMore);
  CHECK(o.record.protocol == AppProtocol::kStun);
  CHECK(o.record.net->stun_mapped == "127.0.0.1:12336");
  CHECK(o.anomalies.empty());
  // DTLS next in the same framing: DTLS.
  const testing::Outcome dtls =
      testing::Run(*d, flow, {{true, request}, {false, answers}, {true, Framed(DtlsRecord())}});
  CHECK(dtls.state == ParseState::kDone);
  CHECK(dtls.record.protocol == AppProtocol::kDtls);
  testing::EveryTruncation(*d, flow, request);
}

TEST_CASE("stun: TCP streams that are not STUN", "[dpi][stun]") {
  auto d = MakeStunDissector();
  const FlowInfo flow = testing::Tcp(3478);
  CHECK_FALSE(d->Probe(flow, true, testing::Text("GET / HTTP/1.1\r\n\r\n")));
  Bytes no_cookie = Stun(0x0001, {});
  no_cookie[4] = 0;  // wrong_magic_cookie
  CHECK_FALSE(d->Probe(flow, true, no_cookie));
  CHECK_FALSE(d->Probe(flow, true, Framed(no_cookie)));
  Bytes bad_frame = Framed(Stun(0x0001, {}));
  bad_frame[1] = 30;  // rfc4571_length_not_matching_message
  CHECK_FALSE(d->Probe(flow, true, bad_frame));
  // A session fed something else from the start: not mine.
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, flow, {{true, testing::Text("hello world, not stun")}},
                             testing::Split::kWhole, &r, &a) == ParseState::kNotMine);
  CHECK(r.protocol == AppProtocol::kUnknown);
}

TEST_CASE("stun: stun_tcp_message_too_long", "[dpi][stun]") {
  auto d = MakeStunDissector();
  const FlowInfo flow = testing::Tcp(3478);
  Bytes big = Stun(0x0001, {});
  big[2] = 0x20;  // 8192 bytes of attributes announced: past kMaxStunTcpMessage.
  big[3] = 0x00;
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, flow, {{true, Stun(0x0001, {})}, {true, big}},
                             testing::Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kStun);
  CHECK(a.count("stun_tcp_message_too_long") == 1);
  // The same as the first message: never named.
  AppRecord first;
  DpiAnomalies fa;
  CHECK(testing::FeedSession(*d, flow, {{true, big}}, testing::Split::kWhole, &first, &fa) ==
        ParseState::kNotMine);
  CHECK(first.protocol == AppProtocol::kUnknown);
  CHECK(fa.count("stun_tcp_message_too_long") == 1);
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
  CHECK(r.dns->query == "_googlecast._tcp.local");
  CHECK(r.dns->query_type == "PTR");
  CHECK(a.empty());
  for (size_t n = 0; n < q.size(); ++n) {
    AppRecord cut;
    DpiAnomalies ca;
    (void)d->NewSession(flow)->Feed(true, std::span<const uint8_t>(q.data(), n), &cut, &ca);
    CHECK(cut.dns->query.size() <= r.dns->query.size());
  }
}

}  // namespace
}  // namespace rustnet
