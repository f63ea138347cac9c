// The names in a TLS server's leaf certificate (subject commonName and
// subjectAltName dNSNames), from a cleartext Certificate handshake message
// (TLS <= 1.2, RFC 5246 §7.4.2; TLS 1.3 encrypts it).
//
// The DER is read by a strict bounded reader of its own (definite lengths
// of at most 3 bytes, every element within its parent, the fields RFC 5280
// §4.1 orders) over the message's bytes (at most
// kMaxTlsCertificateMessageBytes, reassembled by tls.cc); only the subject
// and the subjectAltName extension are looked into. OpenSSL's d2i_X509 was
// ~300 µs a chain (OpenSSL 3 decodes the public key through its provider
// decoders); this is ~1 µs. Nothing is verified: these are the names the
// server claims, for display.
//
// Thread-safety: a function of its arguments.
#ifndef RUSTNET_DAEMON_DPI_TLS_CERTIFICATE_H_
#define RUSTNET_DAEMON_DPI_TLS_CERTIFICATE_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// The server's Certificate message is reassembled up to this size, header
// included; a longer chain is counted (tls_certificate_too_long) and its
// names are not read.
inline constexpr size_t kMaxTlsCertificateMessageBytes = 32 * 1024;
// At most this many SAN dNSNames are kept, each at most 255 bytes.
inline constexpr size_t kMaxCertificateNamesKept = 16;

#define RUSTNET_TLS_CERTIFICATE_ANOMALIES(X)                       \
  X(kCertificateTooLong, "tls_certificate_too_long")               \
  X(kCertificateListMalformed, "tls_certificate_list_malformed")   \
  X(kCertificateDerMalformed, "tls_certificate_der_malformed")
RUSTNET_DECLARE_DPI_ANOMALIES(tls_certificate_anomaly, RUSTNET_TLS_CERTIFICATE_ANOMALIES)

// Parses a Certificate handshake message *body* (after its 4-byte header):
// the leaf's subject CN and SAN dNSNames into tls->certificate_cn and
// tls->certificate_names (printable ASCII; other bytes '?'). False, `tls`
// untouched, if the list or the leaf's DER is malformed (counted).
bool ParseTlsCertificateMessage(std::span<const uint8_t> body, TlsFacts* tls,
                                DpiAnomalies* anomalies);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_TLS_CERTIFICATE_H_
