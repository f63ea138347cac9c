#include "daemon/dpi/engine.h"

#include <algorithm>
#include <map>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"

#include "daemon/dpi/dns.h"
#include "daemon/dpi/http.h"
#include "daemon/dpi/quic.h"
#include "daemon/dpi/simple_udp.h"
#include "daemon/dpi/ssh.h"
#include "daemon/dpi/tls.h"

namespace rustnet {
namespace {

// Serial-number arithmetic (RFC 1982) on TCP sequence numbers.
int32_t SeqDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

}  // namespace

std::vector<std::unique_ptr<Dissector>> MakeDefaultDissectors() {
  std::vector<std::unique_ptr<Dissector>> d;
  d.push_back(MakeTlsDissector());
  d.push_back(MakeHttpDissector());
  d.push_back(MakeSshDissector());
  d.push_back(MakeQuicDissector());
  d.push_back(MakeDnsDissector());
  d.push_back(MakeDhcpDissector());
  d.push_back(MakeStunDissector());
  d.push_back(MakeNtpDissector());
  return d;
}

// In-order delivery of one TCP direction's payload, tolerating
// retransmissions and holding a bounded amount of out-of-order data (only
// while there is a gap: most streams never allocate it).
struct TcpStream {
  struct Gap {
    std::map<uint32_t, std::vector<uint8_t>> segments;  // seq -> bytes beyond the gap.
    size_t bytes = 0;
  };
  uint32_t next = 0;
  bool started = false;
  std::unique_ptr<Gap> gap;

  size_t pending_bytes() const { return gap ? gap->bytes : 0; }

  // Calls deliver(span) for every byte run that is now in order. False if
  // the out-of-order bytes would pass kMaxOutOfOrderBytes.
  template <typename F>
  bool Add(uint32_t seq, std::span<const uint8_t> data, F&& deliver) {
    if (!started) {
      started = true;
      next = seq;
    }
    const int32_t d = SeqDiff(seq, next);
    if (d > 0) {
      if (pending_bytes() + data.size() > DpiEngine::kMaxOutOfOrderBytes) return false;
      if (!gap) gap = std::make_unique<Gap>();
      auto& slot = gap->segments[seq];
      if (slot.size() < data.size()) {
        gap->bytes += data.size() - slot.size();
        slot.assign(data.begin(), data.end());
      }
      return true;
    }
    if (static_cast<size_t>(-static_cast<int64_t>(d)) >= data.size()) return true;  // Old.
    data = data.subspan(static_cast<size_t>(-static_cast<int64_t>(d)));
    deliver(data);
    next += static_cast<uint32_t>(data.size());
    // Drain what the gap was holding back.
    while (gap && !gap->segments.empty()) {
      auto it = gap->segments.begin();
      const int32_t behind = SeqDiff(it->first, next);
      if (behind > 0) break;
      std::vector<uint8_t> bytes = std::move(it->second);
      gap->bytes -= bytes.size();
      gap->segments.erase(it);
      const size_t skip = static_cast<size_t>(-static_cast<int64_t>(behind));
      if (skip < bytes.size()) {
        deliver(std::span<const uint8_t>(bytes).subspan(skip));
        next += static_cast<uint32_t>(bytes.size() - skip);
      }
    }
    if (gap && gap->segments.empty()) gap.reset();
    return true;
  }
};

struct TcpStreams {
  TcpStream dir[2];  // By direction index of the key (0: A->B).
};

// One connection's pending inspection. Exists only while at least one
// dissector still claims the connection.
struct DpiEngine::FlowState {
  uint64_t owner = 0;  // Connection::id (a slot is reused once freed).
  uint32_t prev = kNoIndex;  // Pending list links (slots).
  uint32_t next = kNoIndex;
  uint32_t fed = 0;            // Bytes fed to the sessions.
  uint32_t counted_bytes = 0;  // What this state adds to stats_.state_bytes.
  absl::InlinedVector<std::unique_ptr<Session>, 1> sessions;
  std::unique_ptr<TcpStreams> tcp;  // TCP only.
  // Facts written before any dissector named the protocol (they cannot be
  // published yet); null almost always.
  std::unique_ptr<AppRecord> unpublished;
};

namespace {

// A session object's own size, roughly (Session::MemoryUsage counts what it
// holds on the heap).
constexpr size_t kSessionObjectBytes = 64;

const AppRecord& EmptyRecord() {
  static const AppRecord kEmpty;
  return kEmpty;
}

}  // namespace

DpiEngine::DpiEngine(size_t max_state_bytes)
    : dissectors_(MakeDefaultDissectors()), max_state_bytes_(max_state_bytes) {}

DpiEngine::~DpiEngine() = default;

DpiStats DpiEngine::stats() const {
  DpiStats s = stats_;
  s.active = slots_.size() - free_slots_.size();
  return s;
}

DpiEngine::FlowState* DpiEngine::StateOf(const Connection& c) {
  if (c.dpi_state >= slots_.size()) return nullptr;
  FlowState* s = slots_[c.dpi_state].get();
  return s != nullptr && s->owner == c.id ? s : nullptr;
}

void DpiEngine::Unlink(uint32_t slot) {
  FlowState& s = *slots_[slot];
  if (s.prev != kNoIndex) {
    slots_[s.prev]->next = s.next;
  } else {
    head_ = s.next;
  }
  if (s.next != kNoIndex) {
    slots_[s.next]->prev = s.prev;
  } else {
    tail_ = s.prev;
  }
  s.prev = s.next = kNoIndex;
}

void DpiEngine::PushBack(uint32_t slot) {
  FlowState& s = *slots_[slot];
  s.prev = tail_;
  s.next = kNoIndex;
  if (tail_ != kNoIndex) {
    slots_[tail_]->next = slot;
  } else {
    head_ = slot;
  }
  tail_ = slot;
}

void DpiEngine::Free(uint32_t slot) {
  Unlink(slot);
  stats_.state_bytes -= std::min<uint64_t>(stats_.state_bytes, slots_[slot]->counted_bytes);
  slots_[slot].reset();
  free_slots_.push_back(slot);
}

void DpiEngine::DropForCap(uint32_t slot) {
  ++stats_.skipped_state_cap;
  Free(slot);
}

void DpiEngine::Account(FlowState& s) {
  size_t bytes = sizeof(FlowState);
  if (s.tcp) {
    bytes += sizeof(TcpStreams) + s.tcp->dir[0].pending_bytes() + s.tcp->dir[1].pending_bytes();
  }
  for (const auto& session : s.sessions) bytes += kSessionObjectBytes + session->MemoryUsage();
  if (s.unpublished) bytes += sizeof(AppRecord);
  const auto counted = static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX));
  stats_.state_bytes += counted;
  stats_.state_bytes -= std::min<uint64_t>(stats_.state_bytes, s.counted_bytes);
  s.counted_bytes = counted;
}

