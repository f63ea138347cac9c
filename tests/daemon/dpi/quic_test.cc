#include "daemon/dpi/quic.h"

#include <catch2/catch.hpp>
#include <array>
#include <cstring>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"
#include "tests/daemon/dpi/quic_seal.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;

Bytes Hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

template <size_t N>
Bytes ToBytes(const std::array<uint8_t, N>& a) {
  return Bytes(a.begin(), a.end());
}

const Bytes kDcid = Hex("8394c8f03e515708");  // RFC 9001 Appendix A.

TEST_CASE("quic: RFC 9001 A.1 client Initial keys", "[dpi][quic]") {
  auto k = DeriveClientInitialKeys(1, kDcid);
  REQUIRE(k);
  CHECK(ToBytes(k->key) == Hex("1f369613dd76d5467730efcbe3b1a22d"));
  CHECK(ToBytes(k->iv) == Hex("fa044b2f42a3fd3b46fb255c"));
  CHECK(ToBytes(k->hp) == Hex("9f50449e04a0e810283a1e9933adedd2"));
}

TEST_CASE("quic: RFC 9369 A.1 QUIC v2 client Initial keys", "[dpi][quic]") {
  auto k = DeriveClientInitialKeys(0x6b3343cf, kDcid);
  REQUIRE(k);
  CHECK(ToBytes(k->key) == Hex("8b1a0bc121284290a29e0971b5cd045d"));
  CHECK(ToBytes(k->iv) == Hex("91f73e2351d8fa91660e909f"));
  CHECK(ToBytes(k->hp) == Hex("45b95e15235d6f45a6b19cbcb0294ba9"));
}

TEST_CASE("quic: unknown versions have no keys; names", "[dpi][quic]") {
  CHECK_FALSE(DeriveClientInitialKeys(0x12345678, kDcid));
  CHECK(QuicVersionName(1) == "v1");
  CHECK(QuicVersionName(0x6b3343cf) == "v2");
  CHECK(QuicVersionName(0xff00001d) == "draft-29");
  CHECK(QuicVersionName(0x51303530) == "Q050");
}

Bytes CryptoFrame(uint64_t offset, const Bytes& data) {
  Bytes f = {0x06};
  // Two-byte varints for offset and length (values < 16384).
  Put16(f, static_cast<uint16_t>(0x4000 | offset));
  Put16(f, static_cast<uint16_t>(0x4000u | data.size()));
  PutBytes(f, data);
  return f;
}

// A client Initial packet protected as RFC 9001 §5 says, carrying `frames`
// padded to 1100 bytes of frames, with a 4-byte packet number.
Bytes ProtectedInitial(uint32_t version, uint32_t pn, Bytes frames,
                       const Bytes& dcid = Bytes(kDcid.begin(), kDcid.end())) {
  testing::InitialSpec spec;
  spec.version = version;
  spec.pn = pn;
  spec.dcid = dcid;
  Bytes packet = testing::SealInitial(spec, std::move(frames));
  REQUIRE_FALSE(packet.empty());
  return packet;
}

const FlowInfo kFlow{kIpProtoUdp, 50000, 443};

TEST_CASE("quic: a ClientHello in one Initial is decrypted and parsed", "[dpi][quic]") {
  for (uint32_t version : {0x00000001u, 0x6b3343cfu, 0xff00001du, 0xff000022u}) {
    testing::HelloSpec spec;
    spec.sni = "quic.example";
    spec.alpn = {"h3"};
    const Bytes hello = testing::MakeClientHelloMessage(spec);
    auto d = MakeQuicDissector();
    const Bytes packet = ProtectedInitial(version, 0, CryptoFrame(0, hello));
    CHECK(d->Probe(kFlow, true, packet));
    AppRecord r;
    DpiAnomalies a;
    INFO(QuicVersionName(version));
    CHECK(testing::FeedSession(*d, kFlow, {{true, packet}}, testing::Split::kWhole, &r, &a) ==
          ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kQuic);
    CHECK(r.quic_version == QuicVersionName(version));
    CHECK(r.tls->sni == "quic.example");
    CHECK(r.tls->ja4.substr(0, 4) == "q13d");
    CHECK(a.empty());
  }
}

