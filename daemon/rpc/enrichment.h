// What the API adds to each connection it returns: GeoIP/ASN locations and
// MAC vendors (daemon/enrich/).
//
// Why here and not in the workers or in snapshot/convert.cc: the packet path
// must not wait on a database, a reload lock or a cache, and most tracked
// connections are never shown. The API converts only the rows of the page
// it answers (query.cc: a filter pass over compact snapshots, then ToProto
// for the window), so lookups happen for those rows (and for the rows a
// country:/asn:/org: filter looks at), on the gRPC thread, through GeoIp's
// bounded cache: a hit is a hash probe, a miss a memory-mapped tree walk of
// about a microsecond. snapshot/ stays free of enrich/ (the JSON dump and
// the connection log carry no locations).
//
// Thread-safety: GeoIp and MacVendorTable are safe to share; an Enrichment
// is a pair of pointers owned by main.
#ifndef RUSTNET_DAEMON_RPC_ENRICHMENT_H_
#define RUSTNET_DAEMON_RPC_ENRICHMENT_H_

#include "daemon/enrich/geoip.h"
#include "daemon/enrich/mac_vendors.h"
#include "daemon/enrich/reverse_dns.h"
#include "daemon/track/connection.h"
#include "rustnet/v1/connection.pb.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {

struct Enrichment {
  GeoIp* geoip = nullptr;                       // Null: --no-geoip.
  const MacVendorTable* mac_vendors = nullptr;  // Null: none loaded.
  ReverseDns* reverse_dns = nullptr;            // Null: no --resolve-dns.
  // --show-ptr-lookups: list the resolver's own connections (marked
  // own_lookup) instead of leaving them out.
  bool show_ptr_lookups = false;
};

// True if `c` is one of the reverse DNS resolver's own queries (its socket
// to a DNS server); false without reverse DNS.
bool IsOwnLookup(const Enrichment& e, const Connection& c);

// True if answers leave `c` out: an own lookup without --show-ptr-lookups.
inline bool HiddenOwnLookup(const Enrichment& e, const Connection& c) {
  return !e.show_ptr_lookups && IsOwnLookup(e, c);
}

// Sets remote_location / local_location and the MAC vendors of `out`, the
// message ToProto made from `c`; with reverse DNS, a remote end without a
// host name gets its PTR name (hostname_source "ptr") once it is known
// (the first request queues the lookup; a later one shows it); the
// resolver's own connections are marked own_lookup (and get no PTR lookup).
void AddEnrichment(const Enrichment& e, const Connection& c, rustnet::v1::Connection* out);

// Stats.enrich.
void FillEnrichStats(const Enrichment& e, rustnet::v1::EnrichStats* out);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RPC_ENRICHMENT_H_