void DpiEngine::Forget(const Connection& c) {
  if (StateOf(c) != nullptr) Free(c.dpi_state);
}

void DpiEngine::Finish(Connection& c, bool classified) {
  if (StateOf(c) != nullptr) Free(c.dpi_state);
  c.dpi_state = kNoIndex;
  c.dpi_done = true;
  if (classified) {
    ++stats_.classified;
  } else {
    ++stats_.gave_up;
  }
}

std::shared_ptr<const AppRecord> DpiEngine::Share(const AppRecord& record) {
  const size_t hash = absl::Hash<AppRecord>{}(record);
  auto it = shared_.find(hash);
  if (it != shared_.end()) {
    if (auto known = it->second.lock(); known != nullptr && *known == record) return known;
  } else if (shared_.size() >= kMaxSharedRecords) {
    // Forget records nobody holds; if that frees too little, start over.
    absl::erase_if(shared_, [](const auto& entry) { return entry.second.expired(); });
    if (shared_.size() >= kMaxSharedRecords / 2) shared_.clear();
  }
  // Not make_shared: the table's weak reference would keep a dead record's
  // storage (the control block would hold it).
  std::shared_ptr<const AppRecord> fresh = std::make_unique<const AppRecord>(record);
  shared_[hash] = fresh;
  return fresh;
}

bool DpiEngine::Publish(Connection& c, const AppRecord& record) {
  if (record.protocol == AppProtocol::kUnknown) return false;
  if (c.app != nullptr && *c.app == record) return false;
  c.app = Share(record);
  return true;
}

