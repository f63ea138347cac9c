// Small UDP protocols recognised by content: NTP (RFC 5905; version, mode,
// stratum), DHCP (RFC 2131, with the client's host name from option 12) and
// STUN (RFC 8489; message type, mapped address, SOFTWARE, REALM), over UDP
// and over TCP (RFC 8489 §6.2.2, plain or with RFC 4571's 2-byte length as
// ICE-TCP sends it); a STUN flow that goes on with DTLS (WebRTC) is DTLS.
#ifndef RUSTNET_DAEMON_DPI_SIMPLE_UDP_H_
#define RUSTNET_DAEMON_DPI_SIMPLE_UDP_H_

#include <cstddef>
#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// Their anomalies (simple_udp_anomaly::kDhcpOptionPastEnd).
#define RUSTNET_SIMPLE_UDP_ANOMALIES(X)              \
  X(kDhcpOptionPastEnd, "dhcp_option_past_end")       \
  X(kStunAttributePastEnd, "stun_attribute_past_end")   \
  X(kStunTcpMessageTooLong, "stun_tcp_message_too_long")
// A STUN message over TCP longer than this is refused (kStunTcpMessageTooLong):
// real ones are a few hundred bytes.
inline constexpr size_t kMaxStunTcpMessage = 4096;

RUSTNET_DECLARE_DPI_ANOMALIES(simple_udp_anomaly, RUSTNET_SIMPLE_UDP_ANOMALIES)

std::unique_ptr<Dissector> MakeNtpDissector();
std::unique_ptr<Dissector> MakeDhcpDissector();
std::unique_ptr<Dissector> MakeStunDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_SIMPLE_UDP_H_
