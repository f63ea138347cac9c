// Well-known service names by port, from a built-in table (IANA's service
// name registry, common names as /etc/services spells them). Built in so the
// answer does not depend on the host's /etc/services.
#ifndef RUSTNET_COMMON_SERVICES_H_
#define RUSTNET_COMMON_SERVICES_H_

#include <cstdint>
#include <string_view>

namespace rustnet {

// The service registered for `port` over `protocol` (kIpProtoTcp or
// kIpProtoUdp); empty when the port is not in the table.
std::string_view LookupService(uint8_t protocol, uint16_t port);

// The service for a connection: the responder's port wins, then the
// initiator's (for connections picked up mid-stream with a wrong guess).
std::string_view ServiceForConnection(uint8_t protocol, uint16_t initiator_port,
                                      uint16_t responder_port);

// For tests: whether the built-in table is sorted by port.
bool ServiceTableIsSorted();

}  // namespace rustnet

#endif  // RUSTNET_COMMON_SERVICES_H_