TEST_CASE("quic: CRYPTO data across two Initials, second one first", "[dpi][quic]") {
  testing::HelloSpec spec;
  spec.sni = "split.example";
  spec.padding = 1500;  // Larger than one packet.
  const Bytes hello = testing::MakeClientHelloMessage(spec);
  const size_t half = hello.size() / 2;
  const Bytes first(hello.begin(), hello.begin() + static_cast<ptrdiff_t>(half));
  const Bytes second(hello.begin() + static_cast<ptrdiff_t>(half), hello.end());
  auto d = MakeQuicDissector();
  auto session = d->NewSession(kFlow);
  AppRecord r;
  DpiAnomalies a;
  const Bytes p2 = ProtectedInitial(1, 1, CryptoFrame(half, second));
  const Bytes p1 = ProtectedInitial(1, 0, CryptoFrame(0, first));
  CHECK(session->Feed(true, p2, &r, &a) == ParseState::kNeedMore);
  CHECK(session->Feed(true, p1, &r, &a) == ParseState::kDone);
  CHECK(r.tls->sni == "split.example");
}

TEST_CASE("quic: coalesced Initials in one datagram", "[dpi][quic]") {
  testing::HelloSpec spec;
  spec.sni = "coalesced.example";
  const Bytes hello = testing::MakeClientHelloMessage(spec);
  const size_t cut = 100;
  Bytes datagram = ProtectedInitial(1, 0, CryptoFrame(cut, Bytes(hello.begin() + cut, hello.end())));
  PutBytes(datagram, ProtectedInitial(1, 1, CryptoFrame(0, Bytes(hello.begin(), hello.begin() + cut))));
  uint32_t version = 0;
  DpiAnomalies a;
  CHECK(DecryptClientInitials(datagram, &version, &a).size() == 2);
  auto d = MakeQuicDissector();
  AppRecord r;
  CHECK(testing::FeedSession(*d, kFlow, {{true, datagram}}, testing::Split::kWhole, &r, &a) ==
        ParseState::kDone);
  CHECK(r.tls->sni == "coalesced.example");
}

TEST_CASE("quic: the key cache keeps a flow's keys and is used", "[dpi][quic]") {
  testing::HelloSpec spec;
  const Bytes packet = ProtectedInitial(1, 0, CryptoFrame(0, testing::MakeClientHelloMessage(spec)));
  uint32_t version = 0;
  DpiAnomalies a;
  QuicKeyCache cache;
  REQUIRE(DecryptClientInitials(packet, &version, &a, &cache).size() == 1);
  REQUIRE(cache.keys);
  CHECK(cache.version == 1);
  CHECK(Bytes(cache.dcid.begin(), cache.dcid.begin() + cache.dcid_len) == kDcid);
  CHECK(cache.keys->key == DeriveClientInitialKeys(1, kDcid)->key);
  // The cached keys are what decrypts: spoil them and the same packet
  // fails; the same DCID under another version derives afresh.
  cache.keys->key[0] ^= 1;
  CHECK(DecryptClientInitials(packet, &version, &a, &cache).empty());
  CHECK(a["quic_initial_decrypt_failed"] == 1);
  cache.version = 2;
  CHECK(DecryptClientInitials(packet, &version, &a, &cache).size() == 1);
  CHECK(cache.version == 1);
}

TEST_CASE("quic: damaged packets are counted, never crash", "[dpi][quic]") {
  testing::HelloSpec spec;
  const Bytes good = ProtectedInitial(1, 0, CryptoFrame(0, testing::MakeClientHelloMessage(spec)));
  Bytes flipped = good;
  flipped[good.size() - 20] ^= 0x01;  // Breaks the AEAD tag check.
  uint32_t version = 0;
  DpiAnomalies a;
  CHECK(DecryptClientInitials(flipped, &version, &a).empty());
  CHECK(a["quic_initial_decrypt_failed"] == 1);
  for (size_t n = 0; n < good.size(); n += 7) {
    (void)DecryptClientInitials(std::span<const uint8_t>(good).subspan(0, n), &version, &a);
  }
  Bytes lying = good;
  lying[1 + 4 + 1 + 8 + 1 + 1] = 0x7f;  // Length varint claims more than the datagram.
  lying[1 + 4 + 1 + 8 + 1 + 2] = 0xff;
  CHECK(DecryptClientInitials(lying, &version, &a).empty());
}

