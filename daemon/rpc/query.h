// Connection queries: filter, sort and page the snapshot for
// ListConnections and WatchConnections; with include_closed, the in-memory
// history of closed connections (daemon/snapshot/closed_history.h) too.
//
// Works on the workers' compact snapshots and converts only the rows of the
// requested window to API messages, so a 50-row page of a 100k-connection
// table costs a filter pass and a partial sort, not 100k conversions.
//
// Thread-safety: a ConnectionQuery is immutable once made; RunQuery may run
// on many threads at once (snapshots are immutable and shared).
#ifndef RUSTNET_DAEMON_RPC_QUERY_H_
#define RUSTNET_DAEMON_RPC_QUERY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/filter.h"
#include "daemon/rpc/enrichment.h"
#include "daemon/snapshot/closed_history.h"
#include "daemon/snapshot/snapshot_store.h"
#include "daemon/track/connection.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {

struct ConnectionQuery {
  Filter filter;
  rustnet::v1::SortField sort = rustnet::v1::SORT_FIELD_UNSPECIFIED;
  bool descending = false;
  uint32_t offset = 0;
  uint32_t limit = 0;  // 0: no limit.
  bool hide_loopback = false;
  bool include_closed = false;  // Also the history's closed connections.
  // Locations and MAC vendors for the rows returned and for country:,
  // asn:, org: terms and the location sort (the service's; see
  // enrichment.h). Empty: none.
  Enrichment enrich;
};

// Validates the request's fields (InvalidArgument with the filter's column
// on a bad filter or an unknown enum value).
absl::StatusOr<ConnectionQuery> MakeQuery(std::string_view filter, int sort, int order,
                                          uint32_t offset, uint32_t limit, bool hide_loopback,
                                          bool include_closed = false);

// The lowercase state name used by filters ("established", "time_wait").
std::string_view StateName(ConnState state);
// ProtocolName ("tcp", "udp", ...) is in common/flow_key.h.

// The local socket's owner (null when unknown); the remote's with side 1.
const ProcessRecord* OwnerOf(const Connection& c, int side = 0);

// FilterSubject over a tracked connection.
class ConnectionSubject final : public FilterSubject {
 public:
  ConnectionSubject(const Connection& c, std::string_view interface,
                    const Enrichment* enrich = nullptr)
      : c_(c), interface_(interface), enrich_(enrich) {}
  std::string_view Protocol() const override { return ProtocolName(c_.key.protocol); }
  int IpVersion() const override { return c_.key.ip_version; }
  const IpAddress& Address(int side) const override;
  uint16_t Port(int side) const override;
  std::string_view State() const override { return StateName(c_.state); }
  std::string_view Direction() const override { return c_.initiator == c_.local ? "out" : "in"; }
  std::string_view Service() const override;
  std::string_view App() const override {
    return c_.app ? AppProtocolName(c_.app->protocol) : std::string_view();
  }
  std::string_view Sni() const override {
    return c_.app ? std::string_view(c_.app->tls->sni) : std::string_view();
  }
  std::string_view Hosts() const override;
  // Process and user: the local socket's owner, and for loopback also the
  // remote socket's (space-separated).
  std::string_view Process() const override;
  uint32_t Pid(int side) const override;
  std::string_view User() const override;
  std::string_view Interface() const override { return interface_; }
  // From GeoIP (looked up on first use); empty without it.
  FilterLocation RemoteLocation() const override;
  std::string_view Pod() const override;
  std::string_view Namespace() const override;
  // The pod container's name and the container id, of both ends.
  std::string_view Container() const override;

 private:
  // `field` of each end's owner, space-separated, built once into `out`.
  std::string_view Joined(std::string ProcessRecord::*field, std::string* out) const;

  const Connection& c_;
  std::string_view interface_;
  const Enrichment* enrich_;
  mutable std::shared_ptr<const GeoLocation> location_;
  mutable std::string hosts_;  // Built on first use.
  mutable std::string process_;
  mutable std::string user_;
  mutable std::string pod_, namespace_, container_;
  mutable bool container_built_ = false;
};

// Fills `out` with the window of matching connections from `snapshots`
// (null entries are workers that have not published yet) and, when the
// query includes closed ones and `closed` is not null, from the history:
// live and closed rows filtered, sorted and paged as one list, closed rows
// marked (closed, closed_at, close_reason). A connection in both (removed
// after its worker's last snapshot) is returned once, live.
void RunQuery(const ConnectionQuery& query,
              const std::vector<std::shared_ptr<const WorkerSnapshot>>& snapshots,
              std::string_view interface, rustnet::v1::ListConnectionsResponse* out,
              const ClosedHistory::Snapshot* closed = nullptr);

// True if `c` passes the query's filter and loopback setting.
bool QueryMatches(const ConnectionQuery& query, const Connection& c, std::string_view interface);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RPC_QUERY_H_
