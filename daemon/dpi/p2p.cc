#include "daemon/dpi/p2p.h"

#include "common/byte_reader.h"
#include "daemon/dpi/prefix_session.h"

namespace rustnet {
namespace {

// BEP 3: the handshake starts with 19 and "BitTorrent protocol".
constexpr std::string_view kHandshake =
    "\x13"
    "BitTorrent protocol";

bool ProbeBtTcp(bool, bool, std::span<const uint8_t> d) { return CouldStartWith(d, kHandshake); }

ParseState ParseBtTcp(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto mine = v.just_fed();
  if (!CouldStartWith(mine, kHandshake)) {
    return record->protocol == AppProtocol::kBittorrent ? ParseState::kDone : ParseState::kNotMine;
  }
  if (mine.size() < kHandshake.size()) return ParseState::kNeedMore;
  record->protocol = AppProtocol::kBittorrent;
  return ParseState::kDone;
}

// BEP 29 uTP header: type (0-4) and version 1 in the first byte, then the
// extension chain (each: next type, length), connection id, timestamps,
// window, sequence and ack numbers: 20 bytes.
constexpr size_t kUtpHeaderBytes = 20;

// The payload after a valid uTP header, or nullopt.
std::optional<std::span<const uint8_t>> UtpPayload(std::span<const uint8_t> d,
                                                   DpiAnomalies* anomalies) {
  ByteReader r(d);
  auto type_version = r.U8();
  auto extension = r.U8();
  if (!type_version || (*type_version & 0x0f) != 1 || (*type_version >> 4) > 4 || !extension ||
      *extension > 4 || !r.Skip(kUtpHeaderBytes - 2)) {
    return std::nullopt;
  }
  uint8_t next = *extension;
  for (int i = 0; next != 0; ++i) {
    auto following = r.U8();
    auto length = following ? r.U8() : std::nullopt;
    if (!length || !r.Skip(*length) || i >= 4 || *following > 4) {
      CountAnomaly(anomalies, p2p_anomaly::kUtpExtensionPastEnd);
      return std::nullopt;
    }
    next = *following;
  }
  const uint8_t type = *type_version >> 4;
  // ST_DATA (0) carries data; ST_STATE (2), ST_SYN (4), ST_FIN (1) and
  // ST_RESET (3) do not.
  if ((type == 0) != !r.empty()) return std::nullopt;
  return r.rest();
}

// A Mainline DHT message (BEP 5): a bencoded dictionary whose first key is
// "a" (query arguments), "r" (response), "e" (error) or "t"/"y"/"q".
bool LooksLikeDht(std::span<const uint8_t> d) {
  if (d.size() < 8 || d.back() != 'e') return false;
  return StartsWith(d, "d1:ad2:id20:") || StartsWith(d, "d1:rd2:id20:") ||
         StartsWith(d, "d1:eli") || StartsWith(d, "d1:q") || StartsWith(d, "d1:t");
}

bool ProbeBtUdp(bool, bool, std::span<const uint8_t> d) {
  return LooksLikeDht(d) || UtpPayload(d, nullptr).has_value();
}

ParseState ParseBtUdp(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  const auto d = v.just_fed();
  if (LooksLikeDht(d)) {
    record->protocol = AppProtocol::kBittorrent;
    return ParseState::kDone;
  }
  auto payload = UtpPayload(d, anomalies);
  if (!payload) {
    return record->protocol == AppProtocol::kBittorrent ? ParseState::kDone : ParseState::kNotMine;
  }
  // The peer wire handshake inside uTP settles it; else a SYN answered by
  // a STATE with the same connection id (BEP 29: the SYN's id, the
  // answer's is the same) confirms.
  if (StartsWith(*payload, kHandshake)) {
    record->protocol = AppProtocol::kBittorrent;
    return ParseState::kDone;
  }
  ByteReader r(d);
  const auto type = r.U8();
  r.Skip(1);
  const auto id = r.U16();
  if (!type || !id) return ParseState::kNotMine;
  auto& s = v.scratch;
  if ((*type >> 4) == 4) {  // ST_SYN: remember its connection id.
    s[0] = 1;
    s[1] = static_cast<uint8_t>(*id >> 8);
    s[2] = static_cast<uint8_t>(*id);
  } else if ((*type >> 4) == 2 && s[0] == 1 && *id == static_cast<uint16_t>((s[1] << 8) | s[2])) {
    record->protocol = AppProtocol::kBittorrent;
    return ParseState::kDone;
  }
  return v.client_datagrams + v.server_datagrams >= 6 ? ParseState::kNotMine
                                                      : ParseState::kNeedMore;
}

bool BtTcpFirst(bool, uint8_t b) { return b == 19; }
bool BtUdpFirst(bool, uint8_t b) { return b == 'd' || ((b & 0x0f) == 1 && (b >> 4) <= 4); }

constexpr PrefixProtocol kBtTcp{"bittorrent",        true, false,     ProbeBtTcp, ParseBtTcp,
                                {6881, 6889, 51413}, 68,   BtTcpFirst};
constexpr PrefixProtocol kBtUdp{"bittorrent_udp",    false, true,      ProbeBtUdp, ParseBtUdp,
                                {6881, 6889, 51413}, 0,     BtUdpFirst};

}  // namespace

std::unique_ptr<Dissector> MakeBittorrentDissector() { return MakePrefixDissector(kBtTcp); }
std::unique_ptr<Dissector> MakeBittorrentUdpDissector() { return MakePrefixDissector(kBtUdp); }

}  // namespace rustnet
