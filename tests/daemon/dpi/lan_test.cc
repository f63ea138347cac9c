// SMB, NetBIOS, SSDP, Kerberos at every split, LLMNR's label; malformed
// cases named after their defect.
#include "daemon/dpi/lan.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/engine.h"
#include "tests/daemon/dpi/breadth_test_util.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;
using testing::Split;
using testing::Text;

const FlowInfo kTcp{kIpProtoTcp, 40000, 1445};
const FlowInfo kUdp{kIpProtoUdp, 40000, 1137};

void Put16Le(Bytes& b, uint16_t v) {
  Put8(b, static_cast<uint8_t>(v));
  Put8(b, static_cast<uint8_t>(v >> 8));
}

// NetBIOS first-level encoding of a 15-character name and a suffix.
Bytes EncodeName(std::string name, uint8_t suffix) {
  name.resize(15, ' ');
  name.push_back(static_cast<char>(suffix));
  Bytes out;
  for (char c : name) {
    const auto u = static_cast<uint8_t>(c);
    Put8(out, static_cast<uint8_t>('A' + (u >> 4)));
    Put8(out, static_cast<uint8_t>('A' + (u & 15)));
  }
  return out;
}

Bytes Nbss(uint8_t type, const Bytes& body) {
  Bytes out;
  Put8(out, type);
  Put8(out, static_cast<uint8_t>(body.size() >> 16));
  Put16(out, static_cast<uint16_t>(body.size()));
  PutBytes(out, body);
  return out;
}

// An SMB2 header (command, response flag) and a body.
Bytes Smb2(uint16_t command, bool response, const Bytes& body) {
  Bytes h = {0xfe, 'S', 'M', 'B'};
  Put16Le(h, 64);
  Put16Le(h, 0);
  PutBytes(h, Bytes(4, 0));  // status
  Put16Le(h, command);
  Put16Le(h, 1);  // credits
  PutBytes(h, Bytes{static_cast<uint8_t>(response ? 1 : 0), 0, 0, 0});
  PutBytes(h, Bytes(64 - h.size(), 0));
  PutBytes(h, body);
  return h;
}

TEST_CASE("smb: SMB2 negotiate; the server's dialect at every split", "[dpi][lan]") {
  auto d = MakeSmbDissector();
  Bytes req_body;
  Put16Le(req_body, 36);
  Put16Le(req_body, 3);  // dialect count
  PutBytes(req_body, Bytes(32, 0));
  Put16Le(req_body, 0x0202);
  Put16Le(req_body, 0x0300);
  Put16Le(req_body, 0x0311);
  Bytes rsp_body;
  Put16Le(rsp_body, 65);
  Put16Le(rsp_body, 1);
  Put16Le(rsp_body, 0x0311);
  PutBytes(rsp_body, Bytes(58, 0));
  const Bytes request = Nbss(0, Smb2(0, false, req_body));
  CHECK(d->Probe(kTcp, true, request));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kTcp,
                               {{true, request}, {false, Nbss(0, Smb2(0, true, rsp_body))}}, split,
                               &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kSmb);
    CHECK(r.lan->version == "SMB 3.1.1");
  }
}

TEST_CASE("smb: a NetBIOS session request names the server; then SMB1", "[dpi][lan]") {
  auto d = MakeSmbDissector();
  Bytes names;
  Put8(names, 0x20);
  PutBytes(names, EncodeName("FILESRV", 0x20));
  Put8(names, 0);
  Put8(names, 0x20);
  PutBytes(names, EncodeName("LAPTOP", 0x00));
  Put8(names, 0);
  Bytes smb1 = {0xff, 'S', 'M', 'B', 0x72};
  PutBytes(smb1, Bytes(40, 0));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kTcp,
                               {{true, Nbss(0x81, names)},
                                {false, Nbss(0x82, {})},
                                {true, Nbss(0, smb1)},
                                {false, Nbss(0, smb1)}},
                               split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kSmb);
    CHECK(r.lan->name == "FILESRV<20>");
    CHECK(r.lan->version == "SMB 1");
  }
}

