// The host's socket table: which sockets exist, their endpoints, owner uid
// and inode. Read from netlink sock_diag (INET_DIAG dumps for TCP and UDP,
// IPv4 and IPv6), or from /proc/net/{tcp,udp}{,6} where netlink is not
// available. Parsers take bytes / text so they are tested on canned input.
//
// Addresses use the FlowKey representation (IPv4 as ::ffff:a.b.c.d), so a
// dual-stack IPv6 socket's v4-mapped endpoints equal IPv4 flow addresses.
//
// Thread-safety: SocketTableReader is used by one thread (the attribution
// thread); the free functions are pure.
#ifndef RUSTNET_DAEMON_PROCESS_SOCKET_TABLE_H_
#define RUSTNET_DAEMON_PROCESS_SOCKET_TABLE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/flow_key.h"

namespace rustnet {

// Linux TCP states as sock_diag and /proc/net/tcp report them.
inline constexpr uint8_t kTcpStateEstablished = 1;
inline constexpr uint8_t kTcpStateTimeWait = 6;
inline constexpr uint8_t kTcpStateClose = 7;
inline constexpr uint8_t kTcpStateListen = 10;
inline constexpr uint8_t kTcpStateNewSynRecv = 12;

struct SocketEntry {
  IpAddress local;
  IpAddress remote;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint8_t protocol = 0;  // kIpProtoTcp / kIpProtoUdp
  uint8_t state = 0;
  uint32_t uid = 0;
  uint64_t inode = 0;    // 0: no file (TIME_WAIT, request sockets, orphans).
};

// Parses one recv() worth of a sock_diag dump reply (a run of netlink
// messages) into `out`. Returns true when the dump's NLMSG_DONE was seen;
// a NLMSG_ERROR or a message that does not fit is an error. Every length is
// checked against the buffer: a lying nlmsg_len ends the parse with an error.
absl::StatusOr<bool> ParseSockDiagReply(std::span<const uint8_t> buf, uint8_t protocol,
                                        std::vector<SocketEntry>* out);

// Parses the text of /proc/net/{tcp,udp}{,6}.
absl::Status ParseProcNet(std::string_view text, uint8_t protocol, bool ipv6,
                          std::vector<SocketEntry>* out);

enum class SocketSource : uint8_t { kNetlink, kProcfs };

class SocketTableReader {
 public:
  // `proc_root` is used for the /proc/net fallback ("/proc").
  explicit SocketTableReader(std::string proc_root = "/proc", bool force_procfs = false);
  ~SocketTableReader();
  SocketTableReader(const SocketTableReader&) = delete;
  SocketTableReader& operator=(const SocketTableReader&) = delete;

  // Every TCP (except TIME_WAIT and request sockets: they have no owner)
  // and UDP socket of the daemon's network namespace, IPv4 and IPv6.
  absl::Status Read(bool tcp, bool udp, std::vector<SocketEntry>* out);
  SocketSource source() const { return source_; }

  // The one socket the kernel would deliver a packet from remote:rport to
  // local:lport to (a sock_diag request for one 4-tuple, no dump): TCP, the
  // connected socket or else the listener; UDP, the connected socket or
  // else the bound one. Appends it to `out` if it has an owner; finding
  // none is not an error. A zero remote asks for the listener / bound
  // socket alone. Netlink only (FailedPrecondition on the /proc fallback).
  // Costs one round trip to the kernel, however many sockets there are.
  absl::Status Lookup(uint8_t protocol, const IpAddress& local, uint16_t lport,
                      const IpAddress& remote, uint16_t rport, std::vector<SocketEntry>* out);

 private:
  absl::Status DumpNetlink(uint8_t family, uint8_t protocol, std::vector<SocketEntry>* out);
  // One request to the kernel; one recv() of its reply (into buf_).
  absl::Status Send(const void* request, size_t size);
  absl::StatusOr<std::span<const uint8_t>> Receive();
  absl::Status ReadProcfs(uint8_t protocol, bool ipv6, std::vector<SocketEntry>* out);

  std::string proc_root_;
  SocketSource source_ = SocketSource::kNetlink;
  int fd_ = -1;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
};

// The socket table indexed for the lookups attribution makes.
class SocketIndex {
 public:
  void Build(std::vector<SocketEntry> entries);

  // The socket whose local end is (addr, port) and remote end (raddr,
  // rport), if any.
  const SocketEntry* Exact(uint8_t protocol, const IpAddress& addr, uint16_t port,
                           const IpAddress& raddr, uint16_t rport) const;
  // A listening TCP socket / an unconnected UDP socket accepting for
  // (addr, port): bound to that address or to a wildcard (0.0.0.0, ::).
  const SocketEntry* Bound(uint8_t protocol, const IpAddress& addr, uint16_t port) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Key {
    IpAddress local, remote;
    uint16_t local_port, remote_port;
    uint8_t protocol;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.local, k.remote, k.local_port, k.remote_port,
                        k.protocol);
    }
  };
  std::vector<SocketEntry> entries_;
  absl::flat_hash_map<Key, uint32_t> exact_;  // Connected sockets.
  absl::flat_hash_map<Key, uint32_t> bound_;  // Listening / unconnected (remote zero).
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_PROCESS_SOCKET_TABLE_H_
