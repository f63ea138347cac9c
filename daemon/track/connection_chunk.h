// ConnectionChunk: a fixed run of flow-table slots, shared copy-on-write
// between a worker's table and the snapshots readers hold.
//
// A worker publishes its table by handing out references to its chunks
// (no copying). Before it next writes a slot, the table asks its chunk
// whether anyone else still holds it and, if so, writes to a private copy
// of the chunk instead (FlowTable::Mutable). A chunk no connection changed
// in since the last snapshot is therefore stored once, however many
// snapshots hold it; only chunks written to in an interval are duplicated,
// once each. An idle table of a million connections costs its own memory
// and nothing more to publish.
//
// The reference count is intrusive, not std::shared_ptr's, for one reason:
// the owner's "am I alone?" test must be an acquire load that pairs with
// the release in a reader's drop, so the reader's last reads of the chunk
// happen before the owner's next writes. shared_ptr::use_count() is a
// relaxed load and gives no such ordering.
//
// Thread-safety: the slots of a chunk held by more than one ChunkRef are
// read-only; ChunkRef itself is like shared_ptr (one object per thread).
#ifndef RUSTNET_DAEMON_TRACK_CONNECTION_CHUNK_H_
#define RUSTNET_DAEMON_TRACK_CONNECTION_CHUNK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

#include "daemon/track/connection.h"

namespace rustnet {

class ConnectionChunk {
 public:
  static constexpr uint32_t kBits = 12;
  static constexpr uint32_t kSize = 1u << kBits;  // 4096 slots, ~1 MiB.

  ConnectionChunk() = default;
  ConnectionChunk(const ConnectionChunk& other) {
    std::copy(std::begin(other.slots), std::end(other.slots), std::begin(slots));
  }
  ConnectionChunk& operator=(const ConnectionChunk&) = delete;

  // Slots not in use hold a default Connection (in_use false).
  Connection slots[kSize];

  // Calls f(const Connection&) for each slot in use.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Connection& c : slots) {
      if (c.in_use) f(c);
    }
  }

 private:
  friend class ChunkRef;
  mutable std::atomic<uint32_t> refs_{0};
};

// A counted reference to a ConnectionChunk; null or one of its holders.
class ChunkRef {
 public:
  ChunkRef() = default;
  // Takes a new chunk (refs 0) into its first reference.
  explicit ChunkRef(ConnectionChunk* fresh) : chunk_(fresh) {
    if (chunk_ != nullptr) chunk_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  ChunkRef(const ChunkRef& other) : chunk_(other.chunk_) {
    // Relaxed: the copier already holds a reference.
    if (chunk_ != nullptr) chunk_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  ChunkRef(ChunkRef&& other) noexcept : chunk_(std::exchange(other.chunk_, nullptr)) {}
  ChunkRef& operator=(ChunkRef other) noexcept {
    std::swap(chunk_, other.chunk_);
    return *this;
  }
  ~ChunkRef() { Reset(); }

  void Reset() {
    ConnectionChunk* c = std::exchange(chunk_, nullptr);
    // Release: this holder's reads of the slots come before whatever the
    // next owner (or the deleter) does after its acquire.
    if (c != nullptr && c->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
  }

  // True if this is the chunk's only reference: its slots may be written.
  bool Unique() const {
    return chunk_ != nullptr && chunk_->refs_.load(std::memory_order_acquire) == 1;
  }
  explicit operator bool() const { return chunk_ != nullptr; }
  const ConnectionChunk& operator*() const { return *chunk_; }
  const ConnectionChunk* operator->() const { return chunk_; }
  // Only while Unique().
  ConnectionChunk* mutable_get() { return chunk_; }

 private:
  ConnectionChunk* chunk_ = nullptr;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_CONNECTION_CHUNK_H_