DpiEngine::FlowState* DpiEngine::Start(Connection& c, bool from_client,
                                       std::span<const uint8_t> payload) {
  FlowInfo flow;
  flow.transport = c.key.protocol;
  flow.client_port = c.initiator == 0 ? c.key.port_a : c.key.port_b;
  flow.server_port = c.initiator == 0 ? c.key.port_b : c.key.port_a;
  // Port-hinted dissectors first, then the rest, each only if the bytes
  // could be theirs.
  absl::InlinedVector<const Dissector*, 4> claimed;
  for (const bool hinted : {true, false}) {
    for (const auto& d : dissectors_) {
      if (d->PortHint(flow) == hinted && d->Probe(flow, from_client, payload)) {
        claimed.push_back(d.get());
      }
    }
  }
  if (claimed.empty()) return nullptr;

  // Make room: the state fed least recently goes first.
  const size_t need = sizeof(FlowState) + claimed.size() * kSessionObjectBytes +
                      (flow.transport == kIpProtoTcp ? sizeof(TcpStreams) : 0);
  while (stats_.state_bytes + need > max_state_bytes_ && head_ != kNoIndex) DropForCap(head_);
  if (stats_.state_bytes + need > max_state_bytes_) {
    ++stats_.skipped_state_cap;
    c.dpi_done = true;
    return nullptr;
  }

  auto state = std::make_unique<FlowState>();
  state->owner = c.id;
  for (const Dissector* d : claimed) state->sessions.push_back(d->NewSession(flow));
  if (flow.transport == kIpProtoTcp) state->tcp = std::make_unique<TcpStreams>();
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot] = std::move(state);
  c.dpi_state = slot;
  PushBack(slot);
  Account(*slots_[slot]);
  return slots_[slot].get();
}

bool DpiEngine::Process(Connection& c, const DecodedPacket& p, std::span<const uint8_t> payload) {
  if (c.key.protocol != kIpProtoTcp && c.key.protocol != kIpProtoUdp) {
    c.dpi_done = true;
    return false;
  }
  if (payload.empty()) return false;
  const int dir = p.src_is_a ? 0 : 1;
  const bool from_client = dir == c.initiator;
  if (c.dpi_packets < UINT8_MAX) ++c.dpi_packets;

  FlowState* s = StateOf(c);
  if (s == nullptr) {
    if (c.dpi_state != kNoIndex) {
      // Its state was dropped at the cap (counted then): a stream missing
      // bytes cannot be picked up again.
      c.dpi_state = kNoIndex;
      c.dpi_done = true;
      return false;
    }
    s = Start(c, from_client, payload);
    if (s == nullptr) {
      // No dissector recognised this payload: try the next one, up to the limit.
      if (!c.dpi_done && c.dpi_packets >= kMaxPayloadPackets) Finish(c, false);
      return false;
    }
  } else {
    Unlink(c.dpi_state);
    PushBack(c.dpi_state);
  }

  // The facts so far: the published record, or those not publishable yet.
  if (s->unpublished) {
    scratch_ = *s->unpublished;
  } else if (c.app) {
    scratch_ = *c.app;
  } else {
    scratch_ = EmptyRecord();
  }
  AppRecord& record = scratch_;
  bool done = false;
  auto feed = [&](std::span<const uint8_t> bytes) {
    s->fed += static_cast<uint32_t>(std::min<size_t>(bytes.size(), UINT32_MAX - s->fed));
    for (size_t i = 0; i < s->sessions.size() && !done;) {
      const ParseState st = s->sessions[i]->Feed(from_client, bytes, &record, &anomalies_);
      if (st == ParseState::kNotMine) {
        s->sessions.erase(s->sessions.begin() + static_cast<ptrdiff_t>(i));
        // Whatever it wrote is not to be trusted.
        if (record.protocol != AppProtocol::kUnknown && s->sessions.empty()) record = {};
        continue;
      }
      if (st == ParseState::kDone) {
        done = true;
        break;
      }
      ++i;
    }
  };
  if (c.key.protocol == kIpProtoTcp) {
    if (!s->tcp->dir[dir].Add(p.seq + ((p.tcp_flags & kTcpSyn) ? 1u : 0u), payload, feed)) {
      CountAnomaly(&anomalies_, "dpi_out_of_order_overflow");
      done = true;
    }
  } else {
    feed(payload);
  }

  const bool changed = Publish(c, record);
  const bool exhausted =
      c.dpi_packets >= kMaxPayloadPackets || s->fed >= kMaxFedBytes || s->sessions.empty();
  if (done || exhausted) {
    Finish(c, record.protocol != AppProtocol::kUnknown);
    return changed;
  }
  if (record.protocol == AppProtocol::kUnknown && !(record == EmptyRecord())) {
    if (s->unpublished) {
      *s->unpublished = record;
    } else {
      s->unpublished = std::make_unique<AppRecord>(record);
    }
  } else {
    s->unpublished.reset();
  }
  Account(*s);
  // Growth counts against the cap too: states fed less recently make room,
  // and if this one alone is too big, it goes.
  while (stats_.state_bytes > max_state_bytes_ && head_ != c.dpi_state) DropForCap(head_);
  if (stats_.state_bytes > max_state_bytes_) {
    DropForCap(c.dpi_state);
    c.dpi_state = kNoIndex;
    c.dpi_done = true;
  }
  return changed;
}

}  // namespace rustnet