TEST_CASE("smb: netbios_name_malformed; smb_frame_too_long", "[dpi][lan]") {
  auto d = MakeSmbDissector();
  Bytes names;
  Put8(names, 0x20);
  PutBytes(names, Bytes(32, 'Z'));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kTcp, {{true, Nbss(0x81, names)}}, Split::kWhole, &r, &a) ==
        ParseState::kNotMine);
  CHECK(a == DpiAnomalies{{"netbios_name_malformed", 1}});
  Bytes big = {0, 0x01, 0x00, 0x00, 0xfe, 'S', 'M', 'B'};
  AppRecord r2;
  DpiAnomalies a2;
  CHECK(testing::FeedSession(*d, kTcp, {{true, big}}, Split::kWhole, &r2, &a2) ==
        ParseState::kNotMine);
  CHECK(a2 == DpiAnomalies{{"smb_frame_too_long", 1}});
}

Bytes NbnsQuery(const std::string& name, uint8_t suffix, uint16_t flags = 0x0110) {
  Bytes b;
  Put16(b, 0x1234);
  Put16(b, flags);
  Put16(b, 1);
  Put16(b, 0);
  Put16(b, 0);
  Put16(b, 0);
  Put8(b, 0x20);
  PutBytes(b, EncodeName(name, suffix));
  Put8(b, 0);
  Put16(b, 0x20);
  Put16(b, 1);
  return b;
}

TEST_CASE("netbios-ns: the name asked about and the operation", "[dpi][lan]") {
  auto d = MakeNetbiosNsDissector();
  const Bytes q = NbnsQuery("WORKGROUP", 0x1d);
  CHECK(d->Probe(kUdp, true, q));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kUdp, {{true, q}}, Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kNetbiosNs);
  CHECK(r.lan->name == "WORKGROUP<1D>");
  CHECK(r.lan->message_type == "query");
  AppRecord reg;
  testing::FeedSession(*d, kUdp, {{true, NbnsQuery("HOST", 0, 0x2910)}}, Split::kWhole, &reg, &a);
  CHECK(reg.lan->message_type == "registration");
  Bytes bad = q;
  bad[20] = 'z';
  AppRecord r2;
  CHECK(testing::FeedSession(*d, kUdp, {{true, bad}}, Split::kWhole, &r2, &a) ==
        ParseState::kNotMine);
  CHECK(a == DpiAnomalies{{"netbios_name_malformed", 1}});
}

TEST_CASE("ssdp: M-SEARCH target and user agent; NOTIFY's server", "[dpi][lan]") {
  auto d = MakeSsdpDissector();
  const FlowInfo flow{kIpProtoUdp, 40000, 1900};
  const Bytes search = Text(
      "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
      "ST: urn:dial-multiscreen-org:service:dial:1\r\nUSER-AGENT: Chromium/120 Linux\r\n\r\n");
  CHECK(d->Probe(flow, true, search));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, flow, {{true, search}}, Split::kWhole, &r, &a) ==
        ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kSsdp);
  CHECK(r.lan->message_type == "M-SEARCH");
  CHECK(r.lan->name == "urn:dial-multiscreen-org:service:dial:1");
  CHECK(r.lan->agent == "Chromium/120 Linux");
  AppRecord n;
  testing::FeedSession(*d, flow,
                       {{true, Text("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n"
                                    "SERVER: Linux/5.10 UPnP/1.0 MiniUPnPd/2.2\r\n\r\n")}},
                       Split::kWhole, &n, &a);
  CHECK(n.lan->name == "upnp:rootdevice");
  CHECK(n.lan->agent == "Linux/5.10 UPnP/1.0 MiniUPnPd/2.2");
  CHECK_FALSE(d->Probe(FlowInfo{kIpProtoUdp, 40000, 8080}, true, Text("HTTP/1.1 200 OK")));
}

// DER: tag, length, value.
Bytes Der(uint8_t tag, const Bytes& value) {
  Bytes out;
  Put8(out, tag);
  if (value.size() < 128) {
    Put8(out, static_cast<uint8_t>(value.size()));
  } else {
    Put8(out, 0x82);
    Put16(out, static_cast<uint16_t>(value.size()));
  }
  PutBytes(out, value);
  return out;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) PutBytes(out, p);
  return out;
}
Bytes Int(uint8_t v) { return Der(0x02, {v}); }
Bytes Principal(std::initializer_list<std::string> parts) {
  Bytes strings;
  for (const std::string& p : parts) PutBytes(strings, Der(0x1b, Text(p)));
  return Der(0x30, Cat({Der(0xa0, Int(1)), Der(0xa1, Der(0x30, strings))}));
}

