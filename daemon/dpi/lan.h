// Windows and LAN protocols, recognised by content on any port:
//  * SMB over TCP (direct, or behind a NetBIOS session request): SMB1 or
//    SMB2/3 and the dialect the server chose ("SMB 3.1.1").
//  * NetBIOS session service: the called name of the session request.
//  * NetBIOS name service (UDP): the name asked about and the operation.
//  * SSDP (UDP): the method, search/notification target, SERVER or
//    USER-AGENT.
//  * Kerberos (UDP and TCP): message type, realm and client principal.
//  * LLMNR: DNS on port 5355, its own label (RelabelLlmnr).
// Never kept: NTLM/Kerberos tickets, authenticators, encrypted parts, file
// names, anything past the negotiation.
#ifndef RUSTNET_DAEMON_DPI_LAN_H_
#define RUSTNET_DAEMON_DPI_LAN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_LAN_ANOMALIES(X)                           \
  X(kSmbFrameTooLong, "smb_frame_too_long")                \
  X(kNetbiosNameMalformed, "netbios_name_malformed")       \
  X(kKerberosMalformed, "kerberos_malformed")
RUSTNET_DECLARE_DPI_ANOMALIES(lan_anomaly, RUSTNET_LAN_ANOMALIES)

std::unique_ptr<Dissector> MakeSmbDissector();
std::unique_ptr<Dissector> MakeNetbiosNsDissector();
// NetBIOS datagrams (UDP 138) carrying SMB: named SMB (see lan.cc).
std::unique_ptr<Dissector> MakeNetbiosDgmDissector();
std::unique_ptr<Dissector> MakeSsdpDissector();
std::unique_ptr<Dissector> MakeKerberosDissector();

// DNS on UDP port 5355 (either side) is LLMNR (RFC 4795).
void RelabelLlmnr(uint8_t transport, uint16_t client_port, uint16_t server_port,
                  AppRecord* record);

// NetBIOS first-level encoding (RFC 1001 §14.1): 32 bytes 'A'..'P' to
// "NAME<20>" (trailing spaces dropped, the suffix byte in hex); nullopt if
// malformed.
std::optional<std::string> DecodeNetbiosName(std::span<const uint8_t> encoded);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_LAN_H_
