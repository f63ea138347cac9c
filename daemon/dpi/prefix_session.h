// PrefixDissector: the shape shared by protocols whose facts sit in the
// first bytes of each direction (MQTT's CONNECT, a SOCKS request, a SIP
// request, an SNMP PDU).
//
// A TCP session keeps each direction's first bytes, at most `max_prefix`
// (<= kMaxPrefixBytes), and hands the parser both prefixes after every
// feed: the parser reads from the start each time, so any split of the
// input gives the same answer, and a message cut short is simply kNeedMore.
// A UDP session hands the parser each datagram on its own (`prefix` is the
// datagram; `datagrams` counts them per direction). A TCP prefix that
// reaches its cap while the parser still asks for more ends the session:
// kDone if the parser named the protocol, kNotMine otherwise.
//
// Thread-safety: dissectors are immutable; a session belongs to one worker.
#ifndef RUSTNET_DAEMON_DPI_PREFIX_SESSION_H_
#define RUSTNET_DAEMON_DPI_PREFIX_SESSION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/dissector.h"

namespace rustnet {

inline constexpr size_t kMaxPrefixBytes = 2048;
inline constexpr size_t kPrefixScratchBytes = 24;

// What a prefix parser sees.
struct PrefixView {
  bool udp = false;
  bool from_client = false;  // Direction of the bytes just fed.
  // TCP: each direction's first bytes so far. UDP: `client` or `server` is
  // the datagram just fed, the other empty.
  std::span<const uint8_t> client;
  std::span<const uint8_t> server;
  uint32_t client_datagrams = 0;  // UDP: datagrams fed so far per direction,
  uint32_t server_datagrams = 0;  // this one included.
  // Per-session scratch the parser may keep between calls (UDP parsers
  // remember a session id here), zeroed at the start.
  std::span<uint8_t> scratch;
  std::span<const uint8_t> just_fed() const { return from_client ? client : server; }
};

using PrefixParser = ParseState (*)(const PrefixView& view, AppRecord* record,
                                    DpiAnomalies* anomalies);
using PrefixProbe = bool (*)(bool udp, bool from_client, std::span<const uint8_t> first);

struct PrefixProtocol {
  std::string_view name;
  bool tcp = false;
  bool udp = false;
  PrefixProbe probe = nullptr;
  PrefixParser parse = nullptr;
  std::array<uint16_t, 4> ports{};  // Server ports tried first (0: none).
  size_t max_prefix = 512;
  // The first bytes a flow of this protocol can start with (either side);
  // null: any. Evaluated for every byte once, when the dissector is made.
  bool (*may_start)(bool udp, uint8_t first_byte) = nullptr;
};

std::unique_ptr<Dissector> MakePrefixDissector(const PrefixProtocol& protocol);

// Small helpers for the parsers.

// The bytes of a constant string (for comparisons with the input).
inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
// True if `data` starts with `text` (case-sensitive).
bool StartsWith(std::span<const uint8_t> data, std::string_view text);
// True if `data` and `text` agree on their common length (a message that
// may still be arriving); false if `data` is empty.
bool CouldStartWith(std::span<const uint8_t> data, std::string_view text);
// True if `data` starts with `text`, ASCII case folded.
bool StartsWithFolded(std::span<const uint8_t> data, std::string_view text);
// `bytes` as printable ASCII, at most `max` bytes, others as '?'.
std::string Printable(std::span<const uint8_t> bytes, size_t max);
// The first line of `data` (without "\r\n"), if `data` holds a whole one.
std::optional<std::span<const uint8_t>> FirstLine(std::span<const uint8_t> data);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_PREFIX_SESSION_H_