Bytes AsReq(const std::string& user, const std::string& realm) {
  const Bytes body = Der(0x30, Cat({Der(0xa0, Der(0x03, {0, 0x40, 0x81, 0, 0x10})),
                                    Der(0xa1, Principal({user})),
                                    Der(0xa2, Der(0x1b, Text(realm))),
                                    Der(0xa3, Principal({"krbtgt", realm}))}));
  return Der(0x6a, Der(0x30, Cat({Der(0xa1, Int(5)), Der(0xa2, Int(10)), Der(0xa4, body)})));
}

Bytes KrbError(const std::string& realm) {
  return Der(0x7e, Der(0x30, Cat({Der(0xa0, Int(5)), Der(0xa1, Int(30)),
                                  Der(0xa6, Int(25)), Der(0xa9, Der(0x1b, Text(realm)))})));
}

TEST_CASE("kerberos: AS-REQ over UDP and over TCP at every split", "[dpi][lan]") {
  auto d = MakeKerberosDissector();
  const Bytes req = AsReq("alice", "EXAMPLE.ORG");
  const FlowInfo udp{kIpProtoUdp, 40000, 1088};
  CHECK(d->Probe(udp, true, req));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, udp, {{true, req}, {false, KrbError("EXAMPLE.ORG")}},
                             Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kKerberos);
  CHECK(r.lan->user == "alice");
  CHECK(r.lan->name == "EXAMPLE.ORG");
  CHECK(r.lan->message_type == "AS-REQ");
  Bytes framed;
  Put32(framed, static_cast<uint32_t>(req.size()));
  PutBytes(framed, req);
  const FlowInfo tcp{kIpProtoTcp, 40000, 1088};
  CHECK(d->Probe(tcp, true, framed));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord t;
    DpiAnomalies ta;
    testing::FeedSession(*d, tcp, {{true, framed}}, split, &t, &ta);
    CHECK(t.protocol == AppProtocol::kKerberos);
    CHECK(t.lan->user == "alice");
    CHECK(t.lan->name == "EXAMPLE.ORG");
  }
}

TEST_CASE("kerberos: a wrong pvno or a length past the end is not Kerberos", "[dpi][lan]") {
  auto d = MakeKerberosDissector();
  const FlowInfo udp{kIpProtoUdp, 40000, 88};
  Bytes req = AsReq("bob", "R");
  Bytes cut(req.begin(), req.end() - 3);
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, udp, {{true, cut}}, Split::kWhole, &r, &a) ==
        ParseState::kNotMine);
  const Bytes v4 = Der(0x6a, Der(0x30, Cat({Der(0xa1, Int(4)), Der(0xa2, Int(10))})));
  CHECK(testing::FeedSession(*d, udp, {{true, v4}}, Split::kWhole, &r, &a) ==
        ParseState::kNotMine);
  // Once it is Kerberos, a malformed reply is kerberos_malformed.
  AppRecord k;
  testing::FeedSession(*d, udp, {{true, req}, {false, cut}}, Split::kWhole, &k, &a);
  CHECK(k.protocol == AppProtocol::kKerberos);
  CHECK(a == DpiAnomalies{{"kerberos_malformed", 1}});
}

TEST_CASE("llmnr: DNS on UDP 5355 is labelled LLMNR", "[dpi][lan]") {
  AppRecord r;
  r.protocol = AppProtocol::kDns;
  RelabelLlmnr(kIpProtoUdp, 40000, 53, &r);
  CHECK(r.protocol == AppProtocol::kDns);
  RelabelLlmnr(kIpProtoUdp, 40000, 5355, &r);
  CHECK(r.protocol == AppProtocol::kLlmnr);
  r.protocol = AppProtocol::kDns;
  RelabelLlmnr(kIpProtoUdp, 5355, 40000, &r);
  CHECK(r.protocol == AppProtocol::kLlmnr);
  r.protocol = AppProtocol::kDns;
  RelabelLlmnr(kIpProtoTcp, 40000, 5355, &r);
  CHECK(r.protocol == AppProtocol::kDns);
}

}  // namespace
}  // namespace rustnet

