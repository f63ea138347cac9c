// Group totals: connections summed by what they share (process, user,
// unit, container, application, remote host or address, local port,
// protocol) for GroupConnections (daemon/rpc/group_query.h).
//
// Two users: the API's group query, which sums the live table (and the
// in-memory history) into a GroupTable per request, and ClosedHistory
// (closed_history.h), which keeps one GroupTable per dimension for every
// connection that closed since the daemon started, so that totals outlive
// the connections and the bounded history alike.
//
// Bounded: a table holds at most `max_groups` keys; connections of further
// keys are summed in one group keyed "(other)" (counted in `folded`). Each
// group's top remote peer is found with the Space-Saving algorithm over
// kPeerSlots counters (Metwally et al., 2005): exact while a group has at
// most that many peers, and otherwise the heaviest peer is still found
// whenever it carries more than 1/kPeerSlots of the group's bytes.
//
// Thread-safety: none; callers lock (ClosedHistory) or own (a query).
#ifndef RUSTNET_DAEMON_SNAPSHOT_GROUP_TOTALS_H_
#define RUSTNET_DAEMON_SNAPSHOT_GROUP_TOTALS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "daemon/track/connection.h"

namespace rustnet {

// Mirrors rustnet.v1.GroupBy (same numbers).
enum class GroupDimension : uint8_t {
  kProcess = 1,
  kUser = 2,
  kUnit = 3,
  kContainer = 4,
  kApplication = 5,
  kRemoteHost = 6,
  kRemoteAddress = 7,
  kLocalPort = 8,
  kProtocol = 9,
};
inline constexpr int kGroupDimensions = 9;
inline bool IsGroupDimension(int v) { return v >= 1 && v <= kGroupDimensions; }

// The group `c` belongs to along `d` ("" when unknown: no process found,
// no application recognised, no ports).
std::string GroupKeyOf(const Connection& c, GroupDimension d);
// The remote end as a person names it: its host name, else its address.
std::string RemotePeerOf(const Connection& c);

inline constexpr std::string_view kOtherGroup = "(other)";

struct GroupTotals {
  static constexpr size_t kPeerSlots = 4;
  struct Peer {
    std::string name;
    uint64_t bytes = 0;
  };

  uint64_t open = 0;   // Connections in the live table.
  uint64_t total = 0;  // Open and closed.
  uint64_t packets_in = 0, packets_out = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double rate_in = 0, rate_out = 0;  // Open connections' current rates.
  int64_t first_seen_us = std::numeric_limits<int64_t>::max();
  int64_t last_seen_us = 0;
  std::array<Peer, kPeerSlots> peers;  // Space-Saving counters; bytes 0: unused.

  // Adds one connection (open: live, with its rates as of `now_us`).
  void Add(const Connection& c, std::string_view peer, bool open, int64_t now_us);
  // Adds another group's totals (a closed connections' table's group).
  void Merge(const GroupTotals& other);
  // The heaviest peer (empty name and 0 when none).
  const Peer& TopPeer() const;

 private:
  void AddPeer(std::string_view name, uint64_t bytes);
};

class GroupTable {
 public:
  explicit GroupTable(size_t max_groups) : max_groups_(max_groups) {}

  // The group for `key`; the "(other)" group once max_groups are held.
  GroupTotals& At(std::string_view key);
  const absl::flat_hash_map<std::string, GroupTotals>& groups() const { return groups_; }
  size_t size() const { return groups_.size(); }
  uint64_t folded() const { return folded_; }

 private:
  size_t max_groups_;
  absl::flat_hash_map<std::string, GroupTotals> groups_;
  uint64_t folded_ = 0;  // Additions that went to "(other)" for want of room.
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SNAPSHOT_GROUP_TOTALS_H_
