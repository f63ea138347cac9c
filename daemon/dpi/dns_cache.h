// DnsCache: passive DNS. Addresses seen in DNS answers map to the name that
// was asked for, so a later connection to 93.184.215.14 can be shown as
// example.com ("dns-cache" as the hostname's source).
//
// Bounded: at most `capacity` addresses (oldest-inserted evicted first per
// shard) and names expire after kTtlUs of packet time. Names are shared
// strings: every connection and entry naming the same host holds one copy
// per insertion batch, never one per connection.
//
// Fed with the binary addresses of finished DNS exchanges (Learn), looked
// up by the pipeline when a connection starts.
//
// Thread-safety: Learn, Insert and Lookup from any thread; 16 shards, each with its
// own mutex held for a hash-map operation.
#ifndef RUSTNET_DAEMON_DPI_DNS_CACHE_H_
#define RUSTNET_DAEMON_DPI_DNS_CACHE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/flow_key.h"
#include "daemon/record/app_record.h"

namespace rustnet {

class DnsCache {
 public:
  static constexpr int64_t kTtlUs = 3600LL * 1'000'000;  // One hour.
  explicit DnsCache(size_t capacity = 262'144);

  // Maps every address `dns` answered to its query name (one shared string
  // for all of them). Nothing if the query or the addresses are missing.
  void Learn(const DnsFacts& dns, int64_t now_us);
  void Insert(const IpAddress& address, std::shared_ptr<const std::string> name, int64_t now_us);
  // Null if unknown or expired.
  std::shared_ptr<const std::string> Lookup(const IpAddress& address, int64_t now_us) const;

  size_t size() const;
  // At most this many entries (the constructor's capacity, rounded up to a
  // multiple of the shard count).
  size_t capacity() const { return per_shard_ * kShards; }
  uint64_t evicted() const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    std::shared_ptr<const std::string> name;
    int64_t expires_us = 0;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<IpAddress, Entry> map ABSL_GUARDED_BY(mu);
    std::deque<IpAddress> order ABSL_GUARDED_BY(mu);  // Insertion order, for eviction.
    uint64_t evicted ABSL_GUARDED_BY(mu) = 0;
  };
  Shard& ShardFor(const IpAddress& a) const;

  const size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_DNS_CACHE_H_
