// FlowTable: one worker's connections, keyed by canonical FlowKey.
//
// Storage: connections live in fixed-size chunks addressed by a 32-bit
// index (no per-connection allocation, no pointer invalidation on growth),
// shared copy-on-write with snapshots (see connection_chunk.h);
// a FlowIndex finds a key's index while storing only the indices (the key
// is read from the connection; see flow_index.h). Every connection sits on
// one idle list (linked by index), ordered by last packet time, per
// timeout class and tier, so expiry pops list heads (O(expired)).
//
// Eviction at capacity takes the longest-idle *embryonic* connection first
// (see IsEmbryonic: one-way flows and TCP that never completed a
// handshake) and only when there is none the longest-idle of the rest. A
// flood of SYNs from random sources (answered with RSTs or SYN-ACKs or
// not at all) thus only displaces its own kind and stale one-way flows,
// never a connection that completed a handshake, however recent the flood
// packets are (as Linux conntrack's early_drop takes only connections not
// yet ASSURED).
//
// TCP is tracked as a passive observer: handshake, FINs and their ACKs per
// direction, RST; state is reported from the local endpoint's side (see
// rustnet.v1.ConnectionState). Sequence tracking per direction counts
// retransmissions, out-of-order segments and zero windows.
//
// Thread-safety: owned by one worker thread; not shared.
#ifndef RUSTNET_DAEMON_TRACK_FLOW_TABLE_H_
#define RUSTNET_DAEMON_TRACK_FLOW_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "daemon/decode/decoder.h"
#include "daemon/record/local_addresses.h"
#include "daemon/track/connection.h"
#include "daemon/track/connection_chunk.h"
#include "daemon/track/flow_index.h"

namespace rustnet {

enum class RemovalReason : uint8_t { kExpired, kEvicted, kReplaced };
// Lifecycle moments reported through Options::on_event.
enum class TableEvent : uint8_t {
  kOpened,       // After the connection's first packet was applied.
  kClosedFin,    // TCP reached TIME_WAIT or CLOSED through FINs.
  kClosedReset,  // TCP reset.
};

struct FlowTableStats {
  uint64_t created = 0;
  uint64_t expired = 0;
  uint64_t evicted = 0;            // Removed at capacity (see the eviction order above).
  uint64_t evicted_established = 0;  // Of those, not embryonic (nothing embryonic was left).
  uint64_t replaced = 0;           // Closed TCP connection whose ports were reused.
  uint64_t localhost_skipped = 0;  // Packets not tracked under --no-localhost.
  // New connections not tracked: the tables' shared pool was full and this
  // table had no reserve (a capacity below the number of workers).
  uint64_t refused = 0;
  uint64_t chunks_copied = 0;      // Storage chunks copied on write (snapshots held them).
  uint64_t retransmissions = 0;    // TCP retransmissions, all connections ever.
};

class FlowTable {
 public:
  struct Options {
    size_t max_connections = 1'000'000;
    // Tables that share one capacity (a pipeline's workers): each keeps
    // `reserve` connections of its own and takes any more from a pool of
    // `pool` places that `pool_used` counts across the tables (reserves +
    // pool = the capacity). At a full pool a table evicts its own oldest.
    // max_connections is then ignored. Null: this table alone, up to
    // max_connections.
    std::shared_ptr<std::atomic<size_t>> pool_used;
    size_t pool = 0;
    size_t reserve = 0;
    bool no_localhost = false;
    // The machine's own addresses; decide which endpoint is "local". Null: none
    // known (replayed files): the initiator is local.
    std::shared_ptr<const LocalAddresses> local_addresses;
    // Connection ids are id_start, id_start + id_stride, ... so workers
    // hand out distinct ids without sharing a counter.
    uint64_t id_start = 1;
    uint64_t id_stride = 1;
    // Called before a connection is removed (events, statistics).
    std::function<void(const Connection&, RemovalReason)> on_remove;
    // Called when a connection opens and when a TCP connection closes (once
    // per connection; Connection::close_reported tells on_remove whether
    // the close was already reported).
    std::function<void(const Connection&, TableEvent)> on_event;
  };

  explicit FlowTable(Options options);
  // The index refers back to this object's storage: neither copied nor moved.
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Tracks one decoded packet (DecodeResult::kOk). Returns the connection
  // it updated (valid until the next call), or null if it was not tracked.
  Connection* Process(const DecodedPacket& packet) { return Process(packet, packet.key.Hash()); }
  // The same, given key_hash == packet.key.Hash().
  Connection* Process(const DecodedPacket& packet, uint64_t key_hash);
  // Removes connections idle past their class's timeout at `now_us`.
  size_t Expire(int64_t now_us);

