#include "daemon/enrich/reverse_dns.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "daemon/enrich/special_ranges.h"

namespace rustnet {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr size_t kMaxHostName = 253;
constexpr int kDnsTypePtr = 12;
constexpr int kDnsClassIn = 1;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Skips a (possibly compressed) name at `*offset`; false past the end.
bool SkipName(const uint8_t* m, size_t size, size_t* offset) {
  char* name = nullptr;
  long length = 0;  // NOLINT(runtime/int): c-ares' type.
  if (*offset >= size ||
      ares_expand_name(m + *offset, m, static_cast<int>(size), &name, &length) != ARES_SUCCESS) {
    return false;
  }
  ares_free_string(name);
  *offset += static_cast<size_t>(length);
  return *offset <= size;
}

// Addresses not worth asking about: they have no public PTR, or asking
// would leak nothing useful and cost a query each.
bool Skipped(const IpAddress& a) {
  const std::string_view special = SpecialRangeName(a);
  return special == "loopback" || special == "multicast" || special == "broadcast" ||
         special == "unspecified" || special == "this-network" || special == "reserved";
}

}  // namespace

bool TokenBucket::Take(absl::Time now) {
  if (last_ != absl::InfinitePast() && now > last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
  }
  if (last_ == absl::InfinitePast() || now > last_) last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

std::string PtrQueryName(const IpAddress& a) {
  std::string out;
  if (a.IsV4()) {
    for (int i = 15; i >= 12; --i) absl::StrAppend(&out, a.bytes[static_cast<size_t>(i)], ".");
    out += "in-addr.arpa";
    return out;
  }
  for (int i = 15; i >= 0; --i) {
    const uint8_t b = a.bytes[static_cast<size_t>(i)];
    out += kHex[b & 0xf];
    out += '.';
    out += kHex[b >> 4];
    out += '.';
  }
  out += "ip6.arpa";
  return out;
}

bool IsPlausibleHostName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxHostName) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

bool ParsePtrAnswer(const uint8_t* m, size_t size, std::string* name, uint32_t* ttl) {
  if (size < 12) return false;
  const uint16_t questions = Be16(m + 4);
  const uint16_t answers = Be16(m + 6);
  size_t offset = 12;
  for (uint16_t q = 0; q < questions; ++q) {
    if (!SkipName(m, size, &offset) || offset + 4 > size) return false;
    offset += 4;
  }
  for (uint16_t a = 0; a < answers; ++a) {
    if (!SkipName(m, size, &offset) || offset + 10 > size) return false;
    const uint16_t type = Be16(m + offset);
    const uint16_t klass = Be16(m + offset + 2);
    const uint32_t record_ttl = Be32(m + offset + 4);
    const uint16_t rdlength = Be16(m + offset + 8);
    offset += 10;
    if (offset + rdlength > size) return false;
    if (type == kDnsTypePtr && klass == kDnsClassIn) {
      char* target = nullptr;
      long length = 0;  // NOLINT(runtime/int)
      if (ares_expand_name(m + offset, m, static_cast<int>(size), &target, &length) !=
          ARES_SUCCESS) {
        return false;
      }
      *name = target;
      ares_free_string(target);
      *ttl = record_ttl;
      return true;
    }
    offset += rdlength;  // A CNAME (RFC 2317 delegation) or another record.
  }
  return false;
}

struct ReverseDns::Channel {
  ares_channel channel = nullptr;
  ~Channel() {
    if (channel != nullptr) ares_destroy(channel);
  }
};

struct ReverseDns::Request {
  ReverseDns* owner;
  IpAddress address;
};

ReverseDns::ReverseDns(ReverseDnsOptions options)
    : options_(std::move(options)),
      bucket_(options_.rate_per_second, std::max(1.0, options_.rate_per_second)) {}

absl::StatusOr<std::unique_ptr<ReverseDns>> ReverseDns::Start(ReverseDnsOptions options) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(library)));
  }
  std::unique_ptr<ReverseDns> r(new ReverseDns(std::move(options)));
  r->channel_ = std::make_unique<Channel>();
  ares_options o{};
  o.flags = ARES_FLAG_NOSEARCH;
  o.timeout = r->options_.timeout_ms;
  o.tries = r->options_.tries;
  const int rc = ares_init_options(&r->channel_->channel, &o,
                                   ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares cannot start: ", ares_strerror(rc)));
  }
  if (!r->options_.servers.empty()) {
    const int s = ares_set_servers_ports_csv(r->channel_->channel, r->options_.servers.c_str());
    if (s != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("--resolve-dns-server \"", r->options_.servers,
                       "\" is not a list of ADDRESS[:PORT] (", ares_strerror(s), ")"));
    }
  }
  r->thread_ = std::thread([p = r.get()] { p->Run(); });
  return r;
}

ReverseDns::~ReverseDns() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  channel_.reset();  // Outstanding queries' callbacks run (ARES_EDESTRUCTION) while mu_ lives.
}

std::string ReverseDns::Lookup(const IpAddress& address) {
  if (Skipped(address)) return {};
  absl::MutexLock lock(&mu_);
  auto it = index_.find(address);
  const absl::Time now = absl::Now();
  if (it != index_.end()) {
    if (it->second->second.expires > now) {
      ++counters_.hits;
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second.name;
    }
  }
  if (pending_.contains(address)) return {};
  if (queue_.size() >= options_.queue_capacity) {
    ++counters_.dropped;
    return it != index_.end() ? it->second->second.name : std::string();  // Stale, kept.
  }
  queue_.push_back(address);
  pending_.insert(address);
  // An expired name is still shown until the new answer comes.
  return it != index_.end() ? it->second->second.name : std::string();
}

