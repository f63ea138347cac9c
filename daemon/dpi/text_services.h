// Line- and handshake-based services recognised by content: SIP (RFC 3261;
// method, From/To domains, user agent; UDP and TCP), RTSP (RFC 2326/7826),
// IRC (RFC 2812), NNTP (RFC 3977), rsync's daemon protocol, Git's pack
// protocol (git://), SOCKS 4/4a/5 (RFC 1928; the target asked for) and
// HTTP/2 with prior knowledge (RFC 9113 §3.3 connection preface).
//
// Never kept: SIP user parts (only domains), SOCKS user ids and RFC 1929
// user names and passwords, IRC PASS.
#ifndef RUSTNET_DAEMON_DPI_TEXT_SERVICES_H_
#define RUSTNET_DAEMON_DPI_TEXT_SERVICES_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_TEXT_SERVICES_ANOMALIES(X)              \
  X(kSipHeaderControlBytes, "sip_header_control_bytes") \
  X(kSocksBadAddressType, "socks_bad_address_type")
RUSTNET_DECLARE_DPI_ANOMALIES(text_services_anomaly, RUSTNET_TEXT_SERVICES_ANOMALIES)

inline constexpr size_t kMaxSipValueKept = 128;
inline constexpr size_t kMaxSocksHostKept = 255;

std::unique_ptr<Dissector> MakeSipDissector();
std::unique_ptr<Dissector> MakeRtspDissector();
std::unique_ptr<Dissector> MakeIrcDissector();
std::unique_ptr<Dissector> MakeNntpDissector();
std::unique_ptr<Dissector> MakeRsyncDissector();
std::unique_ptr<Dissector> MakeGitDissector();
std::unique_ptr<Dissector> MakeSocksDissector();
std::unique_ptr<Dissector> MakeHttp2Dissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_TEXT_SERVICES_H_