  size_t size() const { return index_.size(); }
  const FlowTableStats& stats() const { return stats_; }
  // Null if not tracked.
  const Connection* Find(const FlowKey& key) const;
  Connection* FindMutable(const FlowKey& key) {
    const uint32_t idx = index_.Find(key);
    return idx == kNoIndex ? nullptr : &Mutable(idx);
  }
  // Pointers from Process and FindMutable may be written through until the
  // next call to either, or to ShareChunks.

  // Calls f(const Connection&) for every connection, in storage order
  // (sequential memory, not hash order).
  template <typename F>
  void ForEach(F&& f) const {
    for (uint32_t idx = 0; idx < allocated_; ++idx) {
      const Connection& c = At(idx);
      if (c.in_use) f(c);
    }
  }
  // Appends copies of all connections to `out`.
  void CopyTo(std::vector<Connection>* out) const;
  // Replaces `out` with references to the storage chunks, for a snapshot:
  // no copying now; the table copies a chunk the first time it writes to
  // it while the snapshot still holds it (see connection_chunk.h).
  void ShareChunks(std::vector<ChunkRef>* out) const;
  // Heap bytes of the key index (for tests and memory accounting).
  size_t IndexMemoryBytes() const { return index_.MemoryBytes(); }

 private:
  static constexpr uint32_t kChunkBits = ConnectionChunk::kBits;
  static constexpr uint32_t kChunkSize = ConnectionChunk::kSize;

  const Connection& At(uint32_t idx) const {
    return chunks_[idx >> kChunkBits]->slots[idx & (kChunkSize - 1)];
  }
  // The slot for writing: first copies its chunk if a snapshot shares it.
  // Every write goes through here (a reference from At() may point into a
  // shared chunk).
  Connection& Mutable(uint32_t idx);
  // Idle-list links: beside the chunks, not in them, so moving a
  // connection in its list writes no neighbour's chunk (which a snapshot
  // may share).
  struct Links {
    uint32_t prev = kNoIndex;
    uint32_t next = kNoIndex;
  };
  Links& LinksAt(uint32_t idx) { return links_[idx >> kChunkBits][idx & (kChunkSize - 1)]; }
  uint32_t Allocate();
  void Remove(uint32_t idx, RemovalReason reason);
  void EvictOldest();
  // Room for one more connection (evicting if at capacity); false if the
  // shared capacity is reached and this table has nothing to evict.
  bool MakeRoom();
  void Unlink(uint32_t idx);
  void PushBack(uint32_t idx);

  void Init(Connection& c, const DecodedPacket& p, int dir);
  void Update(Connection& c, const DecodedPacket& p, int dir);
  // idle_us: since the connection's previous packet (for the RTT probe).
  void UpdateTcp(Connection& c, const DecodedPacket& p, int dir, int64_t idle_us);

  // The index's view of the storage: the key at an index.
  struct KeyAt {
    const FlowTable* table;
    const FlowKey& operator()(uint32_t idx) const { return table->At(idx).key; }
  };

  Options options_;
  std::vector<ChunkRef> chunks_;
  std::vector<std::unique_ptr<Links[]>> links_;  // Parallel to chunks_.
  FlowIndex<KeyAt> index_{KeyAt{this}};
  static_assert(FlowIndex<KeyAt>::kNotFound == kNoIndex);
  std::vector<uint32_t> free_;
  uint32_t allocated_ = 0;  // Indices handed out so far (high-water mark).
  // Idle lists: index ListOf(class, embryonic).
  static constexpr int kListCount = 2 * kTimeoutClassCount;
  static int ListOf(TimeoutClass k, bool embryonic) {
    return 2 * static_cast<int>(k) + (embryonic ? 1 : 0);
  }
  uint32_t head_[kListCount];
  uint32_t tail_[kListCount];
  uint64_t next_id_;
  FlowTableStats stats_;
};

// Embryonic: first in line for eviction. Packets seen in one direction only
// (unanswered SYNs, one-way UDP, unanswered ARP and echo requests), or TCP
// whose handshake never completed (a SYN answered by RST or by a SYN-ACK
// that got no ACK). Everything else has shown two live endpoints.
bool IsEmbryonic(const Connection& c);

// The TCP state seen from the local endpoint, derived from what the
// connection has observed. Exposed for tests.
ConnState DeriveTcpState(const Connection& c);
TimeoutClass TimeoutClassFor(uint8_t protocol, ConnState state);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_FLOW_TABLE_H_