// Regression: the ClientHello parser's result was once ignored here. A
// decrypted ClientHello that is malformed is counted (by TLS's name and
// QUIC's), the flow stays QUIC, and no TLS facts are left behind.
TEST_CASE("quic: quic_client_hello_malformed: the decrypted ClientHello fails to parse",
          "[dpi][quic]") {
  testing::HelloSpec spec;
  spec.sni = "bad.example";
  Bytes hello = testing::MakeClientHelloMessage(spec);
  hello[4 + 2 + 32] = 33;  // A session id longer than 32 bytes.
  const Bytes packet = ProtectedInitial(1, 0, CryptoFrame(0, hello));
  auto d = MakeQuicDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, packet}}, testing::Split::kWhole, &r, &a) ==
        ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kQuic);
  CHECK(r.quic_version == "v1");
  CHECK_FALSE(r.tls->client_hello_seen);
  CHECK(r.tls->sni.empty());
  CHECK(r.tls->ja4.empty());
  CHECK(a == DpiAnomalies{{"quic_client_hello_malformed", 1},
                          {"tls_client_hello_bad_session_id", 1}});
}

TEST_CASE("quic: quic_crypto_not_client_hello when CRYPTO starts with another message",
          "[dpi][quic]") {
  Bytes not_hello = testing::MakeClientHelloMessage(testing::HelloSpec{});
  not_hello[0] = 2;
  auto d = MakeQuicDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, ProtectedInitial(1, 0, CryptoFrame(0, not_hello))}},
                             testing::Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kQuic);
  CHECK(r.tls->sni.empty());
  CHECK(a == DpiAnomalies{{"quic_crypto_not_client_hello", 1}});
}

TEST_CASE("quic: quic_frame_malformed for a frame that runs past its packet", "[dpi][quic]") {
  // CONNECTION_CLOSE whose reason claims 16,383 bytes.
  const Bytes close = {0x1c, 0x00, 0x00, 0x7f, 0xff};
  const Bytes packet = ProtectedInitial(1, 0, close);
  auto d = MakeQuicDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, packet}}, testing::Split::kWhole, &r, &a) ==
        ParseState::kNeedMore);
  CHECK(r.protocol == AppProtocol::kQuic);
  CHECK(a == DpiAnomalies{{"quic_frame_malformed", 1}});
}

TEST_CASE("quic: a CRYPTO frame past the packet is quic_crypto_frame_truncated", "[dpi][quic]") {
  Bytes frame = {0x06, 0x00};
  Put16(frame, 0x4000 | 2000);  // Longer than the 1,100 bytes of frames.
  uint32_t version = 0;
  DpiAnomalies a;
  auto plains = DecryptClientInitials(ProtectedInitial(1, 0, frame), &version, &a);
  REQUIRE(plains.size() == 1);
  auto d = MakeQuicDissector();
  AppRecord r;
  testing::FeedSession(*d, kFlow, {{true, ProtectedInitial(1, 0, frame)}}, testing::Split::kWhole,
                       &r, &a);
  CHECK(a["quic_crypto_frame_truncated"] == 1);
}

// Google QUIC (Q043): public header, then the CHLO in clear.
Bytes GquicChlo(uint32_t sni_end, const std::string& values) {
  Bytes b = {0x09};
  b.insert(b.end(), 8, 0x55);  // Connection id.
  PutBytes(b, testing::Text("Q043"));
  b.insert(b.end(), 10, 0);  // Packet number, hash and the rest before the CHLO.
  PutBytes(b, testing::Text("CHLO"));
  PutBytes(b, {1, 0, 0, 0});  // One entry (little-endian), padding.
  PutBytes(b, {'S', 'N', 'I', 0});
  PutBytes(b, {static_cast<uint8_t>(sni_end), static_cast<uint8_t>(sni_end >> 8), 0, 0});
  PutBytes(b, testing::Text(values));
  return b;
}

TEST_CASE("quic: gQUIC's CHLO gives the SNI; an offset past its values is gquic_chlo_bad_offset",
          "[dpi][quic]") {
  auto d = MakeQuicDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(d->Probe(kFlow, true, GquicChlo(6, "g.test")));
  CHECK(testing::FeedSession(*d, kFlow, {{true, GquicChlo(6, "g.test")}}, testing::Split::kWhole,
                             &r, &a) == ParseState::kDone);
  CHECK(r.quic_version == "Q043");
  CHECK(r.tls->sni == "g.test");
  CHECK(a.empty());
  AppRecord bad;
  testing::FeedSession(*d, kFlow, {{true, GquicChlo(60, "g.test")}}, testing::Split::kWhole, &bad,
                       &a);
  CHECK(bad.tls->sni.empty());
  CHECK(a == DpiAnomalies{{"gquic_chlo_bad_offset", 1}});
}

}  // namespace
}  // namespace rustnet

