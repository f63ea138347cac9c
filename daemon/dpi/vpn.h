// VPN and datagram-security protocols recognised by content: OpenVPN (UDP,
// and TCP with its 2-byte length framing), WireGuard, IPsec IKE (v1, v2; on
// 4500 behind the non-ESP marker) and DTLS (RFC 6347, 9147 record layer).
//
// OpenVPN's packets have little fixed structure, so a flow is named only
// once a control packet's 8-byte session id comes back: in the peer's
// acknowledgement, or again from the same side.
#ifndef RUSTNET_DAEMON_DPI_VPN_H_
#define RUSTNET_DAEMON_DPI_VPN_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_VPN_ANOMALIES(X) X(kDtlsRecordPastDatagram, "dtls_record_past_datagram")
RUSTNET_DECLARE_DPI_ANOMALIES(vpn_anomaly, RUSTNET_VPN_ANOMALIES)

std::unique_ptr<Dissector> MakeOpenvpnDissector();
std::unique_ptr<Dissector> MakeWireguardDissector();
std::unique_ptr<Dissector> MakeIkeDissector();
std::unique_ptr<Dissector> MakeDtlsDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_VPN_H_
