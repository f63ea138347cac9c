#include "daemon/dpi/engine.h"

#include <algorithm>
#include <map>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "common/flow_key.h"
#include "daemon/decode/tcp_seq.h"
#include "daemon/dpi/db.h"
#include "daemon/dpi/dns.h"
#include "daemon/dpi/ftp.h"
#include "daemon/dpi/http.h"
#include "daemon/dpi/lan.h"
#include "daemon/dpi/mail.h"
#include "daemon/dpi/iot.h"
#include "daemon/dpi/netmgmt.h"
#include "daemon/dpi/p2p.h"
#include "daemon/dpi/quic.h"
#include "daemon/dpi/remote.h"
#include "daemon/dpi/simple_udp.h"
#include "daemon/dpi/ssh.h"
#include "daemon/dpi/text_services.h"
#include "daemon/dpi/tls.h"
#include "daemon/dpi/vpn.h"

namespace rustnet {

std::vector<std::unique_ptr<Dissector>> MakeDefaultDissectors(bool with_breadth) {
  std::vector<std::unique_ptr<Dissector>> d;
  d.push_back(MakeTlsDissector());
  d.push_back(MakeHttpDissector());
  d.push_back(MakeSshDissector());
  d.push_back(MakeQuicDissector());
  d.push_back(MakeDnsDissector());
  d.push_back(MakeDhcpDissector());
  d.push_back(MakeStunDissector());
  d.push_back(MakeNtpDissector());
  // Mail, FTP, databases, remote access, Windows/LAN (issue 19 part A).
  // Server-first text protocols lead: their probes are a byte or two.
  d.push_back(MakeSmtpDissector());
  d.push_back(MakeFtpDissector());
  d.push_back(MakeImapDissector());
  d.push_back(MakePop3Dissector());
  d.push_back(MakePostgresqlDissector());
  d.push_back(MakeMysqlDissector());
  d.push_back(MakeRedisDissector());
  d.push_back(MakeMemcachedDissector());
  d.push_back(MakeMongodbDissector());
  d.push_back(MakeRdpDissector());
  d.push_back(MakeVncDissector());
  d.push_back(MakeTelnetDissector());
  d.push_back(MakeSmbDissector());
  d.push_back(MakeNetbiosNsDissector());
  d.push_back(MakeNetbiosDgmDissector());
  d.push_back(MakeSsdpDissector());
  d.push_back(MakeKerberosDissector());
  // Issue 19 part B: IoT/messaging, P2P/VPN, management, signalling. Each
  // rejects a foreign first payload in a few byte compares.
  if (with_breadth) {
    d.push_back(MakeMqttDissector());
    d.push_back(MakeAmqpDissector());
    d.push_back(MakeNatsDissector());
    d.push_back(MakeModbusDissector());
    d.push_back(MakeCoapDissector());
    d.push_back(MakeBittorrentDissector());
    d.push_back(MakeBittorrentUdpDissector());
    d.push_back(MakeOpenvpnDissector());
    d.push_back(MakeWireguardDissector());
    d.push_back(MakeIkeDissector());
    d.push_back(MakeDtlsDissector());
    d.push_back(MakeSyslogDissector());
    d.push_back(MakeTftpDissector());
    d.push_back(MakeSnmpDissector());
    d.push_back(MakeLdapDissector());
    d.push_back(MakeSipDissector());
    d.push_back(MakeRtspDissector());
    d.push_back(MakeIrcDissector());
    d.push_back(MakeNntpDissector());
    d.push_back(MakeRsyncDissector());
    d.push_back(MakeGitDissector());
    d.push_back(MakeSocksDissector());
    d.push_back(MakeHttp2Dissector());
  }
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

// One flow's pending inspection. Exists only while at least one dissector
// still claims the flow.
struct DpiEngine::FlowState {
  uint64_t owner = 0;  // DpiFlow::id (its entry in slot_of_).
  uint32_t prev = kNoSlot;  // Pending list links (slots).
  uint32_t next = kNoSlot;
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

DpiEngine::DpiEngine(size_t max_state_bytes, bool with_breadth)
    : DpiEngine(max_state_bytes, MakeDefaultDissectors(with_breadth)) {}
DpiEngine::DpiEngine(size_t max_state_bytes, std::vector<std::unique_ptr<Dissector>> dissectors)
    : dissectors_(std::move(dissectors)),
      ftp_expectations_(std::make_shared<FtpExpectations>()),
      max_state_bytes_(max_state_bytes) {
  context_.ftp_expectations = ftp_expectations_.get();
  for (size_t t = 0; t < 2; ++t) {
    const uint8_t transport = t == 0 ? kIpProtoTcp : kIpProtoUdp;
    for (size_t b = 0; b < 256; ++b) {
      for (const auto& d : dissectors_) {
        if (d->MayStartWith(transport, static_cast<uint8_t>(b))) {
          candidates_[t][b].push_back(d.get());
        }
      }
    }
  }
}

void DpiEngine::ShareFtpExpectations(std::shared_ptr<FtpExpectations> table) {
  ftp_expectations_ = std::move(table);
  context_.ftp_expectations = ftp_expectations_.get();
}

bool DpiEngine::ClaimFtpData(const DpiFlow& flow, DpiCallbacks& out) {
  if (flow.transport != kIpProtoTcp || ftp_expectations_->empty()) return false;
  const uint64_t control =
      ftp_expectations_->Claim(flow.server_address, flow.server_port, flow.timestamp_us);
  if (control == 0) return false;
  scratch_ = EmptyRecord();
  scratch_.protocol = AppProtocol::kFtpData;
  scratch_.ftp->control_id = control;
  Publish(scratch_, out);
  Finish(kNoSlot, true, out);
  return true;
}

DpiEngine::~DpiEngine() = default;

DpiStats DpiEngine::stats() const {
  DpiStats s = stats_;
  s.active = slots_.size() - free_slots_.size();
  return s;
}

void DpiEngine::Unlink(uint32_t slot) {
  FlowState& s = *slots_[slot];
  if (s.prev != kNoSlot) {
    slots_[s.prev]->next = s.next;
  } else {
    head_ = s.next;
  }
  if (s.next != kNoSlot) {
    slots_[s.next]->prev = s.prev;
  } else {
    tail_ = s.prev;
  }
  s.prev = s.next = kNoSlot;
}

void DpiEngine::PushBack(uint32_t slot) {
  FlowState& s = *slots_[slot];
  s.prev = tail_;
  s.next = kNoSlot;
  if (tail_ != kNoSlot) {
    slots_[tail_]->next = slot;
  } else {
    head_ = slot;
  }
  tail_ = slot;
}

void DpiEngine::Free(uint32_t slot) {
  Unlink(slot);
  slot_of_.erase(slots_[slot]->owner);
  stats_.state_bytes -= std::min<uint64_t>(stats_.state_bytes, slots_[slot]->counted_bytes);
  slots_[slot].reset();
  free_slots_.push_back(slot);
}

void DpiEngine::DropForCap(uint32_t slot) {
  ++stats_.skipped_state_cap;
  dropped_.insert(slots_[slot]->owner);
  Free(slot);
}

void DpiEngine::Account(FlowState& s) {
  size_t bytes = sizeof(FlowState) + kIndexEntryBytes;
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

void DpiEngine::Forget(uint64_t id) {
  if (auto it = slot_of_.find(id); it != slot_of_.end()) Free(it->second);
  if (!dropped_.empty()) dropped_.erase(id);
}

void DpiEngine::Finish(uint32_t slot, bool classified, DpiCallbacks& out) {
  if (slot != kNoSlot) Free(slot);
  out.Done();
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

void DpiEngine::Publish(const AppRecord& record, DpiCallbacks& out) {
  if (record.protocol == AppProtocol::kUnknown) return;
  if (const AppRecord* now = out.app(); now != nullptr && *now == record) return;
  out.SetApp(Share(record));
}

DpiEngine::StartResult DpiEngine::Start(const DpiFlow& flow, std::span<const uint8_t> payload,
                                        uint32_t* slot_out) {
  FlowInfo info;
  info.transport = flow.transport;
  info.client_port = flow.client_port;
  info.server_port = flow.server_port;
  info.id = flow.id;
  info.client_address = flow.client_address;
  info.server_address = flow.server_address;
  info.context = &context_;
  // Port-hinted dissectors first, then the rest, each only if the bytes
  // could be theirs.
  // Only those that may start with this first byte (payload is not empty).
  const auto& candidates = candidates_[info.transport == kIpProtoTcp ? 0 : 1][payload[0]];
  absl::InlinedVector<const Dissector*, 4> claimed;
  for (const bool hinted : {true, false}) {
    for (const Dissector* d : candidates) {
      if (d->PortHint(info) == hinted && d->Probe(info, flow.from_client, payload)) {
        claimed.push_back(d);
      }
    }
  }
  if (claimed.empty()) return StartResult::kUnclaimed;

  // Make room: the state fed least recently goes first.
  const size_t need = sizeof(FlowState) + kIndexEntryBytes + claimed.size() * kSessionObjectBytes +
                      (info.transport == kIpProtoTcp ? sizeof(TcpStreams) : 0);
  while (stats_.state_bytes + need > max_state_bytes_ && head_ != kNoSlot) DropForCap(head_);
  if (stats_.state_bytes + need > max_state_bytes_) {
    ++stats_.skipped_state_cap;
    return StartResult::kNoRoom;
  }

  auto state = std::make_unique<FlowState>();
  state->owner = flow.id;
  for (const Dissector* d : claimed) state->sessions.push_back(d->NewSession(info));
  if (info.transport == kIpProtoTcp) state->tcp = std::make_unique<TcpStreams>();
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot] = std::move(state);
  slot_of_[flow.id] = slot;
  PushBack(slot);
  Account(*slots_[slot]);
  *slot_out = slot;
  return StartResult::kStarted;
}

void DpiEngine::Process(const DpiFlow& flow, std::span<const uint8_t> payload,
                        DpiCallbacks& out) {
  if (flow.transport != kIpProtoTcp && flow.transport != kIpProtoUdp) {
    out.Done();
    return;
  }
  if (payload.empty()) return;
  context_.now_us = flow.timestamp_us;

  uint32_t slot = kNoSlot;
  if (auto it = slot_of_.find(flow.id); it != slot_of_.end()) {
    slot = it->second;
    Unlink(slot);
    PushBack(slot);
  } else if (!dropped_.empty() && dropped_.erase(flow.id) > 0) {
    // Its state was dropped at the cap (counted then): a stream missing
    // bytes cannot be picked up again.
    out.Done();
    return;
  } else if (ClaimFtpData(flow, out)) {
    return;
  } else {
    switch (Start(flow, payload, &slot)) {
      case StartResult::kStarted:
        break;
      case StartResult::kNoRoom:
        out.Done();
        return;
      case StartResult::kUnclaimed:
        // No dissector recognised this payload: try the next one, up to the limit.
        if (flow.payload_packets >= kMaxPayloadPackets) Finish(kNoSlot, false, out);
        return;
    }
  }
  FlowState* s = slots_[slot].get();

  // The facts so far: the published record, or those not publishable yet.
  if (s->unpublished) {
    scratch_ = *s->unpublished;
  } else if (const AppRecord* published = out.app()) {
    scratch_ = *published;
  } else {
    scratch_ = EmptyRecord();
  }
  AppRecord& record = scratch_;
  bool done = false;
  auto feed = [&](std::span<const uint8_t> bytes) {
    s->fed += static_cast<uint32_t>(std::min<size_t>(bytes.size(), UINT32_MAX - s->fed));
    for (size_t i = 0; i < s->sessions.size() && !done;) {
      const ParseState st =
          s->sessions[i]->Feed(flow.from_client, bytes, &record, &anomalies_);
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
  if (flow.transport == kIpProtoTcp) {
    if (!s->tcp->dir[flow.direction & 1].Add(flow.stream_seq, payload, feed)) {
      CountAnomaly(&anomalies_, dpi_anomaly::kOutOfOrderOverflow);
      done = true;
    }
  } else {
    feed(payload);
  }

  RelabelImplicitTls(flow.server_port, &record);
  RelabelLlmnr(flow.transport, flow.client_port, flow.server_port, &record);
  Publish(record, out);
  const bool exhausted = flow.payload_packets >= kMaxPayloadPackets || s->fed >= kMaxFedBytes ||
                         s->sessions.empty();
  if (done || exhausted) {
    Finish(slot, record.protocol != AppProtocol::kUnknown, out);
    return;
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
  while (stats_.state_bytes > max_state_bytes_ && head_ != slot) DropForCap(head_);
  if (stats_.state_bytes > max_state_bytes_) {
    ++stats_.skipped_state_cap;
    Free(slot);
    out.Done();
  }
}

}  // namespace rustnet