namespace rustnet {
namespace {

TEST_CASE("quic: every version family nDPI knows is decrypted", "[dpi][quic]") {
  // Drafts 22-28 (two salts), mvfst (draft-22 and draft-27 keys), the v2
  // draft (v2 labels and packet types, its own salt; checked against
  // ngtcp2 in dpi_breadth_fixtures_test) and gQUIC over TLS (T051).
  const std::pair<uint32_t, const char*> kVersions[] = {
      {0xff000016u, "draft-22"}, {0xff000017u, "draft-23"}, {0xff00001au, "draft-26"},
      {0xfaceb001u, "mvfst-22"}, {0xfaceb002u, "mvfst-27"}, {0xfaceb00eu, "mvfst-exp"},
      {0x709a50c4u, "v2-draft"}, {0x54303531u, "T051"}};
  for (const auto& [version, name] : kVersions) {
    INFO(name);
    testing::HelloSpec spec;
    spec.sni = "families.example";
    spec.alpn = {"h3"};
    const Bytes packet =
        ProtectedInitial(version, 0, CryptoFrame(0, testing::MakeClientHelloMessage(spec)));
    auto d = MakeQuicDissector();
    CHECK(d->Probe(kFlow, true, packet));
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{true, packet}}, testing::Split::kWhole, &r, &a) ==
          ParseState::kDone);
    CHECK(r.quic_version == name);
    CHECK(r.tls->sni == "families.example");
    CHECK(a.empty());
  }
  // The v2 draft and v2 final keys differ (their salts do).
  CHECK(DeriveClientInitialKeys(0x709a50c4, kDcid)->key !=
        DeriveClientInitialKeys(0x6b3343cf, kDcid)->key);
}

TEST_CASE("quic: crypto frames span Initials sent with different DCIDs", "[dpi][quic]") {
  // After a Retry or a server-chosen CID the client's next Initial carries
  // a new DCID: its keys follow the DCID each packet carries.
  testing::HelloSpec spec;
  spec.sni = "two-dcids.example";
  spec.padding = 600;
  const Bytes hello = testing::MakeClientHelloMessage(spec);
  const auto half = static_cast<ptrdiff_t>(hello.size() / 2);
  const Bytes head(hello.begin(), hello.begin() + half);
  const Bytes tail(hello.begin() + half, hello.end());
  const Bytes first = ProtectedInitial(1, 0, CryptoFrame(0, head));
  const Bytes second = ProtectedInitial(1, 1, CryptoFrame(head.size(), tail),
                                        Bytes{0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59});
  auto d = MakeQuicDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, first}, {true, second}}, testing::Split::kWhole,
                             &r, &a) == ParseState::kDone);
  CHECK(r.tls->sni == "two-dcids.example");
  CHECK(a.empty());
}

TEST_CASE("quic: a reserved version probes for version negotiation", "[dpi][quic]") {
  // RFC 9000 §6/§15: 0x?a?a?a?a, padded to 1200 bytes: QUIC, no keys.
  Bytes probe = {0xc3};
  Put32(probe, 0x1a2a3a4a);
  Put8(probe, 8);
  PutBytes(probe, Bytes(8, 0x77));
  Put8(probe, 0);
  probe.resize(1200, 0);
  auto d = MakeQuicDissector();
  CHECK(d->Probe(kFlow, true, probe));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, probe}}, testing::Split::kWhole, &r, &a) ==
        ParseState::kNeedMore);
  CHECK(r.protocol == AppProtocol::kQuic);
  CHECK(r.quic_version == "reserved");
  CHECK(a.empty());
  // Shorter than a client's first datagram, or without the fixed bit: not claimed.
  Bytes short_probe(probe.begin(), probe.begin() + 600);
  CHECK_FALSE(d->Probe(kFlow, true, short_probe));
  Bytes no_fixed_bit = probe;
  no_fixed_bit[0] = 0x83;
  CHECK_FALSE(d->Probe(kFlow, true, no_fixed_bit));
  CHECK(QuicVersionName(0) == "version-negotiation");
}

// --- Version families, packet layouts and byte limits (issue 19) ------------

Bytes Hello(const std::string& sni, size_t padding = 0) {
  testing::HelloSpec spec;
  spec.sni = sni;
  spec.alpn = {"h3"};
  spec.padding = padding;
  return testing::MakeClientHelloMessage(spec);
}

