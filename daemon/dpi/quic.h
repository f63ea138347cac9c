// QUIC (RFC 9000, RFC 9001, RFC 9369): recognises long-header packets of
// v1, v2, drafts 29-34 and Google QUIC, and reads the client's ClientHello
// from its Initial packets: derive the Initial keys from the Destination
// Connection ID with the version's salt (RFC 9001 §5.2), remove header
// protection (§5.4), decrypt with AES-128-GCM (OpenSSL libcrypto), walk the
// frames and reassemble CRYPTO data by offset across packets, in any order,
// including coalesced packets. The ClientHello then goes through the TLS
// parser (tls.h).
#ifndef RUSTNET_DAEMON_DPI_QUIC_H_
#define RUSTNET_DAEMON_DPI_QUIC_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// CRYPTO data kept per connection at most.
inline constexpr size_t kMaxQuicCryptoBytes = 64 * 1024;

// QUIC's and Google QUIC's anomalies (quic_anomaly::kBadLongHeader ...). The
// ClientHello inside also counts TLS's (tls.h).
#define RUSTNET_QUIC_ANOMALIES(X)                                  \
  X(kBadLongHeader, "quic_bad_long_header")                        \
  X(kLengthPastDatagram, "quic_length_past_datagram")              \
  X(kPacketTooShort, "quic_packet_too_short")                      \
  X(kInitialKeysFailed, "quic_initial_keys_failed")                \
  X(kHeaderProtectionFailed, "quic_header_protection_failed")      \
  X(kInitialDecryptFailed, "quic_initial_decrypt_failed")          \
  X(kFrameMalformed, "quic_frame_malformed")                       \
  X(kCryptoFrameTruncated, "quic_crypto_frame_truncated")          \
  X(kUnexpectedInitialFrame, "quic_unexpected_initial_frame")      \
  X(kCryptoNotClientHello, "quic_crypto_not_client_hello")         \
  X(kCryptoTooLong, "quic_crypto_too_long")                        \
  X(kClientHelloMalformed, "quic_client_hello_malformed")          \
  X(kGquicChloTruncated, "gquic_chlo_truncated")                   \
  X(kGquicChloBadOffset, "gquic_chlo_bad_offset")
RUSTNET_DECLARE_DPI_ANOMALIES(quic_anomaly, RUSTNET_QUIC_ANOMALIES)

// "v1", "v2", "draft-29", "Q050", or "0x…".
std::string QuicVersionName(uint32_t version);

struct QuicInitialKeys {
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
};

// The client's Initial keys for `version` and `dcid`; nullopt if the version
// has no known salt.
std::optional<QuicInitialKeys> DeriveClientInitialKeys(uint32_t version,
                                                       std::span<const uint8_t> dcid);

// The keys last derived, by version and DCID: a client's Initials all
// carry the DCID of its first (RFC 9000 §7.2), so a flow derives once —
// until a Retry or the server's CID changes it, when the keys follow the
// DCID each packet carries. Also the largest packet number decrypted, to
// expand truncated packet numbers (RFC 9000 §17.1, Appendix A.3).
struct QuicKeyCache {
  uint32_t version = 0;
  uint8_t dcid_len = 0;
  std::array<uint8_t, 20> dcid{};
  std::optional<QuicInitialKeys> keys;  // Empty: nothing cached yet.
  int64_t largest_pn = -1;              // None decrypted yet.
};

// RFC 9000 Appendix A.3: the packet number closest to largest + 1 whose
// low `pn_len` bytes are `truncated`.
uint64_t DecodePacketNumber(int64_t largest, uint64_t truncated, size_t pn_len);

// Decrypts every client Initial packet in `datagram` (coalesced packets
// included) and returns their plaintext payloads (frames). Anomalies are
// counted; an Initial of a version without known keys is skipped, not
// counted. `cache` (may be null) keeps the keys between calls.
std::vector<std::vector<uint8_t>> DecryptClientInitials(std::span<const uint8_t> datagram,
                                                        uint32_t* version,
                                                        DpiAnomalies* anomalies,
                                                        QuicKeyCache* cache = nullptr);

std::unique_ptr<Dissector> MakeQuicDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_QUIC_H_
