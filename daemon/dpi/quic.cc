#include "daemon/dpi/quic.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/crypto.h"
#include "daemon/dpi/tls.h"
#include "daemon/dpi/tls_wire.h"

namespace rustnet {
namespace {

constexpr uint32_t kQuicV1 = 0x00000001;
constexpr uint32_t kQuicV2 = 0x6b3343cf;  // RFC 9369.
constexpr uint32_t kQuicV2Draft = 0x709a50c4;  // draft-ietf-quic-v2-01..10 (Debian 12's ngtcp2).
constexpr uint32_t kDraft22 = 0xff000016;
constexpr uint32_t kDraft29 = 0xff00001d;
constexpr uint32_t kDraft34 = 0xff000022;
constexpr uint32_t kQ046 = 0x51303436;    // "Q046"
constexpr uint32_t kQ050 = 0x51303530;    // "Q050"
constexpr uint32_t kT050 = 0x54303530;    // "T050": Google QUIC with TLS.
constexpr uint32_t kT051 = 0x54303531;    // "T051"
constexpr uint32_t kMvfst22 = 0xfaceb001;  // Facebook mvfst, draft-22 keys.
constexpr uint32_t kMvfst27 = 0xfaceb002;  // mvfst, draft-27 keys.
constexpr uint32_t kMvfstExp = 0xfaceb00e;  // mvfst experimental, draft-27 keys.
constexpr size_t kMaxConnectionId = 20;
constexpr size_t kQuicMinInitialDatagram = 1200;
constexpr int kMaxPacketsPerDatagram = 8;
constexpr int kMaxFramesPerPacket = 256;

// RFC 9001 §5.2, RFC 9369 §3.3.1, draft-ietf-quic-tls-29 §5.2, and Google's
// Q050 salt (as in Chromium's quic_crypto_... and nDPI).
constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr uint8_t kSaltDraft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                      0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
constexpr uint8_t kSaltDraft23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                      0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
constexpr uint8_t kSaltDraft22[20] = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
                                      0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
// draft-ietf-quic-v2-01 §3.3.1 (version 0x709a50c4).
constexpr uint8_t kSaltV2Draft[20] = {0xa7, 0x07, 0xc2, 0x03, 0xa5, 0x9b, 0x47, 0x18, 0x4a, 0x1d,
                                      0x62, 0xca, 0x57, 0x04, 0x06, 0xea, 0x7a, 0xe3, 0xe5, 0xd3};
// Chromium's quic_crypto_... T050/T051 salts (as Wireshark and nDPI use them).
constexpr uint8_t kSaltT050[20] = {0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
                                   0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10};
constexpr uint8_t kSaltT051[20] = {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
                                   0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d};
constexpr uint8_t kSaltQ050[20] = {0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94,
                                   0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45};

std::optional<std::span<const uint8_t>> GquicPublicHeaderVersion(std::span<const uint8_t> d);

bool IsDraft(uint32_t v) { return v >= kDraft22 && v <= kDraft34; }

// RFC 9000 §15: versions 0x?a?a?a?a are reserved to exercise version
// negotiation (a client sends one to learn the server's versions).
bool IsGrease(uint32_t v) { return (v & 0x0f0f0f0f) == 0x0a0a0a0a; }

// A long header with the fixed bit, a reserved version and the 1200-byte
// minimum of a client's first datagram (RFC 9000 §14.1).
bool IsReservedVersionProbe(std::span<const uint8_t> d) {
  const ByteReader r(d);
  const auto first = r.PeekU8();
  const auto version = r.PeekU32(1);
  return first && (*first & 0xc0) == 0xc0 && version && IsGrease(*version) &&
         d.size() >= kQuicMinInitialDatagram;
}

bool Known(uint32_t v) {
  return v == kQuicV1 || v == kQuicV2 || v == kQuicV2Draft || IsDraft(v) || v == kQ046 ||
         v == kQ050 || v == kT050 || v == kT051 || v == kMvfst22 || v == kMvfst27 ||
         v == kMvfstExp;
}

// Versions with the v2 key labels and packet types (RFC 9369 §3.2-3.3).
bool V2Layout(uint32_t v) { return v == kQuicV2 || v == kQuicV2Draft; }

const uint8_t* SaltFor(uint32_t v) {
  if (v == kQuicV1) return kSaltV1;
  if (v == kQuicV2) return kSaltV2;
  if (v == kQuicV2Draft) return kSaltV2Draft;
  if (v == kQ050) return kSaltQ050;
  if (v == kT050) return kSaltT050;
  if (v == kT051) return kSaltT051;
  if (v == kMvfst22 || v == kDraft22) return kSaltDraft22;
  if (v == kMvfst27 || v == kMvfstExp) return kSaltDraft23;
  if (v > kDraft22 && v < kDraft29) return kSaltDraft23;         // drafts 23-28
  if (v >= kDraft29 && v <= kDraft29 + 3) return kSaltDraft29;  // drafts 29-32
  if (IsDraft(v)) return kSaltV1;                               // drafts 33-34
  return nullptr;
}

// RFC 8446 §7.1 HKDF-Expand-Label for outputs up to one SHA-256 block.
bool ExpandLabel(const uint8_t secret[32], std::string_view label, size_t length, uint8_t* out) {
  // HkdfLabel: uint16 length, "tls13 " + label (length-prefixed), empty
  // context, then HKDF-Expand's counter byte T(1). Labels here are short.
  constexpr std::string_view kPrefix = "tls13 ";
  std::array<uint8_t, 64> info{};
  const size_t label_len = kPrefix.size() + label.size();
  if (label_len > info.size() - 5 || length > 32) return false;
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(length >> 8);
  info[n++] = static_cast<uint8_t>(length);
  info[n++] = static_cast<uint8_t>(label_len);
  for (char c : kPrefix) info[n++] = static_cast<uint8_t>(c);
  for (char c : label) info[n++] = static_cast<uint8_t>(c);
  info[n++] = 0;  // Empty context.
  info[n++] = 1;  // T(1).
  uint8_t block[32];
  if (!crypto::HmacSha256(std::span<const uint8_t>(secret, 32),
                          std::span<const uint8_t>(info.data(), n), block)) {
    return false;
  }
  std::memcpy(out, block, length);
  return true;
}

std::optional<uint64_t> Varint(ByteReader& r) {
  auto first = r.U8();
  if (!first) return std::nullopt;
  const int extra = (1 << (*first >> 6)) - 1;
  uint64_t v = *first & 0x3f;
  for (int i = 0; i < extra; ++i) {
    auto b = r.U8();
    if (!b) return std::nullopt;
    v = (v << 8) | *b;
  }
  return v;
}

constexpr size_t kAeadTagBytes = 16;

// `sealed`: the ciphertext, then the 16-byte tag.
bool AesGcmDecrypt(const QuicInitialKeys& k, uint64_t pn, std::span<const uint8_t> aad,
                   ByteReader sealed, std::vector<uint8_t>* plain) {
  if (sealed.remaining() < kAeadTagBytes) return false;
  auto ciphertext = sealed.Bytes(sealed.remaining() - kAeadTagBytes);
  auto tag = sealed.Bytes(kAeadTagBytes);
  if (!ciphertext || !tag) return false;
  // RFC 9001 §5.3: the nonce is the IV XORed with the packet number.
  uint8_t nonce[12];
  std::memcpy(nonce, k.iv.data(), 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  plain->resize(ciphertext->size());
  return crypto::Aes128GcmDecrypt(k.key.data(), nonce, aad, *ciphertext, tag->data(),
                                  plain->data());
}

// Google QUIC's CHLO: "CHLO", u16le entries, u16 padding, entries of (tag,
// u32le end offset), then values. SNI is tag "SNI\0", the user agent "UAID".
bool ParseChlo(std::span<const uint8_t> data, TlsFacts* tls, DpiAnomalies* anomalies) {
  static constexpr uint8_t kChlo[4] = {'C', 'H', 'L', 'O'};
  ByteReader r(data);
  if (!r.SkipPast(kChlo)) return false;
  auto entries = r.U16Le();
  if (!entries || !r.Skip(2) || *entries > 128) {
    CountAnomaly(anomalies, quic_anomaly::kGquicChloTruncated);
    return false;
  }
  auto table = r.Sub(size_t{*entries} * 8);
  if (!table) {
    CountAnomaly(anomalies, quic_anomaly::kGquicChloTruncated);
    return false;
  }
  ByteReader values(r.rest());  // Each value ends at the offset its entry gives.
  tls->client_hello_seen = true;
  for (uint16_t i = 0; i < *entries; ++i) {
    auto tag = table->Bytes(4);
    auto end = table->U32Le();
    auto value = tag && end && *end >= values.position() ? values.Bytes(*end - values.position())
                                                         : std::nullopt;
    if (!value) {
      CountAnomaly(anomalies, quic_anomaly::kGquicChloBadOffset);
      return true;
    }
    static constexpr uint8_t kSni[4] = {'S', 'N', 'I', 0};
    if (std::equal(tag->begin(), tag->end(), std::begin(kSni))) {
      tls->sni = TlsPrintable(*value, 255);
    }
  }
  return true;
}

// CRYPTO stream bytes by offset, assembled into a contiguous prefix.
class CryptoStream {
 public:
  // False if over the cap.
  bool Add(uint64_t offset, std::span<const uint8_t> data) {
    if (offset + data.size() > kMaxQuicCryptoBytes) return false;
    if (data.empty()) return true;
    if (bytes_.size() < offset + data.size()) {
      bytes_.resize(offset + data.size());
      have_.resize(offset + data.size(), false);
    }
    std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<ptrdiff_t>(offset));
    std::fill(have_.begin() + static_cast<ptrdiff_t>(offset),
              have_.begin() + static_cast<ptrdiff_t>(offset + data.size()), true);
    while (prefix_ < have_.size() && have_[prefix_]) ++prefix_;
    return true;
  }
  std::span<const uint8_t> prefix() const {
    return std::span<const uint8_t>(bytes_.data(), prefix_);
  }
  size_t size() const { return bytes_.capacity() + have_.capacity() / 8; }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<bool> have_;
  size_t prefix_ = 0;
};

class QuicSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    // Which side is the client is known from its Initials, not from who
    // sent first: a capture that starts after the client's first datagram
    // (at the server's Retry, say) has the flow's initiator backwards.
    std::vector<std::vector<uint8_t>> plains;
    uint32_t version = 0;
    if (from_client == swapped_) {
      if (!swapped_ && !record->tls->client_hello_seen && LongHeaderInitial(data)) {
        // Quietly (no anomaly: a server's Initial fails with client keys).
        plains = DecryptClientInitials(data, &version, nullptr, &keys_);
      }
      if (plains.empty()) {
        // The server answering with a long header confirms QUIC.
        return record->protocol == AppProtocol::kQuic && ++server_packets_ > 4
                   ? ParseState::kDone
                   : ParseState::kNeedMore;
      }
      swapped_ = true;
    }
    if (auto gquic = GquicPublicHeaderVersion(data)) {
      // Google QUIC before Q046: public header, CHLO in clear.
      record->protocol = AppProtocol::kQuic;
      record->quic_version = TlsPrintable(*gquic);
      return ParseChlo(data, &record->tls.mut(), anomalies) ? ParseState::kDone : ParseState::kNeedMore;
    }
    const ByteReader packet(data);
    const auto first = packet.PeekU8();
    if (!first || (*first & 0x80) == 0) {
      return record->protocol == AppProtocol::kQuic && ++short_packets_ > 4 ? ParseState::kDone
                                                                          : ParseState::kNeedMore;
    }
    if (packet.PeekU32(1) == kQ046) {
      // Google QUIC 46: the CHLO travels in clear.
      record->protocol = AppProtocol::kQuic;
      record->quic_version = QuicVersionName(kQ046);
      return ParseChlo(data, &record->tls.mut(), anomalies) ? ParseState::kDone : ParseState::kNeedMore;
    }
    if (plains.empty()) plains = DecryptClientInitials(data, &version, anomalies, &keys_);
    for (const std::vector<uint8_t>& frames : plains) {
      record->protocol = AppProtocol::kQuic;
      record->quic_version = QuicVersionName(version);
      gquic_ = version == kQ050;  // T05x carry a TLS ClientHello like IETF QUIC.
      if (!WalkFrames(frames, anomalies)) break;
    }
    if (record->protocol != AppProtocol::kQuic && IsReservedVersionProbe(data)) {
      // A client learning the server's versions (RFC 9000 §6): QUIC, no
      // keys; a later Initial of a real version may still bring the hello.
      record->protocol = AppProtocol::kQuic;
      record->quic_version = QuicVersionName(*packet.PeekU32(1));
      return ParseState::kNeedMore;
    }
    if (record->protocol != AppProtocol::kQuic) {
      return ++failed_ >= 3 ? ParseState::kNotMine : ParseState::kNeedMore;
    }
    if (gquic_) {
      if (ParseChlo(crypto_.prefix(), &record->tls.mut(), anomalies) && !record->tls->sni.empty()) {
        return ParseState::kDone;
      }
    } else {
      // RFC 9001 §4.1.3: the CRYPTO stream starts with the ClientHello.
      ByteReader hello(crypto_.prefix());
      TlsHandshakeMessage m;
      if (const auto type = hello.PeekU8(); type && *type != kTlsClientHello) {
        CountAnomaly(anomalies, quic_anomaly::kCryptoNotClientHello);
        return ParseState::kDone;
      }
      switch (ReadTlsHandshakeMessage(hello, &m)) {
        case TlsHandshakeRead::kNeedMore:
          break;
        case TlsHandshakeRead::kTooLong:
          CountAnomaly(anomalies, quic_anomaly::kCryptoTooLong);
          return ParseState::kDone;
        case TlsHandshakeRead::kMessage:
          // Still QUIC if its hello is malformed (counted, no TLS facts).
          if (!ParseClientHello(m.body.rest(), /*quic=*/true, &record->tls.mut(), anomalies)) {
            CountAnomaly(anomalies, quic_anomaly::kClientHelloMalformed);
          }
          return ParseState::kDone;
      }
    }
    if (overflow_) {
      CountAnomaly(anomalies, quic_anomaly::kCryptoTooLong);
      return ParseState::kDone;
    }
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return crypto_.size(); }

