#include "daemon/track/flow_table.h"

#include <algorithm>

#include "common/services.h"
#include "daemon/decode/tcp_seq.h"

namespace rustnet {
namespace {

// A port a server would listen on: a known service or a privileged port.
bool LooksLikeServerPort(uint8_t protocol, uint16_t port) {
  return port < 1024 || !LookupService(protocol, port).empty();
}

inline uint8_t Bit(int dir) { return static_cast<uint8_t>(1u << dir); }

}  // namespace

TimeoutClass TimeoutClassFor(uint8_t protocol, ConnState state) {
  switch (protocol) {
    case kIpProtoTcp:
      switch (state) {
        case ConnState::kSynSent:
        case ConnState::kSynReceived:
          return TimeoutClass::kTcpHandshake;
        case ConnState::kFinWait1:
        case ConnState::kFinWait2:
        case ConnState::kCloseWait:
        case ConnState::kClosing:
        case ConnState::kLastAck:
          return TimeoutClass::kTcpClosing;
        case ConnState::kTimeWait:
        case ConnState::kClosed:
          return TimeoutClass::kTcpClosed;
        default:
          return TimeoutClass::kTcpEstablished;
      }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      return TimeoutClass::kIcmp;
    case kPseudoProtoArp:
      return TimeoutClass::kArp;
    default:
      return TimeoutClass::kUdp;
  }
}

bool IsEmbryonic(const Connection& c) {
  if (c.packets[0] == 0 || c.packets[1] == 0) return true;
  return c.key.protocol == kIpProtoTcp && !c.handshake_done;
}

ConnState DeriveTcpState(const Connection& c) {
  if (c.reset) return ConnState::kClosed;
  const int local = c.local;
  const int remote = 1 - local;
  const bool fin_local = (c.fin_seen & Bit(local)) != 0;
  const bool fin_remote = (c.fin_seen & Bit(remote)) != 0;
  const bool acked_local = (c.fin_acked & Bit(local)) != 0;
  if (!fin_local && !fin_remote) {
    if (c.handshake_done) return ConnState::kEstablished;
    if (c.syn_ack_seen) return ConnState::kSynReceived;
    if ((c.tcp_flags_seen & kTcpSyn) != 0) {
      // A SYN with nothing back from the responder yet.
      if (c.packets[1 - c.initiator] == 0) return ConnState::kSynSent;
      // The responder answered with a bare SYN of its own: simultaneous
      // open (RFC 9293 §3.5), half done. (Any other answer would have set
      // handshake_done or reset.)
      return ConnState::kSynReceived;
    }
    return ConnState::kEstablished;  // Picked up mid-stream.
  }
  if (fin_local && !fin_remote) return acked_local ? ConnState::kFinWait2 : ConnState::kFinWait1;
  if (fin_remote && !fin_local) return ConnState::kCloseWait;
  if (c.first_fin == 1 + local) return acked_local ? ConnState::kTimeWait : ConnState::kClosing;
  return acked_local ? ConnState::kClosed : ConnState::kLastAck;
}

FlowTable::FlowTable(Options options)
    : options_(std::move(options)), next_id_(options_.id_start) {
  std::fill(std::begin(head_), std::end(head_), kNoIndex);
  std::fill(std::begin(tail_), std::end(tail_), kNoIndex);
}

const Connection* FlowTable::Find(const FlowKey& key) const {
  const uint32_t idx = index_.Find(key);
  return idx == kNoIndex ? nullptr : &At(idx);
}

void FlowTable::CopyTo(std::vector<Connection>* out) const {
  out->reserve(out->size() + index_.size());
  ForEach([out](const Connection& c) { out->push_back(c); });
}

void FlowTable::ShareChunks(std::vector<ChunkRef>* out) const {
  out->assign(chunks_.begin(), chunks_.end());
}

Connection& FlowTable::Mutable(uint32_t idx) {
  ChunkRef& chunk = chunks_[idx >> kChunkBits];
  if (!chunk.Unique()) {
    // A snapshot still holds it: write to a copy from now on.
    ++stats_.chunks_copied;
    chunk = ChunkRef(new ConnectionChunk(*chunk));
  }
  return chunk.mutable_get()->slots[idx & (kChunkSize - 1)];
}

uint32_t FlowTable::Allocate() {
  if (!free_.empty()) {
    const uint32_t idx = free_.back();
    free_.pop_back();
    return idx;
  }
  if ((allocated_ & (kChunkSize - 1)) == 0) {
    chunks_.emplace_back(new ConnectionChunk);
    links_.push_back(std::make_unique<Links[]>(kChunkSize));
  }
  return allocated_++;
}

void FlowTable::Unlink(uint32_t idx) {
  Links& l = LinksAt(idx);
  const int k = ListOf(At(idx).timeout_class, At(idx).lru_embryonic);
  if (l.prev != kNoIndex) {
    LinksAt(l.prev).next = l.next;
  } else {
    head_[k] = l.next;
  }
  if (l.next != kNoIndex) {
    LinksAt(l.next).prev = l.prev;
  } else {
    tail_[k] = l.prev;
  }
  l.prev = l.next = kNoIndex;
}

void FlowTable::PushBack(uint32_t idx) {
  Links& l = LinksAt(idx);
  Connection& c = Mutable(idx);  // (Process is writing its chunk anyway.)
  c.lru_embryonic = IsEmbryonic(c);
  const int k = ListOf(c.timeout_class, c.lru_embryonic);
  l.prev = tail_[k];
  l.next = kNoIndex;
  if (tail_[k] != kNoIndex) {
    LinksAt(tail_[k]).next = idx;
  } else {
    head_[k] = idx;
  }
  tail_[k] = idx;
}

void FlowTable::Remove(uint32_t idx, RemovalReason reason) {
  Connection& c = Mutable(idx);
  if (options_.on_remove) options_.on_remove(c, reason);
  Unlink(idx);
  // Beyond the reserve, the connection held a place in the shared pool.
  if (options_.pool_used && index_.size() > options_.reserve) {
    options_.pool_used->fetch_sub(1, std::memory_order_relaxed);
  }
  index_.Erase(idx);  // While c.key still names it.
  c = Connection{};
  free_.push_back(idx);
}

bool FlowTable::MakeRoom() {
  if (!options_.pool_used) {
    if (index_.size() >= options_.max_connections) EvictOldest();
    return true;
  }
  // The reserve first, then a place in the pool; with the pool full, this
  // table's own oldest gives up its place (a pool place or a reserve slot,
  // both this table's to reuse), so the tables together never hold more
  // than the capacity, however unevenly the hash spreads connections.
  std::atomic<size_t>& used = *options_.pool_used;
  while (index_.size() >= options_.reserve) {
    if (used.fetch_add(1, std::memory_order_relaxed) < options_.pool) return true;
    used.fetch_sub(1, std::memory_order_relaxed);
    if (index_.size() == 0) return false;  // No reserve, nothing to evict.
    EvictOldest();
  }
  return true;
}

void FlowTable::EvictOldest() {
  // The longest idle of the embryonic lists, else of the others.
  for (const bool embryonic : {true, false}) {
    uint32_t victim = kNoIndex;
    for (int k = 0; k < kTimeoutClassCount; ++k) {
      const uint32_t head = head_[ListOf(static_cast<TimeoutClass>(k), embryonic)];
      if (head == kNoIndex) continue;
      if (victim == kNoIndex || At(head).last_seen_us < At(victim).last_seen_us) victim = head;
    }
    if (victim == kNoIndex) continue;
    ++stats_.evicted;
    if (!embryonic) ++stats_.evicted_established;
    Remove(victim, RemovalReason::kEvicted);
    return;
  }
}

size_t FlowTable::Expire(int64_t now_us) {
  size_t removed = 0;
  for (int k = 0; k < kListCount; ++k) {
    const int64_t timeout = kTimeoutUs[k / 2];
    while (head_[k] != kNoIndex && now_us - At(head_[k]).last_seen_us > timeout) {
      Remove(head_[k], RemovalReason::kExpired);
      ++removed;
    }
  }
  stats_.expired += removed;
  return removed;
}

Connection* FlowTable::Process(const DecodedPacket& p, uint64_t key_hash) {
  if (options_.no_localhost && (p.key.addr_a.IsLoopback() || p.key.addr_b.IsLoopback())) {
    ++stats_.localhost_skipped;
    return nullptr;
  }
  const int dir = p.src_is_a ? 0 : 1;
  uint32_t idx = index_.Find(p.key, key_hash);
  if (idx != kNoIndex) {
    const Connection& c = At(idx);
    // A bare SYN on a closed TCP connection's endpoints starts a new one
    // (port reuse after TIME_WAIT or RST).
    const bool closed = c.reset || c.fin_seen == 3;
    if (p.timestamp_us - c.last_seen_us > kTimeoutUs[static_cast<int>(c.timeout_class)]) {
      // Idle past its timeout but not swept yet: the packet starts a new
      // connection, whenever the sweep would have run.
      ++stats_.expired;
      Remove(idx, RemovalReason::kExpired);
      idx = kNoIndex;
    } else if (p.key.protocol == kIpProtoTcp && closed &&
               (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn) {
      ++stats_.replaced;
      Remove(idx, RemovalReason::kReplaced);
      idx = kNoIndex;
    }
  }
  const bool opened = idx == kNoIndex;
  if (opened) {
    if (!MakeRoom()) {
      ++stats_.refused;
      return nullptr;
    }
    idx = Allocate();
    Init(Mutable(idx), p, dir);  // Writes the key the index reads.
    index_.Insert(idx);
    ++stats_.created;
  } else {
    Unlink(idx);
  }
  Connection& c = Mutable(idx);
  Update(c, p, dir);
  PushBack(idx);
  if (options_.on_event) {
    if (opened) options_.on_event(c, TableEvent::kOpened);
    if (!c.close_reported && (c.state == ConnState::kTimeWait || c.state == ConnState::kClosed)) {
      c.close_reported = true;
      options_.on_event(c, c.reset ? TableEvent::kClosedReset : TableEvent::kClosedFin);
    }
  }
  return &c;
}

void FlowTable::Init(Connection& c, const DecodedPacket& p, int dir) {
  c = Connection{};
  c.in_use = true;
  c.key = p.key;
  c.id = next_id_;
  next_id_ += options_.id_stride;
  c.first_seen_us = p.timestamp_us;

  // Who started it: SYN, then protocol requests, then a server-looking
  // source port (a reply seen first), else the first packet's sender.
  int initiator = dir;
  const uint16_t src_port = p.src_is_a ? p.key.port_a : p.key.port_b;
  const uint16_t dst_port = p.src_is_a ? p.key.port_b : p.key.port_a;
  switch (p.key.protocol) {
    case kIpProtoTcp:
      if ((p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn) {
        c.syn_first = true;
      } else if ((p.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck)) {
        initiator = 1 - dir;
      } else if (LooksLikeServerPort(kIpProtoTcp, src_port) &&
                 !LooksLikeServerPort(kIpProtoTcp, dst_port)) {
        initiator = 1 - dir;
      }
      break;
    case kIpProtoUdp:
      if (LooksLikeServerPort(kIpProtoUdp, src_port) &&
          !LooksLikeServerPort(kIpProtoUdp, dst_port)) {
        initiator = 1 - dir;
      }
      break;
    case kIpProtoIcmp:
      if (p.icmp_echo && p.icmp_type == 0) initiator = 1 - dir;  // echo reply
      break;
    case kIpProtoIcmpv6:
      if (p.icmp_echo && p.icmp_type == 129) initiator = 1 - dir;
      break;
    case kPseudoProtoArp:
      if (p.arp_op == kArpReply) initiator = 1 - dir;
      break;
    default:
      break;
  }
  c.initiator = initiator & 1;
  c.local = c.initiator;
  if (options_.local_addresses) {
    const bool a_local = options_.local_addresses->contains(p.key.addr_a);
    const bool b_local = options_.local_addresses->contains(p.key.addr_b);
    if (a_local != b_local) c.local = a_local ? 0 : 1;
  }
  c.state = p.key.protocol == kIpProtoTcp ? ConnState::kEstablished : ConnState::kUnreplied;
  c.timeout_class = TimeoutClassFor(p.key.protocol, c.state);
  // The protocol's part of the union (Connection{} made TCP's the live one).
  if (p.key.protocol == kIpProtoIcmp || p.key.protocol == kIpProtoIcmpv6) {
    c.icmp = IcmpTrack{};
  } else if (p.key.protocol == kPseudoProtoArp) {
    c.arp = ArpTrack{};
  }
}

void FlowTable::Update(Connection& c, const DecodedPacket& p, int dir) {
  const int64_t idle_us = p.timestamp_us - c.last_seen_us;
  c.last_seen_us = std::max(c.last_seen_us, p.timestamp_us);
  ++c.packets[dir];
  c.bytes[dir] += p.ip_length;
  c.rate[dir].Add(p.timestamp_us, p.ip_length);
  if (p.has_macs) c.mac[dir] = p.src_mac;
  if (p.is_fragment) ++c.fragments;
  if (p.payload_wire > 0 && c.payload_packets < UINT8_MAX) ++c.payload_packets;

  switch (p.key.protocol) {
    case kIpProtoTcp:
      UpdateTcp(c, p, dir, idle_us);
      c.state = DeriveTcpState(c);
      break;
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      if (p.has_l4_header) {
        c.icmp.type = p.icmp_type;
        c.icmp.code = p.icmp_code;
      }
      c.state = c.packets[0] && c.packets[1] ? ConnState::kActive : ConnState::kUnreplied;
      break;
    case kPseudoProtoArp:
      if (p.arp_op == kArpRequest && c.arp.requests < UINT16_MAX) ++c.arp.requests;
      if (p.arp_op == kArpReply) {
        if (c.arp.replies < UINT16_MAX) ++c.arp.replies;
        c.arp.resolved = p.arp_sender_mac;
      }
      c.state = c.packets[0] && c.packets[1] ? ConnState::kActive : ConnState::kUnreplied;
      break;
    default:
      c.state = c.packets[0] && c.packets[1] ? ConnState::kActive : ConnState::kUnreplied;
      break;
  }
  c.timeout_class = TimeoutClassFor(p.key.protocol, c.state);
}

void FlowTable::UpdateTcp(Connection& c, const DecodedPacket& p, int dir, int64_t idle_us) {
  const uint8_t flags = p.tcp_flags;
  // A later fragment carries no TCP header: count it, nothing more.
  if (!p.has_l4_header) return;
  c.tcp_flags_seen |= flags;
  const bool syn = (flags & kTcpSyn) != 0;
  const bool ack = (flags & kTcpAck) != 0;
  const bool fin = (flags & kTcpFin) != 0;
  const bool rst = (flags & kTcpRst) != 0;
  if (rst) {
    c.reset = true;
    return;
  }
  if (syn && ack) c.syn_ack_seen = true;
  if (ack && !syn && c.syn_ack_seen && !c.handshake_done && dir == c.initiator) {
    c.handshake_done = true;
    if (c.syn_first) {
      const int64_t rtt = p.timestamp_us - c.first_seen_us;
      c.tcp.handshake_rtt_us = static_cast<uint32_t>(std::clamp<int64_t>(rtt, 1, UINT32_MAX));
    }
  }
  // Data seen without a handshake also means the connection is up.
  if (!syn && !c.syn_ack_seen && c.packets[0] > 0 && c.packets[1] > 0) c.handshake_done = true;

  if (!syn && p.window == 0) ++c.tcp.zero_windows;

  // Sequence space consumed: payload, plus one each for SYN and FIN.
  const uint32_t seg_len = p.payload_wire + (syn ? 1u : 0u) + (fin ? 1u : 0u);
  const uint32_t seg_end = p.seq + seg_len;
  const uint8_t bit = Bit(dir);
  bool retransmission = false;
  if ((c.seq_valid & bit) == 0) {
    c.tcp.next_seq[dir] = seg_end;
    c.seq_valid = (c.seq_valid | bit) & 3;
  } else if (seg_len > 0) {
    const int32_t gap = SeqDiff(p.seq, c.tcp.next_seq[dir]);
    const bool keepalive = !syn && !fin && p.payload_wire <= 1 && gap == -1;
    if (gap > 0) {
      ++c.tcp.out_of_order;
      c.tcp.next_seq[dir] = seg_end;
    } else if (gap < 0 && !keepalive) {
      retransmission = true;
      ++c.tcp.retransmissions;
      ++stats_.retransmissions;
      if (SeqDiff(seg_end, c.tcp.next_seq[dir]) > 0) c.tcp.next_seq[dir] = seg_end;
    } else if (gap == 0) {
      c.tcp.next_seq[dir] = seg_end;
    }
  }

  TcpRttSegment rtt;
  rtt.timestamp_us = p.timestamp_us;
  rtt.dir = dir;
  rtt.flags = flags;
  rtt.seq = p.seq;
  rtt.ack = p.ack;
  rtt.seq_len = seg_len;
  rtt.retransmission = retransmission;
  rtt.idle_us = idle_us;
  rtt.has_timestamps = p.has_tcp_timestamps;
  rtt.tsval = p.tsval;
  rtt.tsecr = p.tsecr;
  c.tcp.rtt.OnSegment(rtt);

  if (fin && (c.fin_seen & bit) == 0) {
    c.fin_seen = (c.fin_seen | bit) & 3;
    c.tcp.fin_seq[dir] = p.seq + p.payload_wire;
    if (c.first_fin == 0) c.first_fin = dir == 0 ? 1 : 2;
  }
  const int other = 1 - dir;
  if (ack && (c.fin_seen & Bit(other)) != 0 && SeqDiff(p.ack, c.tcp.fin_seq[other] + 1) >= 0) {
    c.fin_acked = (c.fin_acked | Bit(other)) & 3;
  }
}

}  // namespace rustnet