// Feeds the datagrams to a fresh QUIC session, all from the client.
ParseState FeedDatagrams(const std::vector<Bytes>& datagrams, AppRecord* r, DpiAnomalies* a) {
  auto d = MakeQuicDissector();
  std::vector<testing::Chunk> chunks;
  for (const Bytes& g : datagrams) chunks.push_back({true, g});
  return testing::FeedSession(*d, kFlow, chunks, testing::Split::kWhole, r, a);
}

TEST_CASE("quic: every IETF draft 22-34 is named and decrypted with its draft's salt",
          "[dpi][quic]") {
  for (uint32_t draft = 22; draft <= 34; ++draft) {
    const uint32_t version = 0xff000000u | draft;
    INFO("draft " << draft);
    AppRecord r;
    DpiAnomalies a;
    CHECK(FeedDatagrams({ProtectedInitial(version, 0, CryptoFrame(0, Hello("drafts.example")))},
                        &r, &a) == ParseState::kDone);
    CHECK(r.quic_version == "draft-" + std::to_string(draft));
    CHECK(r.tls->sni == "drafts.example");
    CHECK(a.empty());
  }
  // The salts as nDPI (and Wireshark) group the drafts: 22 alone, 23-28,
  // 29-32, then 33-34 with v1's; mvfst takes draft 22's and 27's.
  auto key = [](uint32_t v) { return DeriveClientInitialKeys(v, kDcid)->key; };
  CHECK(key(0xff000016) != key(0xff000017));
  for (uint32_t d = 0xff000018; d <= 0xff00001c; ++d) CHECK(key(d) == key(0xff000017));
  CHECK(key(0xff00001d) != key(0xff00001c));
  for (uint32_t d = 0xff00001e; d <= 0xff000020; ++d) CHECK(key(d) == key(0xff00001d));
  CHECK(key(0xff000021) == key(1));
  CHECK(key(0xff000022) == key(1));
  CHECK(key(0xfaceb001) == key(0xff000016));
  CHECK(key(0xfaceb002) == key(0xff00001b));
  CHECK(key(0xfaceb00e) == key(0xff00001b));
  // Drafts before 22 and after 34 have no keys (not guessed).
  CHECK_FALSE(DeriveClientInitialKeys(0xff000015, kDcid));
  CHECK_FALSE(DeriveClientInitialKeys(0xff000023, kDcid));
}

TEST_CASE("quic: Google QUIC families: Q046 in clear, Q050 and T050/T051 encrypted",
          "[dpi][quic]") {
  // Q050: IETF long header, encrypted with its own salt; the CHLO travels
  // in gQUIC's CRYPTO frame (type 0x08).
  Bytes chlo = testing::Text("CHLO");
  PutBytes(chlo, {1, 0, 0, 0, 'S', 'N', 'I', 0, 7, 0, 0, 0});
  PutBytes(chlo, testing::Text("q50.net"));
  Bytes q050_frame = CryptoFrame(0, chlo);
  q050_frame[0] = 0x08;
  AppRecord q050;
  DpiAnomalies a;
  CHECK(FeedDatagrams({ProtectedInitial(0x51303530, 1, q050_frame)}, &q050, &a) ==
        ParseState::kDone);
  CHECK(q050.quic_version == "Q050");
  CHECK(q050.tls->sni == "q50.net");
  // T050: gQUIC with a TLS ClientHello in IETF CRYPTO frames.
  AppRecord t050;
  CHECK(FeedDatagrams({ProtectedInitial(0x54303530, 0, CryptoFrame(0, Hello("t50.net")))}, &t050,
                      &a) == ParseState::kDone);
  CHECK(t050.quic_version == "T050");
  CHECK(t050.tls->sni == "t50.net");
  // Q046: long header, CHLO in clear.
  Bytes q046 = {0xc3};
  Put32(q046, 0x51303436);
  Put8(q046, 0x50);  // Q046's DCID/SCID length nibbles.
  PutBytes(q046, Bytes(8, 0x11));
  PutBytes(q046, Bytes(4, 0));  // Packet number.
  PutBytes(q046, chlo);
  AppRecord r046;
  CHECK(FeedDatagrams({q046}, &r046, &a) == ParseState::kDone);
  CHECK(r046.quic_version == "Q046");
  CHECK(r046.tls->sni == "q50.net");
  CHECK(a.empty());
}