 private:
  // RFC 9000 §19: frames allowed in Initial packets. False (counted) at a
  // frame that is cut off or not allowed there.
  bool WalkFrames(std::span<const uint8_t> frames, DpiAnomalies* anomalies) {
    ByteReader r(frames);
    auto malformed = [anomalies] {
      CountAnomaly(anomalies, quic_anomaly::kFrameMalformed);
      return false;
    };
    auto crypto = [&] {
      auto offset = Varint(r);
      auto length = Varint(r);
      auto bytes = offset && length ? r.Bytes(*length) : std::nullopt;
      if (!bytes) {
        CountAnomaly(anomalies, quic_anomaly::kCryptoFrameTruncated);
        return false;
      }
      if (!crypto_.Add(*offset, *bytes)) overflow_ = true;
      return true;
    };
    for (int i = 0; i < kMaxFramesPerPacket && !r.empty(); ++i) {
      // PADDING is one zero byte per frame; clients scatter runs of it
      // between CRYPTO frames, so skip them without counting.
      while (r.PeekU8() == uint8_t{0} && r.Skip(1)) {
      }
      if (r.empty()) break;
      auto type = Varint(r);
      if (!type) return malformed();
      switch (*type) {
        case 0x01:  // PING
          break;
        case 0x02:
        case 0x03: {  // ACK
          auto largest = Varint(r);
          auto delay = Varint(r);
          auto ranges = Varint(r);
          auto first = Varint(r);
          if (!largest || !delay || !ranges || !first || *ranges > 256) return malformed();
          for (uint64_t k = 0; k < *ranges; ++k) {
            if (!Varint(r) || !Varint(r)) return malformed();
          }
          if (*type == 0x03 && (!Varint(r) || !Varint(r) || !Varint(r))) return malformed();
          break;
        }
        case 0x06:  // CRYPTO
          if (!crypto()) return false;
          break;
        case 0x08:  // Q050: CRYPTO has type 0x08 (IETF: STREAM).
          if (!gquic_) {
            CountAnomaly(anomalies, quic_anomaly::kUnexpectedInitialFrame);
            return false;
          }
          if (!crypto()) return false;
          break;
        case 0x1c: {  // CONNECTION_CLOSE
          auto code = Varint(r);
          auto frame_type = Varint(r);
          auto reason_len = Varint(r);
          if (!code || !frame_type || !reason_len || !r.Skip(*reason_len)) return malformed();
          break;
        }
        default:
          if (gquic_) return true;  // Q050 may carry other frames after CRYPTO.
          CountAnomaly(anomalies, quic_anomaly::kUnexpectedInitialFrame);
          return false;
      }
    }
    return true;
  }

