// Reverse DNS (PTR) for remote addresses that no passive source named
// (SNI, HTTP Host, a captured DNS answer), with Debian's c-ares on a thread
// of its own. Off by default (--resolve-dns): each lookup tells the
// resolver, and whoever sees its traffic, which addresses this host talks
// to, and it makes traffic on a box whose job is to watch traffic.
//
// Lookup() never waits: it answers from the cache and, on a miss, queues
// the address (once: an address queued or in flight is not asked again;
// the queue is bounded, overflow dropped and counted). The resolver thread
// sends queued queries at most `rate_per_second` (a token bucket), at most
// `max_in_flight` at a time, and caches answers for their TTL (clamped to
// [min_ttl, max_ttl]); NXDOMAIN/NODATA and failures are cached too
// (negative_ttl, failure_ttl), so a resolver that never answers costs one
// query per address per failure_ttl and bounded memory. Names are checked
// as hostile input (length, characters).
//
// The resolver's own sockets: each (server address, server port, local
// port) its queries used is remembered (the last kOwnSocketsKept, also after
// the socket closed, as the connection stays in the table until it times
// out), so the API can mark or hide the lookups' own connections
// (--show-ptr-lookups). Another process that later reuses a remembered
// local port towards the same server would be marked too.
//
// Thread-safety: Lookup, IsOwnSocket and stats from any thread; the resolver thread is
// the object's own (joined by the destructor).
#ifndef RUSTNET_DAEMON_ENRICH_REVERSE_DNS_H_
#define RUSTNET_DAEMON_ENRICH_REVERSE_DNS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/flow_key.h"

namespace rustnet {

// A token bucket: `rate` per second, bursts up to `burst`.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // Takes one token if there is one at `now` (monotonic clock).
  bool Take(absl::Time now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

// "142.69.2.81.in-addr.arpa", "1.0...ip6.arpa" (RFC 1035 §3.5, RFC 3596 §2.5).
std::string PtrQueryName(const IpAddress& address);

// The first PTR record's name and TTL in a DNS answer (bounds-checked);
// false if there is none or the message is malformed. Exposed for tests.
bool ParsePtrAnswer(const uint8_t* message, size_t size, std::string* name, uint32_t* ttl);

// True if `name` may be shown as a host name: 1..253 bytes of letters,
// digits, '-', '_' and '.', no empty label, labels up to 63.
bool IsPlausibleHostName(std::string_view name);

struct ReverseDnsOptions {
  double rate_per_second = 20;     // --resolve-dns-rate
  size_t cache_entries = 65'536;
  size_t queue_capacity = 4'096;
  size_t max_in_flight = 64;
  // "ADDR[:PORT],..." (c-ares' CSV); empty: /etc/resolv.conf.
  std::string servers;
  absl::Duration min_ttl = absl::Seconds(60);
  absl::Duration max_ttl = absl::Hours(24);
  absl::Duration negative_ttl = absl::Minutes(10);
  absl::Duration failure_ttl = absl::Minutes(2);
  int timeout_ms = 3000;
  int tries = 2;
};

class ReverseDns {
 public:
  struct Stats {
    uint64_t queries = 0;     // Sent.
    uint64_t answered = 0;    // With a name.
    uint64_t not_found = 0;   // NXDOMAIN, no PTR, or a name refused as implausible.
    uint64_t failed = 0;      // Timeouts, refusals, server failures.
    uint64_t dropped = 0;     // Not queued: the queue was full.
    uint64_t hits = 0;        // Lookups answered from the cache (names and negatives).
    size_t cache_entries = 0;
    size_t queued = 0;
    size_t in_flight = 0;
  };

  // InvalidArgument for bad servers; Internal if c-ares cannot start.
  static absl::StatusOr<std::unique_ptr<ReverseDns>> Start(ReverseDnsOptions options);
  ~ReverseDns();
  ReverseDns(const ReverseDns&) = delete;
  ReverseDns& operator=(const ReverseDns&) = delete;

  // The cached name of `address`; empty when none is known (yet): then the
  // address is queued unless it already is, is in flight, or was answered
  // and has not expired.
  std::string Lookup(const IpAddress& address);
  Stats stats() const;

  // True if a query of this resolver used a socket from `local_port` to
  // `server`:`server_port`.
  bool IsOwnSocket(const IpAddress& server, uint16_t server_port, uint16_t local_port) const;

  static constexpr size_t kOwnSocketsKept = 1'024;

 private:
  using SocketKey = std::tuple<IpAddress, uint16_t, uint16_t>;  // Server, its port, local port.
  struct Entry {
    std::string name;  // Empty: negative.
    absl::Time expires;
  };
  struct Channel;
  struct Request;
  using CacheList = std::list<std::pair<IpAddress, Entry>>;

  explicit ReverseDns(ReverseDnsOptions options);
  void Run();
  void Answer(const IpAddress& address, int status, const uint8_t* message, size_t size);
  void Store(const IpAddress& address, Entry entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Remembers the endpoints of a socket c-ares uses (connected: it has both).
  void RecordSocket(int fd);

  const ReverseDnsOptions options_;
  std::unique_ptr<Channel> channel_;  // The resolver thread's only.
  TokenBucket bucket_;                // The resolver thread's only.

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<IpAddress> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<IpAddress> pending_ ABSL_GUARDED_BY(mu_);  // Queued or in flight.
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  CacheList lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<IpAddress, CacheList::iterator> index_ ABSL_GUARDED_BY(mu_);
  Stats counters_ ABSL_GUARDED_BY(mu_);
  // A bit per server port (mod 1024) ever remembered: IsOwnSocket answers
  // most connections (other remote ports) without the lock.
  std::array<std::atomic<uint64_t>, 16> server_port_bits_{};
  mutable absl::Mutex sockets_mu_;
  std::deque<SocketKey> socket_order_ ABSL_GUARDED_BY(sockets_mu_);  // Oldest first.
  absl::flat_hash_set<SocketKey> sockets_ ABSL_GUARDED_BY(sockets_mu_);
  std::thread thread_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_ENRICH_REVERSE_DNS_H_
