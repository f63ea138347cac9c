// Remote access, recognised by content on any port:
//  * RDP: the X.224 Connection Request's "Cookie: mstshash=" user name and
//    the security protocols the client asks for; when the server selects
//    TLS or CredSSP, the TLS handshake's facts of the same connection.
//  * VNC: the RFB protocol version the server offers.
//  * Telnet: option negotiation (IAC WILL/WONT/DO/DONT) at the start.
// Never kept: anything after the handshake (keystrokes, passwords, screen).
#ifndef RUSTNET_DAEMON_DPI_REMOTE_H_
#define RUSTNET_DAEMON_DPI_REMOTE_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_REMOTE_ANOMALIES(X)                        \
  X(kRdpTpktMalformed, "rdp_tpkt_malformed")               \
  X(kRdpCookieMalformed, "rdp_cookie_malformed")
RUSTNET_DECLARE_DPI_ANOMALIES(remote_anomaly, RUSTNET_REMOTE_ANOMALIES)

std::unique_ptr<Dissector> MakeRdpDissector();
std::unique_ptr<Dissector> MakeVncDissector();
std::unique_ptr<Dissector> MakeTelnetDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_REMOTE_H_