  // A long header of a version with Initial keys, of the Initial type.
  static bool LongHeaderInitial(std::span<const uint8_t> d) {
    const ByteReader r(d);
    const auto first = r.PeekU8();
    const auto v = r.PeekU32(1);
    if (!first || (*first & 0xc0) != 0xc0 || !v || SaltFor(*v) == nullptr) return false;
    return ((*first >> 4) & 0x03) == (V2Layout(*v) ? 1 : 0);
  }

  CryptoStream crypto_;
  QuicKeyCache keys_;  // The flow's Initial keys, derived once.
  bool swapped_ = false;  // The flow's responder is the QUIC client.
  bool gquic_ = false;
  bool overflow_ = false;
  int failed_ = 0;
  int server_packets_ = 0;
  int short_packets_ = 0;
};

// Google QUIC's public header (before Q046): flags with "version present"
// (0x01) and an 8-byte connection id (0x08), then "Q0nn". The version's four
// bytes if `d` starts with one.
std::optional<std::span<const uint8_t>> GquicPublicHeaderVersion(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto flags = r.U8();
  if (!flags || (*flags & 0x80) != 0 || (*flags & 0x09) != 0x09 || !r.Skip(8)) {
    return std::nullopt;
  }
  auto version = r.Bytes(4);
  if (!version) return std::nullopt;
  auto digit = [](uint8_t c) { return c >= '0' && c <= '9'; };
  ByteReader v(*version);
  auto q = v.U8();
  auto zero = v.U8();
  auto tens = v.U8();
  auto ones = v.U8();
  if (q != uint8_t{'Q'} || zero != uint8_t{'0'} || !tens || !ones || !digit(*tens) ||
      !digit(*ones)) {
    return std::nullopt;
  }
  return version;
}

