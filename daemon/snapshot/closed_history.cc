#include "daemon/snapshot/closed_history.h"

#include <algorithm>

namespace rustnet {
namespace {

// Entries per chunk: a reader's snapshot copies one pointer per chunk, and
// up to one chunk of dropped entries stays allocated.
constexpr size_t kChunkEntries = 256;

}  // namespace

ClosedHistory::ClosedHistory(size_t capacity)
    : capacity_(capacity), chunk_size_(std::clamp<size_t>(capacity, 1, kChunkEntries)) {
  totals_.reserve(kGroupDimensions);
  for (int d = 0; d < kGroupDimensions; ++d) totals_.emplace_back(kMaxClosedGroups);
}

void ClosedHistory::OnClosed(std::span<const ClosedConnection> closed,
                             std::string_view /*interface*/) {
  if (closed.empty()) return;
  // Group keys are made before taking the lock: workers wait on it only
  // for the additions.
  std::vector<std::string> keys;
  keys.reserve(closed.size() * (kGroupDimensions + 1));
  for (const ClosedConnection& c : closed) {
    for (int d = 1; d <= kGroupDimensions; ++d) {
      keys.push_back(GroupKeyOf(*c.connection, static_cast<GroupDimension>(d)));
    }
    keys.push_back(RemotePeerOf(*c.connection));
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < closed.size(); ++i) {
    const ClosedConnection& c = closed[i];
    const std::string* k = &keys[i * (kGroupDimensions + 1)];  // Dimensions, then the peer.
    for (int d = 0; d < kGroupDimensions; ++d) {
      totals_[static_cast<size_t>(d)].At(k[d]).Add(*c.connection, k[kGroupDimensions], /*open=*/false, c.time_us);
    }
    ++added_;
    if (capacity_ == 0) {
      ++dropped_;
      dropped_newest_us_ = std::max(dropped_newest_us_, c.time_us);
      continue;
    }
    if (chunks_.empty() || chunks_.back()->entries.size() == chunk_size_) {
      chunks_.push_back(std::make_shared<ClosedHistoryChunk>(chunk_size_));
    }
    // Within the reserved capacity: nothing a reader holds moves.
    chunks_.back()->entries.push_back(ClosedEntry{*c.connection, c.reason, c.time_us});
    if (size_ < capacity_) {
      ++size_;
      continue;
    }
    ++dropped_;
    dropped_newest_us_ =
        std::max(dropped_newest_us_, chunks_.front()->entries[first_].closed_at_us);
    if (++first_ == chunk_size_) {
      chunks_.pop_front();
      first_ = 0;
    }
  }
}

ClosedHistory::Snapshot ClosedHistory::Take() const {
  Snapshot s;
  s.chunk_size_ = chunk_size_;
  absl::MutexLock lock(&mu_);
  s.chunks_.assign(chunks_.begin(), chunks_.end());
  s.first_ = first_;
  s.size_ = size_;
  return s;
}

void ClosedHistory::TakeWithTotals(GroupDimension d, Snapshot* entries, GroupTable* totals,
                                   Stats* stats) const {
  entries->chunk_size_ = chunk_size_;
  absl::MutexLock lock(&mu_);
  entries->chunks_.assign(chunks_.begin(), chunks_.end());
  entries->first_ = first_;
  entries->size_ = size_;
  *totals = totals_[static_cast<size_t>(d) - 1];
  *stats = Stats{size_, capacity_, added_, dropped_, dropped_newest_us_};
}

ClosedHistory::Stats ClosedHistory::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{size_, capacity_, added_, dropped_, dropped_newest_us_};
}

}  // namespace rustnet
