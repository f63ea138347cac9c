// SocketRecordTable: what the socket-tracking BPF programs reported (who
// connected, bound, sent or received on which 4-tuple), joined to captured
// connections by 4-tuple. Pure data, no BPF: bpf_source.cc turns ring
// buffer records into SocketEvents, the attributor asks Find().
//
// Records and packets come in any order: a record may arrive after the
// connection was asked about (the attributor then answers again when it
// comes), ports and cookies are reused (the record nearest in time to the
// question wins), and a record for a socket whose packets are never seen
// expires `ttl_us` after it came. The table is bounded: past max_records
// the oldest go first, counted.
//
// Thread-safety: one thread (the attribution thread).
#ifndef RUSTNET_DAEMON_PROCESS_SOCKET_RECORDS_H_
#define RUSTNET_DAEMON_PROCESS_SOCKET_RECORDS_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/flow_key.h"
#include "daemon/record/process_record.h"

namespace rustnet {

struct SocketEvent {
  enum class Kind : uint8_t { kConnect = 1, kBind = 2, kSend = 3, kRecv = 4, kClose = 5 };
  Kind kind = Kind::kConnect;
  uint8_t protocol = 0;  // kIpProtoTcp / kIpProtoUdp.
  // The socket's end and its peer. An unspecified local address (a socket
  // bound to 0.0.0.0 / ::) is IpAddress{} (all zero) whatever the family.
  IpAddress local;
  IpAddress remote;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint64_t cookie = 0;
  uint64_t netns_cookie = 0;
  uint64_t cgroup_id = 0;
  uint32_t netns_ino = 0;  // 0: unknown.
  uint32_t tgid = 0;       // 0: unknown.
  uint32_t tid = 0;
  uint32_t uid = 0;
  std::array<uint32_t, 4> ppid{};  // Parent, grandparent, ...; 0 past the top.
  std::string comm;
  int64_t time_us = 0;  // CLOCK_MONOTONIC.
};

struct SocketRecordStats {
  uint64_t events = 0;             // Events added (closes included).
  uint64_t records = 0;            // Records held now.
  uint64_t matched = 0;            // Find() answers.
  uint64_t expired_unmatched = 0;  // Expired without ever answering: sockets never seen.
  uint64_t evicted = 0;            // Dropped early: the table was full.
};

class SocketRecordTable {
 public:
  struct Options {
    size_t max_records = 65536;
    int64_t ttl_us = 30'000'000;
    size_t max_per_tuple = 4;  // Records kept for one 4-tuple (port reuse).
    uint32_t own_netns_ino = 0;  // Loopback traffic matches only this namespace's records.
  };
  struct Match {
    std::shared_ptr<const SocketEvent> event;
    // kSocket: the connection's own (connected) socket; kBound: an
    // unconnected UDP socket seen sending to / receiving from the peer, or
    // bound to the local port; kListener: a TCP socket bound to it.
    AttributionMethod method = AttributionMethod::kNone;
    bool exact = false;  // A record of this very 4-tuple (not only the port).
  };

  explicit SocketRecordTable(Options options);

  // Adds a connect/bind/send/recv record. A close is only counted: the
  // record stays until it expires, as its packets may not be read yet.
  void Add(SocketEvent event);
  // Who owns the end `addr:port` of a `protocol` connection with
  // `peer:peer_port`, asked at `at_us` (CLOCK_MONOTONIC): the socket's own
  // record, else one of the same local port with an unspecified local
  // address, else the listener / bound socket on the local port. Of several
  // (reuse), the one nearest in time to at_us. Empty `event` when none.
  // A socket bound to the unspecified address answers only for an address
  // known to be this host's (loopback, or the local address of a record):
  // a remote server's port 443 is not the local listener's on *:443. A
  // listener / bound socket must predate the question (at_us).
  Match Find(uint8_t protocol, const IpAddress& addr, uint16_t port, const IpAddress& peer,
             uint16_t peer_port, int64_t at_us);
  // Drops records older than the ttl.
  void Expire(int64_t now_us);

  SocketRecordStats stats() const;

 private:
  struct Record {
    std::shared_ptr<const SocketEvent> event;
    bool bound = false;    // In bound_, else in exact_.
    bool matched = false;
    bool gone = false;     // Removed from its index already (replaced).
  };
  struct Tuple {
    IpAddress local;
    IpAddress remote;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    uint8_t protocol = 0;
    bool operator==(const Tuple&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Tuple& t) {
      return H::combine(std::move(h), t.local, t.remote, t.local_port, t.remote_port,
                        t.protocol);
    }
  };
  using Bucket = std::vector<std::shared_ptr<Record>>;

  // The record of `bucket` nearest to at_us, for an end at `addr`.
  std::shared_ptr<Record> Nearest(const Bucket& bucket, const IpAddress& addr, bool check_local,
                                  int64_t at_us) const;
  void Remove(const std::shared_ptr<Record>& r);
  void Insert(Bucket& bucket, std::shared_ptr<Record> r);

  Options options_;
  absl::flat_hash_map<Tuple, Bucket> exact_;  // connect / send / recv
  absl::flat_hash_map<Tuple, Bucket> bound_;  // bind: local/remote empty, by port only
  std::deque<std::shared_ptr<Record>> order_;  // Oldest first.
  absl::flat_hash_set<IpAddress> local_addresses_;  // Bounded (kMaxLocalAddresses).
  size_t live_ = 0;
  SocketRecordStats stats_;
};

// The cgroup v2 mount point in a /proc/self/mountinfo text ("" if none);
// on a hybrid layout, e.g. /sys/fs/cgroup/unified. (The BPF source attaches
// its socket hooks there: the root covers every process.)
std::string CgroupV2Mount(std::string_view mountinfo);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_SOCKET_RECORDS_H_