class QuicDissector final : public Dissector {
 public:
  std::string_view name() const override { return "quic"; }
  bool Probe(const FlowInfo& flow, bool /*from_client*/,
             std::span<const uint8_t> data) const override {
    const ByteReader r(data);
    if (flow.transport != kIpProtoUdp || r.remaining() < 7) return false;
    if (GquicPublicHeaderVersion(data)) return true;
    const auto first = r.PeekU8();
    const auto version = r.PeekU32(1);
    return first && (*first & 0x80) != 0 && version &&
           (Known(*version) || IsReservedVersionProbe(data));
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == 443 || flow.server_port == 4433 || flow.server_port == 8443;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<QuicSession>();
  }
};

}  // namespace

std::string QuicVersionName(uint32_t version) {
  if (version == kQuicV1) return "v1";
  if (version == kQuicV2) return "v2";
  if (version == kQuicV2Draft) return "v2-draft";
  if (version == kMvfst22) return "mvfst-22";
  if (version == kMvfst27) return "mvfst-27";
  if (version == kMvfstExp) return "mvfst-exp";
  if (version == 0) return "version-negotiation";
  if (IsGrease(version)) return "reserved";
  if (IsDraft(version)) return "draft-" + std::to_string(version & 0xff);
  if ((version >> 24) == 'Q' || (version >> 24) == 'T') {
    std::string s(4, ' ');
    for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(version >> (24 - 8 * i));
    return s;
  }
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", version);
  return buf;
}

