// Small UDP protocols recognised by content: NTP (RFC 5905; version, mode,
// stratum), DHCP (RFC 2131, with the client's host name from option 12) and
// STUN (RFC 8489; message type, mapped address, SOFTWARE).
#ifndef RUSTNET_DAEMON_DPI_SIMPLE_UDP_H_
#define RUSTNET_DAEMON_DPI_SIMPLE_UDP_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

// Their anomalies (simple_udp_anomaly::kDhcpOptionPastEnd).
#define RUSTNET_SIMPLE_UDP_ANOMALIES(X)              \
  X(kDhcpOptionPastEnd, "dhcp_option_past_end")       \
  X(kStunAttributePastEnd, "stun_attribute_past_end")
RUSTNET_DECLARE_DPI_ANOMALIES(simple_udp_anomaly, RUSTNET_SIMPLE_UDP_ANOMALIES)

std::unique_ptr<Dissector> MakeNtpDissector();
std::unique_ptr<Dissector> MakeDhcpDissector();
std::unique_ptr<Dissector> MakeStunDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_SIMPLE_UDP_H_
