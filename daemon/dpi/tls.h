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

// Handshake messages are reassembled up to this size (as Envoy's TLS
// inspector caps the ClientHello); larger ones are counted and dropped.
inline constexpr size_t kMaxTlsHandshakeBytes = 64 * 1024;

// Parses a ClientHello handshake *body* (after the 4-byte handshake header)
// into `tls`. `quic` selects the JA4 transport letter ('q' instead of 't').
// False if the body is malformed (counted in `anomalies`).
bool ParseClientHello(std::span<const uint8_t> body, bool quic, TlsFacts* tls,
                      DpiAnomalies* anomalies);

// "TLS 1.3" for 0x0304 etc.; hex for unknown values.
std::string TlsVersionName(uint16_t version);

std::unique_ptr<Dissector> MakeTlsDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_TLS_H_
