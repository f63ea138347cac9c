// Names for addresses that no GeoIP database places: private, loopback,
// link-local, CGNAT, multicast, documentation and the other special-purpose
// ranges of the IANA registries (RFC 6890 and its updates). Answered from a
// fixed table, before any database lookup.
//
// Thread-safety: pure functions over constant tables.
#ifndef RUSTNET_DAEMON_ENRICH_SPECIAL_RANGES_H_
#define RUSTNET_DAEMON_ENRICH_SPECIAL_RANGES_H_

#include <string_view>

#include "common/flow_key.h"

namespace rustnet {

// The range's name ("private", "loopback", "link-local", "CGNAT",
// "multicast", "documentation", "unique-local", "benchmarking",
// "this-network", "reserved", "broadcast", "unspecified", "discard-only");
// empty for an address in no special range (a public one, for GeoIP to place).
std::string_view SpecialRangeName(const IpAddress& address);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_ENRICH_SPECIAL_RANGES_H_
