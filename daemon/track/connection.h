// Connection: what a worker keeps per tracked conversation.
//
// Kept compact (see the memory benchmark and the byte budget below the
// struct): fixed-size, the only heap members are shared pointers to
// immutable records, and what only one protocol needs shares a union, so
// a FlowTable holds connections in flat chunks and a snapshot is a cheap
// copy.
// Direction index 0 is A->B of the canonical key, 1 is B->A.
//
// What later stages find (DPI's AppRecord, the process stage's
// Attribution, the passive DNS name) is carried here as shared immutable
// records from daemon/record/; those stages keep their working state
// to themselves (the DPI engine indexes its own by Connection::id).
//
// Thread-safety: owned by one worker; snapshots are copies.
#ifndef RUSTNET_DAEMON_TRACK_CONNECTION_H_
#define RUSTNET_DAEMON_TRACK_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "common/flow_key.h"
#include "daemon/record/app_record.h"
#include "daemon/record/process_record.h"
#include "daemon/track/rate.h"
#include "daemon/track/tcp_rtt.h"

namespace rustnet {

// Mirrors rustnet.v1.ConnectionState (same numbers).
enum class ConnState : uint8_t {
  kUnspecified = 0,
  kSynSent = 1,
  kSynReceived = 2,
  kEstablished = 3,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kCloseWait = 6,
  kClosing = 7,
  kLastAck = 8,
  kTimeWait = 9,
  kClosed = 10,
  kUnreplied = 11,
  kActive = 12,
};

// Idle timeouts, one per class of state. A connection is removed once it
// has seen no packet for its class's timeout. Documented in README.md.
enum class TimeoutClass : uint8_t {
  kTcpHandshake,    // SYN_SENT, SYN_RECEIVED
  kTcpEstablished,  // ESTABLISHED
  kTcpClosing,      // FIN_WAIT_1/2, CLOSE_WAIT, CLOSING, LAST_ACK
  kTcpClosed,       // TIME_WAIT, CLOSED: kept briefly so they stay visible
  kUdp,
  kIcmp,
  kArp,
  kCount,
};
inline constexpr int kTimeoutClassCount = static_cast<int>(TimeoutClass::kCount);

inline constexpr int64_t kTimeoutUs[kTimeoutClassCount] = {
    60'000'000,   // kTcpHandshake: 60 s
    600'000'000,  // kTcpEstablished: 10 min
    120'000'000,  // kTcpClosing: 2 min
    10'000'000,   // kTcpClosed: 10 s
    60'000'000,   // kUdp: 60 s
    20'000'000,   // kIcmp: 20 s
    30'000'000,   // kArp: 30 s
};

inline constexpr uint32_t kNoIndex = UINT32_MAX;

// TCP: highest sequence number + length seen per direction, the sequence
// number of each side's FIN, the counters the API reports, and the
// continuous round-trip time estimate (see tcp_rtt.h).
struct TcpTrack {
  uint32_t next_seq[2] = {0, 0};
  uint32_t fin_seq[2] = {0, 0};
  uint32_t handshake_rtt_us = 0;  // 0: handshake not seen
  uint32_t retransmissions = 0;
  uint32_t out_of_order = 0;
  uint32_t zero_windows = 0;
  TcpRtt rtt;  // 16 bytes.
};
static_assert(sizeof(TcpTrack) == 48);

// ARP's and ICMP's parts are trivial types (no member initializers), so
// writing one of their fields makes that part the union's live one; the
// flow table value-initializes the whole part first (ArpTrack{}: zeros).
struct ArpTrack {
  MacAddress resolved;  // The asked-for address's MAC.
  uint16_t requests;
  uint16_t replies;
};

struct IcmpTrack {
  uint8_t type;  // Of the last packet with an ICMP header.
  uint8_t code;
};

struct Connection {
  FlowKey key;
  uint64_t id = 0;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  RateWindow rate[2];

  // Protocol-specific state: a connection is one protocol for its whole
  // life, so TCP's, ARP's and ICMP's share their bytes (48, the TCP part).
  // Which one is live follows key.protocol (FlowTable::Init picks it);
  // read only that one.
  union {
    TcpTrack tcp{};  // kIpProtoTcp.
    ArpTrack arp;    // kPseudoProtoArp.
    IcmpTrack icmp;  // kIpProtoIcmp, kIpProtoIcmpv6.
  };
  uint32_t fragments = 0;

  MacAddress mac[2] = {};   // Source MAC seen per endpoint (A, B); zero if none.

  uint8_t tcp_flags_seen = 0;
  // Packets that carried transport payload, saturating at 255 (DPI gives up
  // on a connection no dissector recognised after a number of them).
  uint8_t payload_packets = 0;

  // Small fields as bit-fields: 4 bytes instead of 16 (sizeof is checked
  // below; the whole struct is on every connection).
  ConnState state : 4 = ConnState::kUnspecified;
  TimeoutClass timeout_class : 3 = TimeoutClass::kUdp;
  uint8_t initiator : 1 = 0;  // 0: endpoint A started it, 1: B.
  uint8_t local : 1 = 0;      // Which endpoint (0 = A, 1 = B) is local.
  // TCP bit flags.
  uint8_t seq_valid : 2 = 0;  // bit d: next_seq[d] valid
  uint8_t fin_seen : 2 = 0;   // bit d: direction d sent FIN
  uint8_t fin_acked : 2 = 0;  // bit d: direction d's FIN acknowledged
  uint8_t first_fin : 2 = 0;  // 1 + the direction that sent the first FIN; 0 none
  bool syn_ack_seen : 1 = false;
  bool handshake_done : 1 = false;
  bool syn_first : 1 = false;  // The first packet was a bare SYN (RTT is measurable).
  bool reset : 1 = false;
  bool in_use : 1 = false;
  bool close_reported : 1 = false;  // A close event went out (see FlowTable::Options::on_event).
  // `app` is final: DPI classified the connection, gave up, or will not
  // inspect it (set through DpiCallbacks::Done by the pipeline).
  bool app_final : 1 = false;
  // Which of the flow table's idle lists holds it: the embryonic ones (see
  // FlowTable) or the rest. Set when it is linked, read when unlinked.
  bool lru_embryonic : 1 = false;

  // What DPI found; null until something was. Immutable and shared with
  // snapshots (see AppRecord).
  std::shared_ptr<const AppRecord> app;
  // The remote address's name from the passive DNS cache, when known at
  // the connection's start (shared with the cache).
  std::shared_ptr<const std::string> dns_name;
  // Which processes own the connection's sockets (live capture); null until
  // the attribution thread answered. Immutable, shared.
  std::shared_ptr<const Attribution> attribution;
};
// 240 bytes: key 40, id and times 24, counters 32, rates 24, the
// protocol union 48 (TCP's part; ARP's and ICMP's fit inside), fragments
// 4, MACs 12, small fields 8, three shared pointers 48. The whole struct is
// on every connection (a million of them is 240 MB): grow it only on
// purpose, and put what one protocol needs in its part of the union.
static_assert(sizeof(Connection) <= 240, "Connection grew; see the memory benchmark");

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_CONNECTION_H_
