// The Overview's models beyond the connection window (which the view model
// keeps): the process tree of the grouped view (`a`), and how close a
// connection is to its idle timeout.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_OVERVIEW_MODEL_H_
#define RUSTNET_CLIENT_TABS_OVERVIEW_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

// How close a live connection is to leaving the table: idle time (as of
// the snapshot) over its idle timeout. kWarn past 75 %, kCritical past
// 90 %; kNone for closed connections and those without a timeout.
enum class Expiry { kNone, kWarn, kCritical };
Expiry ExpiryOf(const rustnet::v1::Connection& c, int64_t snapshot_us);

// "fin", "reset", "timeout", "evicted", "replaced", "shutdown".
std::string_view CloseReasonName(rustnet::v1::CloseReason r);

// The group a connection belongs to in the grouped Overview: the process
// name the Process column shows (the local socket's owner, else the
// remote end's), "user NAME" when only the user is known, "" for none.
std::string ProcessGroupKey(const rustnet::v1::Connection& c);

// The grouped Overview: one line per process with totals, its connections
// beneath when expanded. Groups come in the order of their first row (the
// rows are asked for sorted by process); "" (no process) last.
class GroupTree {
 public:
  struct Group {
    std::string key;
    size_t connections = 0;
    size_t open = 0;  // Not closed.
    double rate_in = 0;
    double rate_out = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    std::vector<size_t> rows;  // Indexes into the rows given to Build.
  };
  // One screen line: a group, or one of its connections.
  struct Entry {
    size_t group;
    bool is_group;
    size_t row;  // When !is_group: the index into the rows.
  };

  void Build(const std::vector<rustnet::v1::Connection>& rows);
  const std::vector<Group>& groups() const { return groups_; }
  // The lines in order: every group, with its connections after it when
  // expanded.
  const std::vector<Entry>& entries() const { return entries_; }

  bool expanded(const std::string& key) const { return expanded_.contains(key); }
  void SetExpanded(const std::string& key, bool expanded);
  void Toggle(const std::string& key) { SetExpanded(key, !expanded(key)); }

 private:
  void Flatten();
  std::vector<Group> groups_;
  std::vector<Entry> entries_;
  // Kept across rebuilds (by key), so a refresh does not fold the tree.
  absl::flat_hash_set<std::string> expanded_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_OVERVIEW_MODEL_H_