TEST_CASE("quic: 1-4 byte packet numbers, expanded against the largest seen (RFC 9000 A.3)",
          "[dpi][quic]") {
  const Bytes hello = Hello("pn.example", 1500);
  const size_t half = hello.size() / 2;
  for (size_t first_len = 1; first_len <= 4; ++first_len) {
    INFO("first packet number length " << first_len);
    // pn 200, then pn 300 sent with a 1-byte packet number (0x2c): only
    // the expansion from 200 gives the nonce the client sealed with.
    testing::InitialSpec one;
    one.pn = 200;
    one.pn_len = first_len == 1 ? 2 : first_len;  // 200 needs 2 bytes of window.
    testing::InitialSpec two;
    two.pn = 300;
    two.pn_len = 1;
    const Bytes p1 = testing::SealInitial(one, CryptoFrame(0, Bytes(hello.begin(), hello.begin() + static_cast<ptrdiff_t>(half))));
    const Bytes p2 = testing::SealInitial(two, CryptoFrame(half, Bytes(hello.begin() + static_cast<ptrdiff_t>(half), hello.end())));
    AppRecord r;
    DpiAnomalies a;
    CHECK(FeedDatagrams({p1, p2}, &r, &a) == ParseState::kDone);
    CHECK(r.tls->sni == "pn.example");
    CHECK(a.empty());
  }
  CHECK(DecodePacketNumber(-1, 0, 1) == 0);
  CHECK(DecodePacketNumber(200, 0x2c, 1) == 300);
  CHECK(DecodePacketNumber(0xa82f30ea, 0x9b32, 2) == 0xa82f9b32);  // RFC 9000 A.3's example.
  CHECK(DecodePacketNumber(300, 0xff, 1) == 255);                  // Just behind: not ahead.
}

TEST_CASE("quic: header layouts: a Retry token, a SCID, 4- and 8-byte Length fields",
          "[dpi][quic]") {
  for (size_t length_bytes : {2u, 4u, 8u}) {
    testing::InitialSpec spec;
    spec.token = Bytes(80, 0x7e);  // A Retry token: a 2-byte token length.
    spec.scid = {1, 2, 3, 4, 5};
    spec.length_bytes = length_bytes;
    AppRecord r;
    DpiAnomalies a;
    INFO("length bytes " << length_bytes);
    CHECK(FeedDatagrams({testing::SealInitial(spec, CryptoFrame(0, Hello("layout.example")))}, &r,
                        &a) == ParseState::kDone);
    CHECK(r.tls->sni == "layout.example");
    CHECK(a.empty());
  }
}

TEST_CASE("quic: frame layouts: PADDING, PING and ACK around CRYPTO frames out of order",
          "[dpi][quic]") {
  const Bytes hello = Hello("frames.example", 400);
  const size_t a_end = 40, b_end = 200;
  REQUIRE(hello.size() > b_end);
  const Bytes part_a(hello.begin(), hello.begin() + a_end);
  const Bytes part_b(hello.begin() + a_end, hello.begin() + b_end);
  const Bytes part_c(hello.begin() + b_end, hello.end());
  const Bytes ping = {0x01};
  const Bytes ack = {0x02, 0x05, 0x00, 0x01, 0x02, 0x01, 0x00};  // Largest 5, one more range.
  const Bytes ack_ecn = {0x03, 0x05, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03};
  const Bytes padding(37, 0x00);
  std::vector<std::pair<const char*, Bytes>> layouts;
  Bytes f;
  // Chromium's "chaos protection": PADDING, PING and CRYPTO pieces shuffled.
  f = padding;
  PutBytes(f, CryptoFrame(b_end, part_c));
  PutBytes(f, ping);
  PutBytes(f, padding);
  PutBytes(f, CryptoFrame(0, part_a));
  PutBytes(f, ack);
  PutBytes(f, CryptoFrame(a_end, part_b));
  layouts.emplace_back("padding first, crypto reversed, ping and ack between", f);
  f = ack_ecn;
  PutBytes(f, CryptoFrame(a_end, part_b));
  PutBytes(f, CryptoFrame(0, part_a));
  PutBytes(f, CryptoFrame(b_end, part_c));
  PutBytes(f, ping);
  layouts.emplace_back("ack with ECN counts first", f);
  // The same bytes twice (a retransmission) and an overlap.
  f = CryptoFrame(0, part_a);
  PutBytes(f, CryptoFrame(0, Bytes(hello.begin(), hello.begin() + b_end)));
  PutBytes(f, CryptoFrame(a_end, part_b));
  PutBytes(f, CryptoFrame(b_end, part_c));
  layouts.emplace_back("overlapping and repeated crypto", f);
  for (const auto& [name, frames] : layouts) {
    INFO(name);
    AppRecord r;
    DpiAnomalies a;
    CHECK(FeedDatagrams({ProtectedInitial(1, 0, frames)}, &r, &a) == ParseState::kDone);
    CHECK(r.tls->sni == "frames.example");
    CHECK(a.empty());
  }
}

