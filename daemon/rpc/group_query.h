// GroupConnections: the live table, and with include_closed the connections
// that closed, summed into groups (daemon/snapshot/group_totals.h).
//
// Which closed connections count:
//  - No filter, no `since`, loopback not hidden: the history's totals of
//    every connection closed since the daemon started
//    (ClosedHistory::TakeWithTotals), so the answer is complete however many
//    connections came and went.
//  - Otherwise (also with reverse DNS and without --show-ptr-lookups, as
//    its own lookups are left out) each closed connection must be looked at, and only those the
//    in-memory history still holds can be: the answer says whether the
//    history dropped any that could have matched (`complete`,
//    `closed_not_counted`).
// A connection still in a worker's last live snapshot that has since
// closed (and so is in the history read after it) counts once, closed.
// That holds while fewer connections close within one snapshot interval
// than the history holds (--history-size; with 0, the live snapshot's
// closed-since connections count twice until the next snapshot).
//
// Thread-safety: a pure function of its arguments (snapshots and history
// snapshots are immutable).
#ifndef RUSTNET_DAEMON_RPC_GROUP_QUERY_H_
#define RUSTNET_DAEMON_RPC_GROUP_QUERY_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/rpc/enrichment.h"
#include "daemon/snapshot/closed_history.h"
#include "daemon/snapshot/group_totals.h"
#include "daemon/snapshot/snapshot_store.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet {

// The most groups one answer holds (and what a limit of 0 gets).
inline constexpr uint32_t kMaxGroupLimit = 10'000;
// Groups one query sums the live table and history into before folding
// the rest into "(other)".
inline constexpr size_t kMaxQueryGroups = 100'000;

// Checks the request (InvalidArgument naming what is wrong) and answers it
// from `live` (read first) and `history` (null: none kept; then closed
// connections are not counted and `complete` is false if asked for).
// `enrich` answers country:/asn:/org: filters and the country and AS
// groupings (which are the remote-address groups, renamed by GeoIP and
// merged); without GeoIP they have only special ranges and "".
absl::StatusOr<rustnet::v1::GroupConnectionsResponse> RunGroupQuery(
    const rustnet::v1::GroupConnectionsRequest& request,
    const std::vector<std::shared_ptr<const WorkerSnapshot>>& live,
    std::string_view interface, const ClosedHistory* history,
    const Enrichment& enrich = Enrichment());

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RPC_GROUP_QUERY_H_
