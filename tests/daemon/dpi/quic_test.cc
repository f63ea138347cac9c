#include "daemon/dpi/quic.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <array>
#include <cstring>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

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
// padded to 1200 bytes of packet.
Bytes ProtectedInitial(uint32_t version, uint32_t pn, Bytes frames,
                       const Bytes& dcid = Bytes(kDcid.begin(), kDcid.end())) {
  const auto keys = DeriveClientInitialKeys(version, dcid);
  REQUIRE(keys);
  const bool v2 = version == 0x6b3343cf || version == 0x709a50c4;
  const size_t pn_len = 4;
  if (frames.size() < 1100) frames.resize(1100, 0);  // PADDING
  Bytes header;
  Put8(header, static_cast<uint8_t>(0xc0u | (v2 ? 0x10u : 0u) | (pn_len - 1)));
  Put32(header, version);
  Put8(header, static_cast<uint8_t>(dcid.size()));
  PutBytes(header, dcid);
  Put8(header, 0);  // SCID length
  Put8(header, 0);  // Token length
  Put16(header, static_cast<uint16_t>(0x4000u | (pn_len + frames.size() + 16)));
  const size_t pn_offset = header.size();
  Put32(header, pn);

  uint8_t nonce[12];
  std::memcpy(nonce, keys->iv.data(), 12);
  for (int i = 0; i < 4; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  Bytes cipher(frames.size() + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1);
  REQUIRE(EVP_EncryptInit_ex(ctx, nullptr, nullptr, keys->key.data(), nonce) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx, nullptr, &len, header.data(), static_cast<int>(header.size())) ==
          1);
  REQUIRE(EVP_EncryptUpdate(ctx, cipher.data(), &len, frames.data(),
                            static_cast<int>(frames.size())) == 1);
  REQUIRE(EVP_EncryptFinal_ex(ctx, cipher.data() + len, &len) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, cipher.data() + frames.size()) == 1);
  EVP_CIPHER_CTX_free(ctx);

  Bytes packet = header;
  PutBytes(packet, cipher);
  // Header protection with the sample 4 bytes after the packet number.
  uint8_t mask[16];
  EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
  REQUIRE(EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), nullptr, keys->hp.data(), nullptr) == 1);
  EVP_CIPHER_CTX_set_padding(ecb, 0);
  REQUIRE(EVP_EncryptUpdate(ecb, mask, &len, packet.data() + pn_offset + 4, 16) == 1);
  EVP_CIPHER_CTX_free(ecb);
  packet[0] ^= mask[0] & 0x0f;
  for (size_t i = 0; i < pn_len; ++i) packet[pn_offset + i] ^= mask[1 + i];
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
    CHECK(r.tls.sni == "quic.example");
    CHECK(r.tls.ja4.substr(0, 4) == "q13d");
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
  CHECK(r.tls.sni == "split.example");
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
  CHECK(r.tls.sni == "coalesced.example");
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
  CHECK_FALSE(r.tls.client_hello_seen);
  CHECK(r.tls.sni.empty());
  CHECK(r.tls.ja4.empty());
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
  CHECK(r.tls.sni.empty());
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
  CHECK(r.tls.sni == "g.test");
  CHECK(a.empty());
  AppRecord bad;
  testing::FeedSession(*d, kFlow, {{true, GquicChlo(60, "g.test")}}, testing::Split::kWhole, &bad,
                       &a);
  CHECK(bad.tls.sni.empty());
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
    CHECK(r.tls.sni == "families.example");
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
  CHECK(r.tls.sni == "two-dcids.example");
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

}  // namespace
}  // namespace rustnet
