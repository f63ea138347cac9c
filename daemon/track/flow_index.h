// FlowIndex: the flow table's lookup from a FlowKey to the 32-bit storage
// index of its connection, holding nothing but the indices.
//
// The key lives once, in the connection. The index is an
// absl::flat_hash_set<uint32_t> whose hash and equality functors resolve an
// index to its key through `KeyOf`: one control byte per slot keeps 7 bits
// of the key's hash, so a lookup compares full keys only for the few
// candidates whose bits match, and growth rehashes by reading each key from
// its connection. About 5 bytes a slot at most 7/8 full: 10.5 bytes per
// entry at 1,000,000 entries (2^21 slots), where a map holding the 40-byte
// key beside the index needed 94 — and while it grows, the old array is a
// third of the new one's size.
//
// No space is reserved up front: the table only ever holds what it has
// seen, so a small table costs little whatever --max-connections says.
//
// Contract with the owner: an index's key must not change while the index
// is in the set (insert after the key is written, erase before it is
// cleared), and no two indices in the set have equal keys.
//
// Thread-safety: as its owner (one worker thread).
#ifndef RUSTNET_DAEMON_TRACK_FLOW_INDEX_H_
#define RUSTNET_DAEMON_TRACK_FLOW_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "common/flow_key.h"

namespace rustnet {

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const { return k.Hash(); }
};

// FlowKey equality by five 64-bit words (the key has no padding and its
// `reserved` is always 0): every lookup compares a candidate's key, and
// the defaulted operator== compares the addresses with memcmp calls.
inline bool SameFlowKey(const FlowKey& x, const FlowKey& y) {
  static_assert(sizeof(FlowKey) == 5 * sizeof(uint64_t));
  uint64_t a[5], b[5];
  std::memcpy(a, &x, sizeof a);
  std::memcpy(b, &y, sizeof b);
  return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

// KeyOf: `const FlowKey& operator()(uint32_t index) const`, the key stored
// at an index. Hash: `size_t operator()(const FlowKey&) const` (tests pass
// degenerate ones to force collisions).
template <typename KeyOf, typename Hash = FlowKeyHash>
class FlowIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  explicit FlowIndex(KeyOf key_of, Hash hash = Hash())
      : set_(0, Hasher{key_of, hash}, Equal{key_of}) {}

  // The index whose key is `key`, or kNotFound.
  uint32_t Find(const FlowKey& key) const {
    auto it = set_.find(key);
    return it == set_.end() ? kNotFound : *it;
  }
  // The same, given `hash` == Hash()(key), computed earlier (the pipeline
  // hashes every key once, to pick its worker).
  uint32_t Find(const FlowKey& key, size_t hash) const {
    auto it = set_.find(key, hash);
    return it == set_.end() ? kNotFound : *it;
  }
  // Adds `index`, whose key must already be in place and not yet indexed.
  void Insert(uint32_t index) { set_.insert(index); }
  // Removes `index` (its key must still be in place). False if absent.
  bool Erase(uint32_t index) { return set_.erase(index) > 0; }

  size_t size() const { return set_.size(); }
  bool empty() const { return set_.empty(); }
  // Slots allocated (for tests and memory accounting).
  size_t capacity() const { return set_.capacity(); }
  // Heap bytes held: a control byte and a 4-byte slot per slot.
  size_t MemoryBytes() const { return set_.capacity() * (1 + sizeof(uint32_t)); }

 private:
  struct Hasher {
    using is_transparent = void;
    KeyOf key_of;
    Hash hash;
    size_t operator()(uint32_t index) const { return hash(key_of(index)); }
    size_t operator()(const FlowKey& key) const { return hash(key); }
  };
  struct Equal {
    using is_transparent = void;
    KeyOf key_of;
    // Indices are unique and so are keys: equal indices, equal keys.
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t index, const FlowKey& key) const {
      return SameFlowKey(key_of(index), key);
    }
    bool operator()(const FlowKey& key, uint32_t index) const {
      return SameFlowKey(key_of(index), key);
    }
  };

  absl::flat_hash_set<uint32_t, Hasher, Equal> set_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_FLOW_INDEX_H_
