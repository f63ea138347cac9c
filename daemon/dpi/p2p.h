// BitTorrent recognised by content (BEP 3, 29, 5): the peer wire handshake
// over TCP or inside uTP, uTP's own header, and the Mainline DHT's
// bencoded queries and answers over UDP.
#ifndef RUSTNET_DAEMON_DPI_P2P_H_
#define RUSTNET_DAEMON_DPI_P2P_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_P2P_ANOMALIES(X) X(kUtpExtensionPastEnd, "utp_extension_past_end")
RUSTNET_DECLARE_DPI_ANOMALIES(p2p_anomaly, RUSTNET_P2P_ANOMALIES)

std::unique_ptr<Dissector> MakeBittorrentDissector();     // TCP peer wire.
std::unique_ptr<Dissector> MakeBittorrentUdpDissector();  // uTP and DHT.

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_P2P_H_
