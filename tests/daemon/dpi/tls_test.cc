#include "daemon/dpi/tls.h"

#include <catch2/catch.hpp>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::HelloSpec;
using testing::Split;

const FlowInfo kFlow{kIpProtoTcp, 51000, 443};

Bytes ServerHello(uint16_t version, uint16_t cipher) {
  Bytes body;
  testing::Put16(body, 0x0303);
  body.insert(body.end(), 32, 0x44);
  testing::Put8(body, 0);
  testing::Put16(body, cipher);
  testing::Put8(body, 0);
  Bytes ext;
  testing::Put16(ext, 0x002b);
  testing::Put16(ext, 2);
  testing::Put16(ext, version);
  testing::Put16(body, static_cast<uint16_t>(ext.size()));
  testing::PutBytes(body, ext);
  Bytes msg = {2, 0};
  testing::Put16(msg, static_cast<uint16_t>(body.size()));
  testing::PutBytes(msg, body);
  return testing::TlsRecords(msg);
}

TEST_CASE("tls: ClientHello and ServerHello whole, byte by byte and at random splits",
          "[dpi][tls]") {
  auto d = MakeTlsDissector();
  HelloSpec spec;
  spec.ech = true;
  const std::vector<Chunk> chunks = {
      {true, testing::TlsRecords(testing::MakeClientHelloMessage(spec))},
      {false, ServerHello(0x0304, 0x1301)},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, chunks, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kTls);
    CHECK(r.tls.sni == "example.com");
    CHECK(r.tls.alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(r.tls.offered_versions == std::vector<std::string>{"TLS 1.3", "TLS 1.2"});
    CHECK(r.tls.version == "TLS 1.3");
    CHECK(r.tls.cipher_suite == "0x1301");
    CHECK(r.tls.ech_offered);
    // JA4 a-part: TCP, TLS 1.3, SNI, 4 ciphers and 5 extensions without
    // GREASE, ALPN "h2".
    CHECK(r.tls.ja4.substr(0, 10) == "t13d0405h2");
    CHECK(r.tls.ja4.size() == 36);
    CHECK(a.empty());
  }
}

TEST_CASE("tls: a ClientHello over several records and segments is reassembled",
          "[dpi][tls]") {
  // Post-quantum key shares make ClientHellos of 1.5-2 KB: several TCP
  // segments, here also several records.
  auto d = MakeTlsDissector();
  HelloSpec spec;
  spec.padding = 3000;
  const Bytes records = testing::TlsRecords(testing::MakeClientHelloMessage(spec), 1000);
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, kFlow, {{true, records}}, Split::kRandom, &r, &a, 7);
  CHECK(r.tls.sni == "example.com");
  CHECK(r.tls.client_hello_seen);
}

TEST_CASE("tls: JA4 letters follow the spec: no SNI is 'i', ALPN first and last char",
          "[dpi][tls]") {
  HelloSpec spec;
  spec.sni = "";
  spec.alpn = {"http/1.1"};
  spec.versions = {};
  TlsFacts t;
  const Bytes msg = testing::MakeClientHelloMessage(spec);
  REQUIRE(ParseClientHello(std::span<const uint8_t>(msg).subspan(4), false, &t, nullptr));
  CHECK(t.ja4.substr(0, 10) == "t12i0402h1");
  TlsFacts q;
  REQUIRE(ParseClientHello(std::span<const uint8_t>(msg).subspan(4), true, &q, nullptr));
  CHECK(q.ja4[0] == 'q');
}

TEST_CASE("tls: tls_sni_length_past_extension is counted, the rest still parsed",
          "[dpi][tls]") {
  HelloSpec spec;
  Bytes msg = testing::MakeClientHelloMessage(spec);
  // The SNI name length sits right after "00 00 LL LL LL LL 00" of the
  // extension; make it claim more than the extension holds.
  const Bytes needle = {0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  auto it = std::search(msg.begin(), msg.end(), needle.begin(), needle.end());
  REQUIRE(it != msg.end());
  *(it + 1) = 0x7f;
  TlsFacts t;
  DpiAnomalies a;
  CHECK(ParseClientHello(std::span<const uint8_t>(msg).subspan(4), false, &t, &a));
  CHECK(a["tls_sni_length_past_extension"] == 1);
  CHECK(t.sni.empty());
  CHECK(t.alpn.size() == 2);
}

TEST_CASE("tls: truncated ClientHello bodies fail cleanly at every length", "[dpi][tls]") {
  const Bytes msg = testing::MakeClientHelloMessage(HelloSpec{});
  const auto body = std::span<const uint8_t>(msg).subspan(4);
  for (size_t n = 0; n < body.size(); ++n) {
    TlsFacts t;
    DpiAnomalies a;
    const bool ok = ParseClientHello(body.subspan(0, n), false, &t, &a);
    if (!ok) CHECK_FALSE(a.empty());
  }
}

TEST_CASE("tls: tls_handshake_too_long past 64 KiB", "[dpi][tls]") {
  auto d = MakeTlsDissector();
  // A handshake message claiming 100 KB, sent in full records.
  Bytes hs = {1, 0x01, 0x86, 0xa0};
  hs.resize(4 + 100'000, 0);
  AppRecord r;
  DpiAnomalies a;
  const ParseState s =
      testing::FeedSession(*d, kFlow, {{true, testing::TlsRecords(hs)}}, Split::kWhole, &r, &a);
  CHECK(s == ParseState::kNotMine);
  CHECK(a["tls_handshake_too_long"] == 1);
}

TEST_CASE("tls: probe accepts a ClientHello start and refuses other bytes", "[dpi][tls]") {
  auto d = MakeTlsDissector();
  const Bytes hello = testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}));
  CHECK(d->Probe(kFlow, true, hello));
  CHECK(d->Probe(kFlow, true, std::span<const uint8_t>(hello).subspan(0, 1)));
  CHECK_FALSE(d->Probe(kFlow, false, hello));
  CHECK_FALSE(d->Probe(kFlow, true, testing::Text("GET / HTTP/1.1\r\n")));
  CHECK_FALSE(d->Probe(FlowInfo{kIpProtoUdp, 1, 443}, true, hello));
}

}  // namespace
}  // namespace rustnet