TEST_CASE("quic: datagram layouts: padding after the packet, Handshake and 0-RTT coalesced",
          "[dpi][quic]") {
  const Bytes hello = Hello("datagram.example");
  // The Initial is short (no PADDING frames); the datagram is padded to
  // 1200 with zeros after it (RFC 9000 §14.1 allows either).
  testing::InitialSpec spec;
  spec.pad_to = 0;
  Bytes datagram = testing::SealInitial(spec, CryptoFrame(0, hello));
  datagram.resize(1200, 0);
  AppRecord r;
  DpiAnomalies a;
  CHECK(FeedDatagrams({datagram}, &r, &a) == ParseState::kDone);
  CHECK(r.tls->sni == "datagram.example");
  CHECK(a.empty());
  // A 0-RTT (type 1) and a Handshake (type 2) packet of the same version
  // after the Initial: skipped by their Length.
  Bytes coalesced = testing::SealInitial(spec, CryptoFrame(0, hello));
  for (int type : {0xd0, 0xe0}) {
    Bytes other = {static_cast<uint8_t>(type | 0x03), 0, 0, 0, 1, 8};
    PutBytes(other, kDcid);
    PutBytes(other, {0, 0x40, 40});
    PutBytes(other, Bytes(40, 0xab));
    PutBytes(coalesced, other);
  }
  AppRecord c;
  CHECK(FeedDatagrams({coalesced}, &c, &a) == ParseState::kDone);
  CHECK(c.tls->sni == "datagram.example");
  CHECK(a.empty());
}

TEST_CASE("quic: a ClientHello over three Initials, three DCIDs, after a Retry", "[dpi][quic]") {
  // The first Initial under the client's random DCID, then (after a Retry
  // with a token) the server's CID, then a second server-chosen CID.
  const Bytes hello = Hello("retry.example", 2500);
  const size_t third = hello.size() / 3;
  const Bytes dcids[3] = {Bytes(8, 0x01), Bytes(20, 0x02), Bytes(4, 0x03)};
  std::vector<Bytes> datagrams;
  for (size_t i = 0; i < 3; ++i) {
    testing::InitialSpec spec;
    spec.dcid = dcids[i];
    spec.pn = i;
    if (i > 0) spec.token = Bytes(40, static_cast<uint8_t>(0x40 + i));
    const size_t begin = i * third, end = i == 2 ? hello.size() : (i + 1) * third;
    datagrams.push_back(testing::SealInitial(
        spec, CryptoFrame(begin, Bytes(hello.begin() + static_cast<ptrdiff_t>(begin),
                                       hello.begin() + static_cast<ptrdiff_t>(end)))));
  }
  AppRecord r;
  DpiAnomalies a;
  CHECK(FeedDatagrams({datagrams[2], datagrams[0], datagrams[1]}, &r, &a) == ParseState::kDone);
  CHECK(r.tls->sni == "retry.example");
  CHECK(a.empty());
}

TEST_CASE("quic: CRYPTO bytes are kept up to kMaxQuicCryptoBytes, not one more", "[dpi][quic]") {
  // The hello's start announces a 65,280-byte message (under TLS's 64 KiB
  // limit): a frame ending exactly at the cap is kept; one byte further,
  // and the stream cannot complete: quic_crypto_too_long.
  const Bytes start = {0x01, 0x00, 0xff, 0x00};
  auto frame_at = [](size_t offset) {
    Bytes f = {0x06};
    testing::PutVarint(f, offset, 4);
    testing::PutVarint(f, 10, 1);
    PutBytes(f, Bytes(10, 0x42));
    return f;
  };
  AppRecord r;
  DpiAnomalies a;
  CHECK(FeedDatagrams({ProtectedInitial(1, 0, CryptoFrame(0, start)),
                       ProtectedInitial(1, 1, frame_at(kMaxQuicCryptoBytes - 10))},
                      &r, &a) == ParseState::kNeedMore);
  CHECK(r.protocol == AppProtocol::kQuic);
  CHECK(a.empty());
  AppRecord p;
  CHECK(FeedDatagrams({ProtectedInitial(1, 0, CryptoFrame(0, start)),
                       ProtectedInitial(1, 1, frame_at(kMaxQuicCryptoBytes - 9))},
                      &p, &a) == ParseState::kDone);
  CHECK(a == DpiAnomalies{{"quic_crypto_too_long", 1}});
}

