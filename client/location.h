// The Location column and the Details lines for where a connection's ends
// are (GeoIP/ASN from the daemon) and who made their network cards (MAC
// vendors): rustnet.v1.Location and MacVendor as text. Values come from the
// daemon's databases: callers sanitise them before drawing.
//
// Thread-safety: pure functions.
#ifndef RUSTNET_CLIENT_LOCATION_H_
#define RUSTNET_CLIENT_LOCATION_H_

#include <string>

#include "rustnet/v1/connection.pb.h"

namespace rustnet::client {

// The Overview cell: "GB Andrews & Arnold Ltd", "GB AS20712" (no
// organisation), "DE" (no ASN), "AS13335 Cloudflare, Inc." (no country),
// the special range ("private", "CGNAT"); empty when nothing is known.
std::string LocationCell(const rustnet::v1::Location& l);

// The Details line: "London, United Kingdom (GB) · AS20712 Andrews & Arnold
// Ltd", "private range"; empty when nothing is known. `dot` separates the
// place from the network ("·", or "-" without Unicode).
std::string LocationDetail(const rustnet::v1::Location& l, std::string_view dot);

// "Cisco Systems, Inc", "locally administered (randomised)", "multicast";
// empty when unknown.
std::string MacVendorText(const rustnet::v1::MacVendor& v);

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_LOCATION_H_