void ReverseDns::Store(const IpAddress& address, Entry entry) {
  auto it = index_.find(address);
  if (it != index_.end()) {
    it->second->second = std::move(entry);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(address, std::move(entry));
  index_.emplace(address, lru_.begin());
  while (lru_.size() > options_.cache_entries) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void ReverseDns::Answer(const IpAddress& address, int status, const uint8_t* message,
                        size_t size) {
  std::string name;
  uint32_t ttl = 0;
  Entry entry;
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  pending_.erase(address);
  if (in_flight_ > 0) --in_flight_;
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  if (status == ARES_SUCCESS && ParsePtrAnswer(message, size, &name, &ttl) &&
      IsPlausibleHostName(name)) {
    if (name.back() == '.') name.pop_back();
    ++counters_.answered;
    const absl::Duration d =
        std::clamp(absl::Seconds(ttl), options_.min_ttl, options_.max_ttl);
    entry = Entry{std::move(name), now + d};
  } else if (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA) {
    ++counters_.not_found;
    entry = Entry{std::string(), now + options_.negative_ttl};
  } else {
    ++counters_.failed;
    entry = Entry{std::string(), now + options_.failure_ttl};
  }
  Store(address, std::move(entry));
}

void ReverseDns::Run() {
  ares_channel channel = channel_->channel;
  std::vector<IpAddress> batch;
  for (;;) {
    batch.clear();
    bool idle = false;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) break;
      while (!queue_.empty() && in_flight_ < options_.max_in_flight && bucket_.Take(absl::Now())) {
        batch.push_back(queue_.front());
        queue_.pop_front();
        ++in_flight_;
        ++counters_.queries;
      }
      idle = in_flight_ == 0 && batch.empty();
      if (idle) {
        // Nothing to do: sleep until something is queued (or stop).
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](ReverseDns* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
                                   return r->stop_ || !r->queue_.empty();
                                 },
                                 this),
                             absl::Milliseconds(200));
        continue;
      }
    }
    for (const IpAddress& a : batch) {
      const std::string qname = PtrQueryName(a);
      ares_query(
          channel, qname.c_str(), ns_c_in, ns_t_ptr,
          [](void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
            std::unique_ptr<Request> req(static_cast<Request*>(arg));
            req->owner->Answer(req->address, status, abuf,
                               abuf == nullptr || alen < 0 ? 0 : static_cast<size_t>(alen));
          },
          new Request{this, a});
    }
    // Wait for replies (at most 50 ms: queued work and stop are checked
    // between waits).
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int mask = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;  // NOLINT(runtime/int): pollfd's type.
      if (ARES_GETSOCK_READABLE(mask, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(mask, i)) events |= POLLOUT;
      if (events == 0) continue;
      RecordSocket(socks[i]);
      fds[n++] = pollfd{socks[i], events, 0};
    }
    timeval max_wait{0, 50'000};
    timeval tv{};
    const timeval* wait = ares_timeout(channel, &max_wait, &tv);
    const int ms = static_cast<int>(wait->tv_sec * 1000 + wait->tv_usec / 1000);
    const int ready = poll(fds, n, std::max(ms, 1));
    if (ready <= 0) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // Timeouts.
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      const ares_socket_t r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd
                                                                              : ARES_SOCKET_BAD;
      const ares_socket_t w = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
      if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD) ares_process_fd(channel, r, w);
    }
  }
}

namespace {

// The address and port of a sockaddr; false for another family.
bool EndpointOf(const sockaddr_storage& s, IpAddress* address, uint16_t* port) {
  if (s.ss_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, &s, sizeof(in));
    *address = IpAddress::FromV4(reinterpret_cast<const uint8_t*>(&in.sin_addr));
    *port = ntohs(in.sin_port);
    return true;
  }
  if (s.ss_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, &s, sizeof(in6));
    *address = IpAddress::FromV6(in6.sin6_addr.s6_addr);
    *port = ntohs(in6.sin6_port);
    return true;
  }
  return false;
}

}  // namespace

void ReverseDns::RecordSocket(int fd) {
  sockaddr_storage local{};
  sockaddr_storage peer{};
  socklen_t local_size = sizeof(local);
  socklen_t peer_size = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0 ||
      getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) {
    return;  // Not connected (yet): recorded on a later round.
  }
  IpAddress local_address;
  IpAddress server;
  uint16_t local_port = 0;
  uint16_t server_port = 0;
  if (!EndpointOf(local, &local_address, &local_port) ||
      !EndpointOf(peer, &server, &server_port)) {
    return;
  }
  SocketKey key{server, server_port, local_port};
  const unsigned bit = server_port % 1024u;
  server_port_bits_[bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
  absl::MutexLock lock(&sockets_mu_);
  if (!sockets_.insert(key).second) return;
  socket_order_.push_back(key);
  while (socket_order_.size() > kOwnSocketsKept) {
    sockets_.erase(socket_order_.front());
    socket_order_.pop_front();
  }
}

bool ReverseDns::IsOwnSocket(const IpAddress& server, uint16_t server_port,
                             uint16_t local_port) const {
  const unsigned bit = server_port % 1024u;
  if ((server_port_bits_[bit / 64].load(std::memory_order_relaxed) &
       (uint64_t{1} << (bit % 64))) == 0) {
    return false;  // No query went to this port.
  }
  absl::MutexLock lock(&sockets_mu_);
  return sockets_.contains(SocketKey{server, server_port, local_port});
}

ReverseDns::Stats ReverseDns::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = counters_;
  s.cache_entries = lru_.size();
  s.queued = queue_.size();
  s.in_flight = in_flight_;
  return s;
}

}  // namespace rustnet