TEST_CASE("quic: malformed Initials are named after their defect", "[dpi][quic]") {
  AppRecord r;
  DpiAnomalies a;
  // quic_unexpected_initial_frame: a STREAM frame (0x08) in an IETF Initial.
  CHECK(FeedDatagrams({ProtectedInitial(1, 0, Bytes{0x08, 0x00, 0x00})}, &r, &a) ==
        ParseState::kNeedMore);
  CHECK(a == DpiAnomalies{{"quic_unexpected_initial_frame", 1}});
  // quic_packet_too_short: a Length leaving no room for the sample.
  Bytes tiny = {0xc3, 0, 0, 0, 1, 8};
  PutBytes(tiny, kDcid);
  PutBytes(tiny, {0, 0, 0x0a});
  PutBytes(tiny, Bytes(10, 0x55));
  tiny.resize(1200, 0);
  DpiAnomalies ta;
  uint32_t version = 0;
  CHECK(DecryptClientInitials(tiny, &version, &ta).empty());
  CHECK(ta == DpiAnomalies{{"quic_packet_too_short", 1}});
  // quic_bad_long_header: a DCID longer than 20 bytes.
  Bytes long_cid = {0xc3, 0, 0, 0, 1, 21};
  PutBytes(long_cid, Bytes(21, 0x01));
  long_cid.resize(1200, 0);
  DpiAnomalies la;
  CHECK(DecryptClientInitials(long_cid, &version, &la).empty());
  CHECK(la == DpiAnomalies{{"quic_bad_long_header", 1}});
  // quic_length_past_datagram: an 8-byte Length of 2^40.
  testing::InitialSpec spec;
  spec.length_bytes = 8;
  Bytes lying = testing::SealInitial(spec, CryptoFrame(0, Hello("x.example")));
  lying[1 + 4 + 1 + 8 + 1 + 1 + 2] = 0x01;  // Inside the Length's high bytes.
  DpiAnomalies pa;
  CHECK(DecryptClientInitials(lying, &version, &pa).empty());
  CHECK(pa == DpiAnomalies{{"quic_length_past_datagram", 1}});
}

TEST_CASE("quic: a capture that starts at the server's Retry: the client is found by its Initial",
          "[dpi][quic]") {
  // The flow's initiator (first sender) is the server; the client's
  // Initial comes from the responder side and is still read; the server's
  // own Initials (other keys) are then never tried or counted.
  Bytes retry = {0xf0, 0, 0, 0, 1, 8};
  PutBytes(retry, Bytes(8, 0x0d));
  Put8(retry, 8);
  PutBytes(retry, Bytes(8, 0x05));
  PutBytes(retry, Bytes(40, 0x7a));  // Token and integrity tag.
  testing::InitialSpec client;
  client.dcid = Bytes(8, 0x05);
  client.token = Bytes(24, 0x7a);
  client.pn = 1;
  testing::InitialSpec server;
  server.dcid = Bytes(8, 0x0d);  // Sealed with other keys than the client's.
  const Bytes server_initial = testing::SealInitial(server, Bytes{0x01});
  auto d = MakeQuicDissector();
  CHECK(d->Probe(kFlow, true, retry));
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{true, retry},
                              {false, testing::SealInitial(client, CryptoFrame(0, Hello("late.example")))}},
                             testing::Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.quic_version == "v1");
  CHECK(r.tls->sni == "late.example");
  AppRecord after;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{true, retry},
                              {false, testing::SealInitial(client, CryptoFrame(0, Bytes{0x01, 0x00}))},
                              {true, server_initial}, {true, server_initial}},
                             testing::Split::kWhole, &after, &a) == ParseState::kNeedMore);
  CHECK(after.protocol == AppProtocol::kQuic);
  CHECK(a.empty());
}

}  // namespace
}  // namespace rustnet