namespace rustnet {
namespace {

TEST_CASE("netbios: the wildcard name '*' is padded with NULs, not spaces", "[dpi][lan]") {
  // RFC 1002 §4.1 (the node status query's "*"): trailing NULs are padding
  // like spaces; a NUL inside a name is still shown as '?'.
  std::string wildcard = "*";
  wildcard.resize(15, '\0');
  CHECK(DecodeNetbiosName(EncodeName(wildcard, 0x00)) == "*<00>");
  std::string inner = "AB";
  inner.push_back('\0');
  inner.push_back('C');
  CHECK(DecodeNetbiosName(EncodeName(inner, 0x20)) == "AB?C<20>");
  CHECK(DecodeNetbiosName(EncodeName("", 0x00)) == "<00>");
}

// RFC 1002 §4.4.1: a BROADCAST DATAGRAM from `source` to `destination`
// carrying `data`.
Bytes Nbdgm(const std::string& source, const std::string& destination, const Bytes& data) {
  Bytes body;
  Put8(body, 0x20);
  PutBytes(body, EncodeName(source, 0x00));
  Put8(body, 0);
  Put8(body, 0x20);
  PutBytes(body, EncodeName(destination, 0x1e));
  Put8(body, 0);
  PutBytes(body, data);
  Bytes b = {0x11, 0x0e, 0xc2, 0xf4, 10, 0, 5, 9, 0x00, 0x8a};
  Put8(b, static_cast<uint8_t>(body.size() >> 8));
  Put8(b, static_cast<uint8_t>(body.size()));
  PutBytes(b, {0, 0});
  PutBytes(b, body);
  return b;
}

// An SMB1 header (\xffSMB, Transaction) padded to 40 bytes. Built in place:
// GCC 12 at -O3 warns falsely (-Warray-bounds) on resizing a 5-byte vector.
Bytes SmbOverDatagram() {
  Bytes smb(40, 0);
  smb[0] = 0xff;
  smb[1] = 'S';
  smb[2] = 'M';
  smb[3] = 'B';
  smb[4] = 0x25;
  return smb;
}

TEST_CASE("netbios-dgm: an SMB browser announcement is SMB 1 from its source name",
          "[dpi][lan]") {
  auto d = MakeNetbiosDgmDissector();
  const FlowInfo flow{kIpProtoUdp, 138, 138};
  const Bytes smb = SmbOverDatagram();
  const Bytes datagram = Nbdgm("NVR9", "WORKGROUP", smb);
  CHECK(d->Probe(flow, true, datagram));
  CHECK(d->Probe(FlowInfo{kIpProtoUdp, 40000, 5000}, true, datagram));  // By content.
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, flow, {{true, datagram}}, testing::Split::kWhole, &r, &a) ==
        ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kSmb);
  CHECK(r.lan->version == "SMB 1");
  CHECK(r.lan->name == "NVR9<00>");
  CHECK(a.empty());
  testing::EveryTruncation(*d, flow, datagram);
  for (size_t n = 0; n < datagram.size(); ++n) {
    AppRecord cut;
    (void)testing::FeedSession(*d, flow, {{true, Bytes(datagram.begin(), datagram.begin() + static_cast<ptrdiff_t>(n))}},
                               testing::Split::kWhole, &cut, &a);
    CHECK(cut.protocol == AppProtocol::kUnknown);  // The length field no longer matches.
  }
}

TEST_CASE("netbios-dgm: malformed datagrams are not named", "[dpi][lan]") {
  auto d = MakeNetbiosDgmDissector();
  const FlowInfo flow{kIpProtoUdp, 138, 138};
  const Bytes smb = SmbOverDatagram();
  auto named = [&](const Bytes& datagram, DpiAnomalies* a) {
    AppRecord r;
    (void)testing::FeedSession(*d, flow, {{true, datagram}}, testing::Split::kWhole, &r, a);
    return r.protocol == AppProtocol::kSmb;
  };
  DpiAnomalies a;
  Bytes not_smb = Nbdgm("NVR9", "WORKGROUP", Bytes(40, 0x42));  // data_not_smb
  CHECK_FALSE(named(not_smb, &a));
  Bytes bad_length = Nbdgm("NVR9", "WORKGROUP", smb);
  bad_length[11] ^= 1;  // dgm_length_not_matching_datagram
  CHECK_FALSE(named(bad_length, &a));
  Bytes bad_type = Nbdgm("NVR9", "WORKGROUP", smb);
  bad_type[0] = 0x13;  // type_not_a_datagram (0x13 is an error message)
  CHECK_FALSE(d->Probe(flow, true, bad_type));
  CHECK_FALSE(named(bad_type, &a));
  CHECK(a.empty());
  Bytes bad_name = Nbdgm("NVR9", "WORKGROUP", smb);
  bad_name[15] = 'Z';  // netbios_name_malformed: outside 'A'-'P'.
  CHECK_FALSE(named(bad_name, &a));
  CHECK(a == DpiAnomalies{{"netbios_name_malformed", 1}});
}

}  // namespace
}  // namespace rustnet
