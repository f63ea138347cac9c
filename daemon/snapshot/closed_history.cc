#include "daemon/snapshot/closed_history.h"

#include <algorithm>

namespace rustnet {
namespace {

// Entries per chunk: a reader's snapshot copies one pointer per chunk, and
// up to one chunk of dropped entries stays allocated.
constexpr size_t kChunkEntries = 256;

}  // namespace

ClosedHistory::ClosedHistory(size_t capacity)
    : capacity_(capacity), chunk_size_(std::clamp<size_t>(capacity, 1, kChunkEntries)) {}

void ClosedHistory::OnClosed(std::span<const ClosedConnection> closed,
                             std::string_view /*interface*/) {
  if (capacity_ == 0 || closed.empty()) return;
  absl::MutexLock lock(&mu_);
  for (const ClosedConnection& c : closed) {
    if (chunks_.empty() || chunks_.back()->entries.size() == chunk_size_) {
      chunks_.push_back(std::make_shared<ClosedHistoryChunk>(chunk_size_));
    }
    // Within the reserved capacity: nothing a reader holds moves.
    chunks_.back()->entries.push_back(ClosedEntry{*c.connection, c.reason, c.time_us});
    ++added_;
    if (size_ < capacity_) {
      ++size_;
      continue;
    }
    ++dropped_;
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

ClosedHistory::Stats ClosedHistory::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{size_, capacity_, added_, dropped_};
}

}  // namespace rustnet
