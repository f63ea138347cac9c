#include "daemon/dpi/dns_cache.h"

#include <cstdint>
#include <vector>

#include "absl/hash/hash.h"

namespace rustnet {

DnsCache::DnsCache(size_t capacity) : per_shard_(capacity / kShards + 1) {}

DnsCache::Shard& DnsCache::ShardFor(const IpAddress& a) const {
  return shards_[absl::Hash<IpAddress>{}(a) % kShards];
}

void DnsCache::Learn(const DnsFacts& dns, int64_t now_us) {
  if (dns.query.empty() || dns.addresses.empty()) return;
  auto name = std::make_shared<const std::string>(dns.query);
  for (const IpAddress& a : dns.addresses) Insert(a, name, now_us);
}

void DnsCache::Insert(const IpAddress& address, std::shared_ptr<const std::string> name,
                      int64_t now_us) {
  Shard& s = ShardFor(address);
  absl::MutexLock lock(&s.mu);
  auto [it, inserted] = s.map.try_emplace(address);
  it->second.name = std::move(name);
  // Packet clocks from files can sit near the top of the range.
  it->second.expires_us = now_us > INT64_MAX - kTtlUs ? INT64_MAX : now_us + kTtlUs;
  if (!inserted) return;
  s.order.push_back(address);
  while (s.map.size() > per_shard_ && !s.order.empty()) {
    s.map.erase(s.order.front());
    s.order.pop_front();
    ++s.evicted;
  }
  // Keep the order queue from growing past the live entries (re-inserted
  // addresses leave stale positions behind).
  if (s.order.size() > 2 * per_shard_) {
    std::deque<IpAddress> live;
    for (const IpAddress& a : s.order) {
      if (s.map.contains(a)) live.push_back(a);
    }
    s.order.swap(live);
  }
}

std::shared_ptr<const std::string> DnsCache::Lookup(const IpAddress& address,
                                                    int64_t now_us) const {
  Shard& s = ShardFor(address);
  absl::MutexLock lock(&s.mu);
  auto it = s.map.find(address);
  if (it == s.map.end() || it->second.expires_us < now_us) return nullptr;
  return it->second.name;
}

size_t DnsCache::size() const {
  size_t n = 0;
  for (Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    n += s.map.size();
  }
  return n;
}

uint64_t DnsCache::evicted() const {
  uint64_t n = 0;
  for (Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    n += s.evicted;
  }
  return n;
}

}  // namespace rustnet