std::optional<QuicInitialKeys> DeriveClientInitialKeys(uint32_t version,
                                                       std::span<const uint8_t> dcid) {
  const uint8_t* salt = SaltFor(version);
  if (salt == nullptr) return std::nullopt;
  uint8_t initial[32];
  uint8_t client[32];
  if (!crypto::HmacSha256(std::span<const uint8_t>(salt, 20), dcid, initial)) return std::nullopt;
  if (!ExpandLabel(initial, "client in", 32, client)) return std::nullopt;
  const bool v2 = V2Layout(version);
  QuicInitialKeys k;
  if (!ExpandLabel(client, v2 ? "quicv2 key" : "quic key", 16, k.key.data()) ||
      !ExpandLabel(client, v2 ? "quicv2 iv" : "quic iv", 12, k.iv.data()) ||
      !ExpandLabel(client, v2 ? "quicv2 hp" : "quic hp", 16, k.hp.data())) {
    return std::nullopt;
  }
  return k;
}

uint64_t DecodePacketNumber(int64_t largest, uint64_t truncated, size_t pn_len) {
  const uint64_t expected = static_cast<uint64_t>(largest + 1);
  const uint64_t win = uint64_t{1} << (8 * pn_len);
  const uint64_t half = win / 2;
  const uint64_t candidate = (expected & ~(win - 1)) | truncated;
  constexpr uint64_t kMax = uint64_t{1} << 62;
  if (candidate + half <= expected && candidate < kMax - win) return candidate + win;
  if (candidate > expected + half && candidate >= win) return candidate - win;
  return candidate;
}

