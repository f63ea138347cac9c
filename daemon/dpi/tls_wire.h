// TLS handshake framing shared by TLS over TCP (tls.cc) and QUIC, whose
// CRYPTO frames carry the same handshake messages (quic.cc): the handshake
// message header (RFC 8446 §4), the extension walk every hello goes through
// (§4.2; ClientHello and ServerHello alike), and names made printable.
//
// Thread-safety: functions of their arguments only.
#ifndef RUSTNET_DAEMON_DPI_TLS_WIRE_H_
#define RUSTNET_DAEMON_DPI_TLS_WIRE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/byte_reader.h"
#include "daemon/dpi/dissector.h"
#include "daemon/dpi/tls.h"

namespace rustnet {

inline constexpr uint8_t kTlsClientHello = 1;
inline constexpr uint8_t kTlsServerHello = 2;
inline constexpr uint8_t kTlsCertificate = 11;
inline constexpr uint8_t kTlsServerHelloDone = 14;
inline constexpr size_t kTlsHandshakeHeaderBytes = 4;

// msg_type (1 byte) and the body's length (uint24).
struct TlsHandshakeHeader {
  uint8_t type = 0;
  uint32_t length = 0;
};

// Nullopt, `r` unmoved, if fewer than 4 bytes remain.
inline std::optional<TlsHandshakeHeader> ReadTlsHandshakeHeader(ByteReader& r) {
  ByteReader copy = r;
  auto type = copy.U8();
  auto length = copy.U24();
  if (!type || !length) return std::nullopt;
  r = copy;
  return TlsHandshakeHeader{*type, *length};
}

// A handshake message's whole length, header included, from its header (for
// ForEachFrame).
inline std::optional<size_t> TlsHandshakeFrameLength(ByteReader header) {
  auto h = ReadTlsHandshakeHeader(header);
  if (!h) return std::nullopt;
  return kTlsHandshakeHeaderBytes + size_t{h->length};
}

struct TlsHandshakeMessage {
  uint8_t type = 0;
  ByteReader body;
};

enum class TlsHandshakeRead : uint8_t {
  kNeedMore,  // `r` holds less than the message; `r` unmoved.
  kMessage,   // *out is the message; `r` moved past it.
  kTooLong,   // The header declares more than kMaxTlsHandshakeBytes in all.
};

// The next whole handshake message in `r`.
inline TlsHandshakeRead ReadTlsHandshakeMessage(ByteReader& r, TlsHandshakeMessage* out) {
  ByteReader copy = r;
  auto header = ReadTlsHandshakeHeader(copy);
  if (!header) return TlsHandshakeRead::kNeedMore;
  if (kTlsHandshakeHeaderBytes + size_t{header->length} > kMaxTlsHandshakeBytes) {
    return TlsHandshakeRead::kTooLong;
  }
  auto body = copy.Sub(header->length);
  if (!body) return TlsHandshakeRead::kNeedMore;
  r = copy;
  *out = TlsHandshakeMessage{header->type, *body};
  return TlsHandshakeRead::kMessage;
}

// Reads a hello's extensions block (a 2-byte length, then type-length-value
// entries) from `r` and calls fn(uint16_t type, ByteReader data) for each
// entry. True if the block is absent (hellos without extensions are legal)
// or well-formed. False after counting tls_extensions_past_end (the block's
// length runs past `r`; the entries that are there are still walked) or
// tls_extension_past_end (an entry runs past the block; the walk stops).
template <typename Fn>
bool ForEachTlsExtension(ByteReader& r, DpiAnomalies* anomalies, Fn&& fn) {
  if (r.empty()) return true;
  std::optional<ByteReader> block = r.PrefixedU16();
  bool ok = true;
  if (!block) {
    // The declared length runs past the hello: walk what is there.
    CountAnomaly(anomalies, tls_anomaly::kExtensionsPastEnd);
    ok = false;
    if (!r.Skip(std::min<size_t>(r.remaining(), 2)) || !(block = r.Sub(r.remaining()))) {
      return false;
    }
  }
  const bool entries_ok = ForEachItem(*block, [&fn](ByteReader& exts) {
    auto type = exts.U16();
    auto data = exts.PrefixedU16();
    if (!type || !data) return false;
    fn(*type, *data);
    return true;
  });
  if (!entries_ok) {
    CountAnomaly(anomalies, tls_anomaly::kExtensionPastEnd);
    return false;
  }
  return ok;
}

// A name from the wire as text: at most `max` bytes, anything outside
// printable ASCII as '?'.
inline std::string TlsPrintable(std::span<const uint8_t> bytes, size_t max = SIZE_MAX) {
  std::string s;
  const size_t n = std::min(bytes.size(), max);
  s.reserve(n);
  for (uint8_t c : bytes.first(n)) s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return s;
}

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_TLS_WIRE_H_
