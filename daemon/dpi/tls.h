// TLS (RFC 8446, RFC 5246): handshake reassembly from the TCP stream,
// ClientHello facts (SNI, ALPN, supported_versions, ECH, JA4) and the
// ServerHello's negotiated version and cipher suite.
//
// The ClientHello parser is shared with QUIC, whose CRYPTO frames carry the
// same handshake message.
#ifndef RUSTNET_DAEMON_DPI_TLS_H_
#define RUSTNET_DAEMON_DPI_TLS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// Handshake messages are reassembled up to this size, header included (as
// Envoy's TLS inspector caps the ClientHello); larger ones are counted and
// dropped.
inline constexpr size_t kMaxTlsHandshakeBytes = 64 * 1024;

// RFC 5246 §6.2.3: a record's payload is at most 2^14 + 2048 bytes (TLS 1.3
// allows less, RFC 8446 §5.2); a longer one is not TLS.
inline constexpr size_t kMaxTlsRecordPayload = (1u << 14) + 2048;

// TLS's anomalies (tls_anomaly::kHandshakeTooLong ...), ParseClientHello's
// included, whether the hello came over TCP or QUIC.
#define RUSTNET_TLS_ANOMALIES(X)                                             \
  X(kBadRecordVersion, "tls_bad_record_version")                             \
  X(kRecordTooLong, "tls_record_too_long")                                   \
  X(kHandshakeTooLong, "tls_handshake_too_long")                             \
  X(kClientHelloTruncated, "tls_client_hello_truncated")                     \
  X(kClientHelloBadSessionId, "tls_client_hello_bad_session_id")             \
  X(kClientHelloBadCipherSuites, "tls_client_hello_bad_cipher_suites")       \
  X(kServerHelloTruncated, "tls_server_hello_truncated")                     \
  X(kExtensionsPastEnd, "tls_extensions_past_end")                           \
  X(kExtensionPastEnd, "tls_extension_past_end")                             \
  X(kSniLengthPastExtension, "tls_sni_length_past_extension")                \
  X(kAlpnLengthPastExtension, "tls_alpn_length_past_extension")              \
  X(kSupportedVersionsMalformed, "tls_supported_versions_malformed")         \
  X(kSignatureAlgorithmsMalformed, "tls_signature_algorithms_malformed")
RUSTNET_DECLARE_DPI_ANOMALIES(tls_anomaly, RUSTNET_TLS_ANOMALIES)

// Parses a ClientHello handshake *body* (after the 4-byte handshake header)
// into `tls`. `quic` selects the JA4 transport letter ('q' instead of 't').
// False, `tls` untouched, if the fixed part (version, random, session id,
// cipher suites, compression methods) is malformed; a malformed extension
// is counted and skipped, the rest still read. Anomalies are counted in
// `anomalies` (may be null).
bool ParseClientHello(std::span<const uint8_t> body, bool quic, TlsFacts* tls,
                      DpiAnomalies* anomalies);

// "TLS 1.3" for 0x0304 etc.; hex for unknown values.
std::string TlsVersionName(uint16_t version);

std::unique_ptr<Dissector> MakeTlsDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_TLS_H_
