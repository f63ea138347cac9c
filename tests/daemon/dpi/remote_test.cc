// RDP, VNC, Telnet at every split; malformed cases named after their
// defect.
#include "daemon/dpi/remote.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::Put16;
using testing::Put8;
using testing::PutBytes;
using testing::Split;
using testing::Text;

const FlowInfo kFlow{kIpProtoTcp, 40000, 13389};

// TPKT + X.224 (code) + `rest`.
Bytes Tpkt(uint8_t code, const Bytes& rest) {
  Bytes x224 = {6, code, 0, 0, 0, 0, 0};
  x224[0] = static_cast<uint8_t>(6 + rest.size());
  PutBytes(x224, rest);
  Bytes out;
  Put8(out, 3);
  Put8(out, 0);
  Put16(out, static_cast<uint16_t>(x224.size() + 4));
  PutBytes(out, x224);
  return out;
}

Bytes NegMessage(uint8_t type, uint32_t protocols) {
  return {type, 0, 8, 0, static_cast<uint8_t>(protocols), 0, 0, 0};
}

TEST_CASE("rdp: mstshash cookie, TLS requested and selected, then the ClientHello",
          "[dpi][remote]") {
  auto d = MakeRdpDissector();
  Bytes request_body = Text("Cookie: mstshash=alice\r\n");
  PutBytes(request_body, NegMessage(1, 3));
  const Bytes request = Tpkt(0xe0, request_body);
  CHECK(d->Probe(kFlow, true, request));
  testing::HelloSpec spec;
  spec.sni = "";
  const std::vector<Chunk> chunks = {
      {true, request},
      {false, Tpkt(0xd0, NegMessage(2, 1))},
      {true, testing::TlsRecords(testing::MakeClientHelloMessage(spec))},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    testing::FeedSession(*d, kFlow, chunks, split, &r, &a);
    CHECK(r.protocol == AppProtocol::kRdp);
    CHECK(r.lan->user == "alice");
    CHECK(r.lan->tls);
    CHECK(r.tls->client_hello_seen);
    CHECK(r.Label() == "RDP \u00b7 alice");
    CHECK(a.empty());
  }
}

TEST_CASE("rdp: standard security ends at the confirm; rdp_cookie_malformed", "[dpi][remote]") {
  auto d = MakeRdpDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{true, Tpkt(0xe0, NegMessage(1, 0))},
                              {false, Tpkt(0xd0, NegMessage(2, 0))}},
                             Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kRdp);
  CHECK_FALSE(r.lan->tls);
  AppRecord r2;
  testing::FeedSession(*d, kFlow, {{true, Tpkt(0xe0, Text("Cookie: mstshash=bob"))}},
                       Split::kWhole, &r2, &a);
  CHECK(r2.protocol == AppProtocol::kRdp);
  CHECK(r2.lan->user.empty());
  CHECK(a == DpiAnomalies{{"rdp_cookie_malformed", 1}});
}

TEST_CASE("rdp: a TPKT that is not a connection request is not RDP", "[dpi][remote]") {
  auto d = MakeRdpDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, Tpkt(0xf0, {})}}, Split::kWhole, &r, &a) ==
        ParseState::kNotMine);
  CHECK_FALSE(d->Probe(kFlow, true, Text("GET /")));
}

TEST_CASE("vnc: the server's RFB version at every split", "[dpi][remote]") {
  auto d = MakeVncDissector();
  CHECK(d->Probe(kFlow, false, Text("RFB 003.008\n")));
  CHECK(d->Probe(kFlow, false, Text("RFB 0")));
  CHECK_FALSE(d->Probe(kFlow, false, Text("RFB x")));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow,
                               {{false, Text("RFB 003.008\n")}, {true, Text("RFB 003.008\n")}},
                               split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kVnc);
    CHECK(r.lan->version == "RFB 003.008");
  }
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{false, Text("RFB 003.00x\n")}}, Split::kWhole, &r,
                             &a) == ParseState::kNotMine);
}

TEST_CASE("telnet: option negotiation at every split; one stray 0xff is not telnet",
          "[dpi][remote]") {
  auto d = MakeTelnetDissector();
  const Bytes nego = {0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20, 0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0};
  CHECK(d->Probe(kFlow, false, nego));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{false, nego}}, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kTelnet);
  }
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{false, Bytes{0xff, 0x01, 'x'}}}, Split::kWhole, &r,
                             &a) == ParseState::kNotMine);
  CHECK(testing::FeedSession(*d, kFlow, {{false, Bytes{'l', 'o', 'g', 'i', 'n'}}},
                             Split::kWhole, &r, &a) == ParseState::kNotMine);
}

}  // namespace
}  // namespace rustnet
