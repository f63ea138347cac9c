#include "daemon/process/socket_records.h"

#include <algorithm>
#include <limits>


namespace rustnet {
namespace {
constexpr size_t kMaxLocalAddresses = 4096;
}  // namespace

SocketRecordTable::SocketRecordTable(Options options) : options_(std::move(options)) {}

void SocketRecordTable::Insert(Bucket& bucket, std::shared_ptr<Record> r) {
  if (bucket.size() >= options_.max_per_tuple) {
    // Oldest of this tuple out: a port reused this often has moved on.
    bucket.front()->gone = true;
    --live_;
    bucket.erase(bucket.begin());
  }
  bucket.push_back(r);
  order_.push_back(std::move(r));
  ++live_;
}

void SocketRecordTable::Add(SocketEvent event) {
  ++stats_.events;
  if (event.kind == SocketEvent::Kind::kClose) return;
  if (event.protocol != kIpProtoTcp && event.protocol != kIpProtoUdp) return;
  if (event.local_port == 0) return;
  // order_ also holds records replaced by a newer one of their tuple: it is
  // kept within twice the limit too.
  while ((live_ >= options_.max_records || order_.size() >= 2 * options_.max_records) &&
         !order_.empty()) {
    std::shared_ptr<Record> old = order_.front();
    order_.pop_front();
    if (old->gone) continue;
    Remove(old);
    ++stats_.evicted;
  }
  const bool bound = event.kind == SocketEvent::Kind::kBind;
  Tuple t;
  t.protocol = event.protocol;
  t.local_port = event.local_port;
  if (!bound) {
    if (event.remote_port == 0) return;  // Not yet connected: nothing to join.
    t.local = event.local;
    t.remote = event.remote;
    t.remote_port = event.remote_port;
  }
  if (event.local != IpAddress{} && local_addresses_.size() < kMaxLocalAddresses) {
    local_addresses_.insert(event.local);
  }
  Record record;
  record.event = std::make_shared<const SocketEvent>(std::move(event));
  record.bound = bound;
  Insert(bound ? bound_[t] : exact_[t], std::make_shared<Record>(std::move(record)));
}

std::shared_ptr<SocketRecordTable::Record> SocketRecordTable::Nearest(const Bucket& bucket,
                                                                      const IpAddress& addr,
                                                                      bool check_local,
                                                                      int64_t at_us) const {
  std::shared_ptr<Record> best;
  int64_t best_gap = std::numeric_limits<int64_t>::max();
  for (const auto& r : bucket) {
    const SocketEvent& e = *r->event;
    if (check_local && e.local != addr &&
        !(e.local == IpAddress{} && (addr.IsLoopback() || local_addresses_.contains(addr)))) {
      continue;
    }
    // Loopback packets never cross namespaces: another namespace's record
    // for the same 127.0.0.1 tuple is not this connection's.
    if (addr.IsLoopback() && options_.own_netns_ino != 0 && e.netns_ino != 0 &&
        e.netns_ino != options_.own_netns_ino) {
      continue;
    }
    // A socket bound after the question was not the one the packet reached
    // (a connection refused before its server started listening).
    if (check_local && e.time_us > at_us) continue;
    const int64_t gap = e.time_us > at_us ? e.time_us - at_us : at_us - e.time_us;
    if (gap <= best_gap) {  // Ties: the later record (the bucket is oldest first).
      best_gap = gap;
      best = r;
    }
  }
  return best;
}

SocketRecordTable::Match SocketRecordTable::Find(uint8_t protocol, const IpAddress& addr,
                                                 uint16_t port, const IpAddress& peer,
                                                 uint16_t peer_port, int64_t at_us) {
  Match m;
  Tuple t;
  t.protocol = protocol;
  t.local = addr;
  t.local_port = port;
  t.remote = peer;
  t.remote_port = peer_port;
  std::shared_ptr<Record> r;
  if (auto it = exact_.find(t); it != exact_.end()) r = Nearest(it->second, addr, false, at_us);
  if (!r) {
    t.local = IpAddress{};
    if (auto it = exact_.find(t); it != exact_.end()) r = Nearest(it->second, addr, false, at_us);
  }
  if (r) {
    m.exact = true;
    m.method = r->event->kind == SocketEvent::Kind::kConnect ? AttributionMethod::kSocket
                                                              : AttributionMethod::kBound;
  } else {
    Tuple b;
    b.protocol = protocol;
    b.local_port = port;
    if (auto it = bound_.find(b); it != bound_.end()) r = Nearest(it->second, addr, true, at_us);
    if (r) m.method = protocol == kIpProtoTcp ? AttributionMethod::kListener
                                              : AttributionMethod::kBound;
  }
  if (!r) return m;
  if (!r->matched) {
    r->matched = true;
    ++stats_.matched;
  }
  m.event = r->event;
  return m;
}

void SocketRecordTable::Remove(const std::shared_ptr<Record>& r) {
  const SocketEvent& e = *r->event;
  Tuple t;
  t.protocol = e.protocol;
  t.local_port = e.local_port;
  if (!r->bound) {
    t.local = e.local;
    t.remote = e.remote;
    t.remote_port = e.remote_port;
  }
  auto& index = r->bound ? bound_ : exact_;
  auto it = index.find(t);
  if (it != index.end()) {
    Bucket& b = it->second;
    b.erase(std::remove(b.begin(), b.end(), r), b.end());
    if (b.empty()) index.erase(it);
  }
  r->gone = true;
  --live_;
}

void SocketRecordTable::Expire(int64_t now_us) {
  while (!order_.empty()) {
    const std::shared_ptr<Record>& front = order_.front();
    if (!front->gone) {
      if (now_us - front->event->time_us < options_.ttl_us) break;
      if (!front->matched) ++stats_.expired_unmatched;
      Remove(front);
    }
    order_.pop_front();
  }
}

namespace {
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}
}  // namespace

std::string CgroupV2Mount(std::string_view mountinfo) {
  // "36 25 0:31 / /sys/fs/cgroup/unified rw,... - cgroup2 cgroup2 rw"
  while (!mountinfo.empty()) {
    const size_t nl = mountinfo.find('\n');
    const std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view() : mountinfo.substr(nl + 1);
    const size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    const std::vector<std::string_view> tail = Fields(line.substr(dash + 3));
    if (tail.empty() || tail[0] != "cgroup2") continue;
    const std::vector<std::string_view> head = Fields(line.substr(0, dash));
    if (head.size() < 5 || head[3] != "/") continue;  // Only a mount of the hierarchy's root.
    return std::string(head[4]);
  }
  return "";
}

SocketRecordStats SocketRecordTable::stats() const {
  SocketRecordStats s = stats_;
  s.records = live_;
  return s;
}

}  // namespace rustnet
