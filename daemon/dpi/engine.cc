#include "daemon/dpi/engine.h"

#include <algorithm>

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
// retransmissions and holding a bounded amount of out-of-order data.
struct TcpStream {
  bool started = false;
  uint32_t next = 0;
  std::map<uint32_t, std::vector<uint8_t>> pending;  // seq -> bytes beyond a gap.
  size_t pending_bytes = 0;

  // Calls deliver(span) for every byte run that is now in order.
  template <typename F>
  bool Add(uint32_t seq, std::span<const uint8_t> data, F&& deliver) {
    if (!started) {
      started = true;
      next = seq;
    }
    const int32_t d = SeqDiff(seq, next);
    if (d > 0) {
      if (pending_bytes + data.size() > DpiEngine::kMaxOutOfOrderBytes) return false;
      auto& slot = pending[seq];
      if (slot.size() < data.size()) {
        pending_bytes += data.size() - slot.size();
        slot.assign(data.begin(), data.end());
      }
      return true;
    }
    if (static_cast<size_t>(-static_cast<int64_t>(d)) >= data.size()) return true;  // Old.
    data = data.subspan(static_cast<size_t>(-static_cast<int64_t>(d)));
    deliver(data);
    next += static_cast<uint32_t>(data.size());
    // Drain what the gap was holding back.
    while (!pending.empty()) {
      auto it = pending.begin();
      const int32_t gap = SeqDiff(it->first, next);
      if (gap > 0) break;
      std::vector<uint8_t> bytes = std::move(it->second);
      pending_bytes -= bytes.size();
      pending.erase(it);
      const size_t skip = static_cast<size_t>(-static_cast<int64_t>(gap));
      if (skip < bytes.size()) {
        deliver(std::span<const uint8_t>(bytes).subspan(skip));
        next += static_cast<uint32_t>(bytes.size() - skip);
      }
    }
    return true;
  }
};

struct DpiEngine::FlowState {
  FlowInfo flow;
  std::vector<std::unique_ptr<Session>> sessions;
  bool probed = false;
  int packets = 0;
  size_t fed = 0;
  TcpStream stream[2];  // By direction index of the key (0: A->B).
  AppRecord record;
  size_t counted_bytes = 0;  // What this flow adds to the engine's total.
};

DpiEngine::DpiEngine(size_t max_state_bytes)
    : dissectors_(MakeDefaultDissectors()), max_state_bytes_(max_state_bytes) {}

DpiEngine::~DpiEngine() = default;

DpiStats DpiEngine::stats() const {
  DpiStats s = stats_;
  s.active = flows_.size();
  return s;
}

void DpiEngine::Forget(const Connection& c) {
  auto it = flows_.find(c.id);
  if (it == flows_.end()) return;
  stats_.state_bytes -= std::min<uint64_t>(stats_.state_bytes, it->second->counted_bytes);
  flows_.erase(it);
}

void DpiEngine::Finish(Connection& c, FlowState& s, bool classified) {
  (void)s;
  c.dpi_done = true;
  if (classified) {
    ++stats_.classified;
  } else {
    ++stats_.gave_up;
  }
  Forget(c);
}

bool DpiEngine::Process(Connection& c, const DecodedPacket& p, std::span<const uint8_t> payload) {
  if (c.key.protocol != kIpProtoTcp && c.key.protocol != kIpProtoUdp) {
    c.dpi_done = true;
    return false;
  }
  if (payload.empty()) return false;
  auto it = flows_.find(c.id);
  if (it == flows_.end()) {
    if (stats_.state_bytes > max_state_bytes_) {
      ++stats_.skipped_state_cap;
      c.dpi_done = true;
      return false;
    }
    auto state = std::make_unique<FlowState>();
    state->flow.transport = c.key.protocol;
    state->flow.client_port = c.initiator == 0 ? c.key.port_a : c.key.port_b;
    state->flow.server_port = c.initiator == 0 ? c.key.port_b : c.key.port_a;
    it = flows_.emplace(c.id, std::move(state)).first;
  }
  FlowState& s = *it->second;
  const int dir = p.src_is_a ? 0 : 1;
  const bool from_client = dir == c.initiator;

  if (!s.probed) {
    // Port-hinted dissectors first, then the rest, each only if the bytes
    // could be theirs.
    std::vector<const Dissector*> order;
    for (const auto& d : dissectors_) {
      if (d->PortHint(s.flow)) order.push_back(d.get());
    }
    for (const auto& d : dissectors_) {
      if (!d->PortHint(s.flow)) order.push_back(d.get());
    }
    for (const Dissector* d : order) {
      if (d->Probe(s.flow, from_client, payload)) s.sessions.push_back(d->NewSession(s.flow));
    }
    s.probed = !s.sessions.empty();
  }

  const AppProtocol before = s.record.protocol;
  const std::string before_label = c.app ? c.app->Label() : std::string();
  bool done = false;
  auto feed = [&](std::span<const uint8_t> bytes) {
    s.fed += bytes.size();
    for (size_t i = 0; i < s.sessions.size() && !done;) {
      const ParseState st = s.sessions[i]->Feed(from_client, bytes, &s.record, &anomalies_);
      if (st == ParseState::kNotMine) {
        s.sessions.erase(s.sessions.begin() + static_cast<ptrdiff_t>(i));
        // Whatever it wrote is not to be trusted.
        if (s.record.protocol != AppProtocol::kUnknown && s.sessions.empty()) s.record = {};
        continue;
      }
      if (st == ParseState::kDone) {
        done = true;
        break;
      }
      ++i;
    }
  };
  if (!s.sessions.empty()) {
    if (c.key.protocol == kIpProtoTcp) {
      if (!s.stream[dir].Add(p.seq + ((p.tcp_flags & kTcpSyn) ? 1u : 0u), payload, feed)) {
        CountAnomaly(&anomalies_, "dpi_out_of_order_overflow");
        done = true;
      }
    } else {
      feed(payload);
    }
  }
  ++s.packets;

  // Account state memory.
  size_t bytes = sizeof(FlowState) + s.stream[0].pending_bytes + s.stream[1].pending_bytes;
  for (const auto& session : s.sessions) bytes += session->MemoryUsage();
  stats_.state_bytes += bytes;
  stats_.state_bytes -= std::min<uint64_t>(stats_.state_bytes, s.counted_bytes);
  s.counted_bytes = bytes;

  bool changed = false;
  if (s.record.protocol != AppProtocol::kUnknown &&
      (before == AppProtocol::kUnknown || done || s.record.Label() != before_label)) {
    c.app = std::make_shared<const AppRecord>(s.record);
    changed = true;
  }
  const bool exhausted = s.packets >= kMaxPayloadPackets || s.fed >= kMaxFedBytes ||
                         (s.probed && s.sessions.empty());
  if (done || exhausted) {
    if (!done && s.record.protocol != AppProtocol::kUnknown && !changed) {
      c.app = std::make_shared<const AppRecord>(s.record);
      changed = true;
    }
    Finish(c, s, s.record.protocol != AppProtocol::kUnknown);
  }
  return changed;
}

}  // namespace rustnet