std::vector<std::vector<uint8_t>> DecryptClientInitials(std::span<const uint8_t> datagram,
                                                        uint32_t* version,
                                                        DpiAnomalies* anomalies,
                                                        QuicKeyCache* cache) {
  std::vector<std::vector<uint8_t>> out;
  ByteReader next(datagram);  // The next coalesced packet (RFC 9000 §12.2).
  for (int n = 0; n < kMaxPacketsPerDatagram && !next.empty(); ++n) {
    const ByteReader packet_start(next.rest());
    // RFC 9000 §17.2: the long header.
    ByteReader r = packet_start;
    auto first = r.U8();
    if (!first || (*first & 0x80) == 0) break;  // Short header: nothing more to read.
    auto v = r.U32();
    auto dcid = v ? r.PrefixedU8() : std::nullopt;
    auto scid = dcid ? r.PrefixedU8() : std::nullopt;
    if (!scid || dcid->remaining() > kMaxConnectionId || scid->remaining() > kMaxConnectionId) {
      CountAnomaly(anomalies, quic_anomaly::kBadLongHeader);
      break;
    }
    const bool v2 = V2Layout(*v);
    const uint8_t type = (*first >> 4) & 0x03;
    // Initial is type 0 (v1, drafts, Q050) or 1 (v2, RFC 9369 §3.2).
    const bool initial = v2 ? type == 1 : type == 0;
    // A Retry (type 3; v2: 0) has no Length and is never coalesced (RFC
    // 9000 §17.2.5): nothing of the client's in it or after it.
    if (type == (v2 ? 0 : 3)) break;
    if (initial) {
      auto token_len = Varint(r);
      if (!token_len || !r.Skip(*token_len)) {
        CountAnomaly(anomalies, quic_anomaly::kBadLongHeader);
        break;
      }
    }
    auto length = Varint(r);
    const size_t pn_offset = r.position();
    // The packet number and the protected payload.
    auto payload = length && *length <= r.remaining() ? r.Sub(*length) : std::nullopt;
    if (!payload) {
      CountAnomaly(anomalies, quic_anomaly::kLengthPastDatagram);
      break;
    }
    if (!next.Skip(r.position())) break;  // Within `next`: never.
    if (!initial) continue;  // 0-RTT or Handshake coalesced behind: skip.
    *version = *v;
    // Versions whose Initial keys are unknown (reserved, future) are not
    // malformed: skipped, not counted.
    if (SaltFor(*v) == nullptr) continue;
    const std::span<const uint8_t> dcid_bytes = dcid->rest();
    std::optional<QuicInitialKeys> keys;
    const bool cached = cache != nullptr && cache->keys && cache->version == *v &&
                        cache->dcid_len == dcid_bytes.size() &&
                        std::equal(dcid_bytes.begin(), dcid_bytes.end(), cache->dcid.begin());
    if (cached) {
      keys = cache->keys;
    } else {
      keys = DeriveClientInitialKeys(*v, dcid_bytes);
      if (!keys) {
        CountAnomaly(anomalies, quic_anomaly::kInitialKeysFailed);
        continue;
      }
      if (cache != nullptr && dcid_bytes.size() <= cache->dcid.size()) {
        cache->version = *v;
        cache->dcid_len = static_cast<uint8_t>(dcid_bytes.size());
        std::copy(dcid_bytes.begin(), dcid_bytes.end(), cache->dcid.begin());
        cache->keys = keys;
      }
    }
    // RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's
    // start (as if it had 4 bytes) and is 16 bytes long.
    ByteReader sample_at = *payload;
    auto sample = sample_at.Skip(4) ? sample_at.Bytes(16) : std::nullopt;
    if (!sample) {
      CountAnomaly(anomalies, quic_anomaly::kPacketTooShort);
      continue;
    }
    uint8_t mask[16];
    if (!crypto::Aes128EncryptBlock(keys->hp.data(), sample->data(), mask)) {
      CountAnomaly(anomalies, quic_anomaly::kHeaderProtectionFailed);
      continue;
    }
    // RFC 9001 §5.4.1: unmask the first byte's low 4 bits and the packet
    // number; the unprotected header is the AEAD's associated data. Inline:
    // no allocation for headers without a long token.
    ByteReader header_reader = packet_start;
    auto header_bytes = header_reader.Bytes(pn_offset);
    if (!header_bytes) continue;  // Read above: never.
    absl::InlinedVector<uint8_t, 96> header(header_bytes->begin(), header_bytes->end());
    header.front() = static_cast<uint8_t>(*first ^ (mask[0] & 0x0f));
    const size_t pn_len = (header.front() & 0x03) + 1u;
    auto pn_bytes = payload->Sub(pn_len);  // The sample check left >= 20.
    if (!pn_bytes) continue;
    uint64_t truncated = 0;
    for (size_t i = 1; auto b = pn_bytes->U8(); ++i) {
      const auto unmasked = static_cast<uint8_t>(*b ^ mask[i]);
      header.push_back(unmasked);
      truncated = (truncated << 8) | unmasked;
    }
    const int64_t largest = cache != nullptr ? cache->largest_pn : -1;
    const uint64_t pn = DecodePacketNumber(largest, truncated, pn_len);
    std::vector<uint8_t> plain;
    if (!AesGcmDecrypt(*keys, pn, header, *payload, &plain)) {
      CountAnomaly(anomalies, quic_anomaly::kInitialDecryptFailed);
      continue;
    }
    if (cache != nullptr && pn < (uint64_t{1} << 62) && static_cast<int64_t>(pn) > largest) {
      cache->largest_pn = static_cast<int64_t>(pn);
    }
    out.push_back(std::move(plain));
  }
  return out;
}

std::unique_ptr<Dissector> MakeQuicDissector() { return std::make_unique<QuicDissector>(); }

}  // namespace rustnet
