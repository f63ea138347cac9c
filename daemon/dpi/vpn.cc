#include "daemon/dpi/vpn.h"

#include <algorithm>
#include <array>

#include "common/byte_reader.h"
#include "daemon/dpi/prefix_session.h"

namespace rustnet {
namespace {

// --- OpenVPN (openvpn/src/openvpn/ssl_pkt.h) ---------------------------------
// First byte: opcode << 3 | key id. Control opcodes: 1 hard reset client
// v1, 2 hard reset server v1, 3 soft reset, 4 control, 5 ack, 7/8 hard
// reset client/server v2, 10 hard reset client v3; 6 and 9 are data.
constexpr size_t kOpenvpnSessionId = 8;
constexpr size_t kOpenvpnMinControl = 1 + kOpenvpnSessionId + 5;
constexpr size_t kOpenvpnMaxControl = 1600;

bool OpenvpnControl(std::span<const uint8_t> p) {
  if (p.size() < kOpenvpnMinControl || p.size() > kOpenvpnMaxControl) return false;
  const uint8_t opcode = p[0] >> 3;
  // The session id is 8 random bytes: all printable is text (a syslog
  // line "<30>snmpd[..." starts like opcode 7), 1 in ~2500 for OpenVPN.
  const auto id = p.subspan(1, kOpenvpnSessionId);
  if (std::all_of(id.begin(), id.end(), [](uint8_t c) { return c >= 0x20 && c < 0x7f; })) {
    return false;
  }
  return (opcode >= 1 && opcode <= 5) || opcode == 7 || opcode == 8 || opcode == 10;
}

// Scratch: [0] client id known, [1..8] it; [9] server id known, [10..17] it.
// True once a session id came back.
bool OpenvpnSeen(std::span<const uint8_t> p, bool from_client, std::span<uint8_t> s) {
  const auto id = p.subspan(1, kOpenvpnSessionId);
  const size_t mine = from_client ? 0 : 9, theirs = from_client ? 9 : 0;
  if (s[theirs] == 1) {
    const auto other = s.subspan(theirs + 1, kOpenvpnSessionId);
    const auto after = p.subspan(1 + kOpenvpnSessionId);
    if (std::search(after.begin(), after.end(), other.begin(), other.end()) != after.end()) {
      return true;
    }
  }
  if (s[mine] == 1) {
    return std::equal(id.begin(), id.end(), s.begin() + static_cast<ptrdiff_t>(mine) + 1);
  }
  s[mine] = 1;
  std::copy(id.begin(), id.end(), s.begin() + static_cast<ptrdiff_t>(mine) + 1);
  return false;
}

// The acknowledgement array and message packet id of a hard reset (ack
// count 0, or 1 with ack id 0 and the peer's session id; message id 0),
// exactly filling the packet.
bool ResetTail(ByteReader r) {
  auto acks = r.U8();
  if (acks == uint8_t{1}) {
    if (r.U32() != uint32_t{0} || !r.Skip(kOpenvpnSessionId)) return false;
  } else if (acks != uint8_t{0}) {
    return false;
  }
  return r.U32() == uint32_t{0} && r.empty();
}

// A packet id and a time stamp (openvpn's replay protection with
// --tls-auth/--tls-crypt) as in a session's first packet: id 1 and a time
// between 2004 and 2046 that is not four letters (a DNS query's label at
// the same offset would be).
bool ReplayFields(ByteReader& r) {
  auto id = r.U32();
  auto time = r.U32();
  if (id != uint32_t{1} || !time || *time < 0x40000000 || *time >= 0x90000000) return false;
  bool text = true;
  for (int shift = 0; shift < 32; shift += 8) {
    const uint32_t c = (*time >> shift) & 0xff;
    text = text && c >= 0x20 && c < 0x7f;
  }
  return !text;
}

// A hard reset (client 1/7/10, server 2/8) as a session's first packet:
// plain, behind a --tls-auth HMAC (16-64 bytes), or --tls-crypt's clear
// header (packet id and time right after the session id).
bool OpenvpnReset(std::span<const uint8_t> p) {
  if (!OpenvpnControl(p)) return false;
  const uint8_t opcode = p[0] >> 3;
  if (opcode != 1 && opcode != 2 && opcode != 7 && opcode != 8 && opcode != 10) return false;
  const ByteReader after_id(p.subspan(1 + kOpenvpnSessionId));
  if (ResetTail(after_id)) return true;
  for (const size_t hmac : {size_t{16}, size_t{20}, size_t{32}, size_t{48}, size_t{64}}) {
    ByteReader r = after_id;
    if (r.Skip(hmac) && ReplayFields(r) && ResetTail(r)) return true;
  }
  ByteReader crypt = after_id;
  return ReplayFields(crypt) && crypt.remaining() >= 32;
}

bool ProbeOpenvpn(bool udp, bool, std::span<const uint8_t> d) {
  if (udp) return OpenvpnReset(d);
  ByteReader r(d);
  auto length = r.U16();
  if (!length) return d.size() < 2;
  auto packet = r.Bytes(*length);
  // The first segment holds at least the first packet.
  return packet && OpenvpnReset(*packet);
}

ParseState ParseOpenvpn(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto done = [&]() {
    record->protocol = AppProtocol::kOpenvpn;
    return ParseState::kDone;
  };
  if (v.udp) {
    const auto d = v.just_fed();
    if (!OpenvpnControl(d)) {
      const uint8_t opcode = d.empty() ? 0 : d[0] >> 3;
      return (opcode == 6 || opcode == 9) && v.client_datagrams + v.server_datagrams < 8
                 ? ParseState::kNeedMore
                 : ParseState::kNotMine;
    }
    if (OpenvpnSeen(d, v.from_client, v.scratch)) return done();
    return v.client_datagrams + v.server_datagrams >= 8 ? ParseState::kNotMine
                                                        : ParseState::kNeedMore;
  }
  // TCP: 2-byte length, packet; read both prefixes from their start.
  std::array<uint8_t, kPrefixScratchBytes> s{};
  int packets = 0;
  for (const bool client : {true, false}) {
    ByteReader r(client ? v.client : v.server);
    while (auto length = r.U16()) {
      auto packet = r.Bytes(*length);
      if (!packet) break;
      if (!OpenvpnControl(*packet)) {
        const uint8_t opcode = packet->empty() ? 0 : (*packet)[0] >> 3;
        if (opcode == 6 || opcode == 9) break;
        return ParseState::kNotMine;
      }
      ++packets;
      if (OpenvpnSeen(*packet, client, s)) return done();
    }
  }
  return packets >= 8 ? ParseState::kNotMine : ParseState::kNeedMore;
}

// --- WireGuard (whitepaper §5.4) ---------------------------------------------
// Type 1-4 then three reserved zero bytes; initiation 148 bytes, response 92,
// cookie reply 64, transport data at least 32 and a multiple of 16.
std::optional<uint8_t> WireguardType(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto type = r.U8();
  auto reserved_a = r.U8(), reserved_b = r.U8(), reserved_c = r.U8();
  if (!type || reserved_a != uint8_t{0} || reserved_b != uint8_t{0} || reserved_c != uint8_t{0}) {
    return std::nullopt;
  }
  if ((*type == 1 && d.size() == 148) || (*type == 2 && d.size() == 92) ||
      (*type == 3 && d.size() == 64) || (*type == 4 && d.size() >= 32 && d.size() % 16 == 0)) {
    return type;
  }
  return std::nullopt;
}

bool ProbeWireguard(bool, bool, std::span<const uint8_t> d) { return WireguardType(d).has_value(); }

ParseState ParseWireguard(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto d = v.just_fed();
  auto type = WireguardType(d);
  if (!type) {
    return record->protocol == AppProtocol::kWireguard ? ParseState::kDone : ParseState::kNotMine;
  }
  if (*type != 4) {
    record->protocol = AppProtocol::kWireguard;
    return ParseState::kDone;
  }
  // Transport data: the receiver index (bytes 4-7) stays the same per side.
  auto& s = v.scratch;
  const size_t at = v.from_client ? 0 : 5;
  const auto index = d.subspan(4, 4);
  if (s[at] == 1 &&
      std::equal(index.begin(), index.end(), s.begin() + static_cast<ptrdiff_t>(at) + 1)) {
    record->protocol = AppProtocol::kWireguard;
    return ParseState::kDone;
  }
  s[at] = 1;
  std::copy(index.begin(), index.end(), s.begin() + static_cast<ptrdiff_t>(at) + 1);
  return ParseState::kNeedMore;
}

// --- IKE (RFC 2408 §3.1, RFC 7296 §3.1) --------------------------------------
// Initiator SPI non-zero, version 1.0 or 2.0, a known exchange type, and a
// length that is the datagram's. On port 4500 a non-ESP marker (4 zero
// bytes) comes first (RFC 3948 §2.2).
constexpr size_t kIkeHeaderBytes = 28;

bool LooksLikeIke(std::span<const uint8_t> d) {
  ByteReader r(d);
  if (r.PeekU32() == uint32_t{0}) r.Skip(4);
  const size_t start = r.position();
  auto spi_i = r.Bytes(8);
  auto spi_r = spi_i ? r.Bytes(8) : std::nullopt;
  auto next_payload = spi_r ? r.U8() : std::nullopt;
  auto version = r.U8();
  auto exchange = r.U8();
  auto flags = r.U8();
  auto message_id = r.U32();
  auto length = r.U32();
  if (!length || std::all_of(spi_i->begin(), spi_i->end(), [](uint8_t b) { return b == 0; })) {
    return false;
  }
  const bool v1 = version == uint8_t{0x10}, v2 = version == uint8_t{0x20};
  const bool exchange_ok =
      v1 ? (*exchange >= 1 && *exchange <= 5) || *exchange == 32 || *exchange == 33
         : v2 && *exchange >= 34 && *exchange <= 43;
  return exchange_ok && *next_payload <= 53 && flags && message_id && *length == d.size() - start &&
         *length >= kIkeHeaderBytes;
}

bool ProbeIke(bool, bool, std::span<const uint8_t> d) { return LooksLikeIke(d); }

ParseState ParseIke(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  if (!LooksLikeIke(v.just_fed())) {
    return record->protocol == AppProtocol::kIke ? ParseState::kDone : ParseState::kNotMine;
  }
  record->protocol = AppProtocol::kIke;
  return ParseState::kDone;
}

// --- DTLS (RFC 6347 §4.1, RFC 9147 §4) ---------------------------------------
// Records of content type 20-23 (25: ACK), version DTLS 1.0 (0xfeff), 1.2
// (0xfefd) or 1.3's legacy 0xfefc, epoch, 48-bit sequence, length, filling
// the datagram exactly. DTLS 1.3's unified header (0b001xxxxx) is not read.
bool LooksLikeDtls(std::span<const uint8_t> d, DpiAnomalies* anomalies) {
  ByteReader r(d);
  int records = 0;
  while (!r.empty()) {
    auto type = r.U8();
    auto version = r.U16();
    auto rest = version ? r.Skip(8) : false;
    auto length = rest ? r.U16() : std::nullopt;
    if (!type || !version || !length || *type < 20 || (*type > 23 && *type != 25) ||
        (*version != 0xfeff && *version != 0xfefd && *version != 0xfefc)) {
      return false;
    }
    if (!r.Skip(*length)) {
      CountAnomaly(anomalies, vpn_anomaly::kDtlsRecordPastDatagram);
      return false;
    }
    if (++records > 16) return false;
  }
  return records > 0;
}

bool ProbeDtls(bool, bool, std::span<const uint8_t> d) { return LooksLikeDtls(d, nullptr); }

ParseState ParseDtls(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  if (!LooksLikeDtls(v.just_fed(), anomalies)) {
    return record->protocol == AppProtocol::kDtls ? ParseState::kDone : ParseState::kNotMine;
  }
  record->protocol = AppProtocol::kDtls;
  return ParseState::kDone;
}

// First bytes (Dissector::MayStartWith): OpenVPN over UDP starts with a
// hard reset's opcode, over TCP with the high byte of a length <= 1600.
bool OpenvpnFirst(bool udp, uint8_t b) {
  const uint8_t opcode = b >> 3;
  return udp ? opcode == 1 || opcode == 2 || opcode == 7 || opcode == 8 || opcode == 10
             : b <= (kOpenvpnMaxControl >> 8);
}
bool WireguardFirst(bool, uint8_t b) { return b >= 1 && b <= 4; }
bool DtlsFirst(bool, uint8_t b) { return (b >= 20 && b <= 23) || b == 25; }

constexpr PrefixProtocol kOpenvpn{"openvpn",    true,   true, ProbeOpenvpn,
                                  ParseOpenvpn, {1194}, 1024, OpenvpnFirst};
constexpr PrefixProtocol kWireguard{"wireguard",    false,   true, ProbeWireguard,
                                    ParseWireguard, {51820}, 0,    WireguardFirst};
constexpr PrefixProtocol kIke{"ike", false, true, ProbeIke, ParseIke, {500, 4500}, 0, nullptr};
constexpr PrefixProtocol kDtls{"dtls", false,    true, ProbeDtls, ParseDtls, {443, 4433, 5684},
                               0,      DtlsFirst};

}  // namespace

std::unique_ptr<Dissector> MakeOpenvpnDissector() { return MakePrefixDissector(kOpenvpn); }
std::unique_ptr<Dissector> MakeWireguardDissector() { return MakePrefixDissector(kWireguard); }
std::unique_ptr<Dissector> MakeIkeDissector() { return MakePrefixDissector(kIke); }
std::unique_ptr<Dissector> MakeDtlsDissector() { return MakePrefixDissector(kDtls); }

}  // namespace rustnet
