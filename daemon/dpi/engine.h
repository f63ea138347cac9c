// DpiEngine: runs the dissector registry over one worker's connections.
//
// The engine does not know the tracker's Connection. It sees a flow through
// a narrow view (as Envoy's listener filters see a connection through their
// callbacks): a DpiFlow says who the flow is and where this packet's bytes
// sit, and a DpiCallbacks takes the results back: the published AppRecord,
// and "done" when the engine wants no more of the flow. Its working state is
// its own, indexed by the flow's id.
//
// State is kept only while it is needed, and small:
//  * A flow with no payload yet, or whose payload no dissector recognised
//    so far, has no state here at all: it is probed again on its next
//    payload packet, up to kMaxPayloadPackets (DpiFlow::payload_packets,
//    which the caller counts).
//  * Once a dissector claims the payload, a FlowState holds the candidate
//    sessions, the TCP stream position per direction (out-of-order bytes
//    only while there is a gap) and the bytes fed. Facts found go straight
//    into the flow's published AppRecord (the state keeps no copy), so a
//    flow waiting for its answer costs its sessions plus ~80 bytes.
//  * Classification, giving up (kMaxPayloadPackets payload packets or
//    kMaxFedBytes bytes) and the flow leaving the caller's table (Forget)
//    free the state; the flow is then reported done, so the caller's
//    per-packet cost after classification is its own flag test.
//
// Memory is bounded per flow (out-of-order bytes <= 2 x kMaxOutOfOrderBytes,
// each dissector bounds its own buffers) and in total: the state of all
// pending flows is capped (max_state_bytes, per engine), whether it is new
// or grows. Past the cap the state fed least recently is dropped to make
// room (that flow is then not inspected further; counted in
// skipped_state_cap, and reported done at its next payload packet): a flood
// of flows that never finish (unanswered queries, scans) cannot keep new
// connections from being inspected.
//
// Equal published records are shared between flows (DNS lookups of the same
// name, a client's repeated TLS connections to one host) through a bounded
// table of weak references.
//
// Thread-safety: one engine per worker thread; not shared. Published
// records are immutable and may be read anywhere.
#ifndef RUSTNET_DAEMON_DPI_ENGINE_H_
#define RUSTNET_DAEMON_DPI_ENGINE_H_

#include <cstddef>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "daemon/dpi/dissector.h"
#include "daemon/record/app_record.h"
#include "daemon/record/dpi_stats.h"

namespace rustnet {

// All dissectors, in the order they are tried when no port hints.
// `with_breadth` false leaves out the ones issue 19 part B added (for the
// benchmark that measures their cost).
std::vector<std::unique_ptr<Dissector>> MakeDefaultDissectors(bool with_breadth = true);

// One packet of a flow, as the engine needs to see it.
struct DpiFlow {
  // Names the flow: unique among the flows one engine sees over its life
  // (the tracker's Connection::id). The engine's state is keyed by it.
  uint64_t id = 0;
  uint8_t transport = 0;     // kIpProtoTcp or kIpProtoUdp; others are not inspected.
  uint16_t client_port = 0;  // The initiator's port.
  uint16_t server_port = 0;
  uint8_t direction = 0;     // Of this packet: 0 is A->B of the flow key, 1 is B->A.
  bool from_client = false;  // This packet was sent by the initiator.
  // TCP: the sequence number of the payload's first byte (a SYN's own
  // sequence number skipped).
  uint32_t stream_seq = 0;
  // Packets with payload the flow has carried, this one included
  // (saturating; any count from kMaxPayloadPackets up means "that many").
  uint32_t payload_packets = 0;
  IpAddress client_address{};  // The initiator's address.
  IpAddress server_address{};
  int64_t timestamp_us = 0;  // The packet's.
};

// Where the engine hands back what it found (Envoy's
// ListenerFilterCallbacks). The caller implements it over its own record
// of the flow.
class DpiCallbacks {
 public:
  virtual ~DpiCallbacks() = default;
  // What was published for the flow so far; null if nothing.
  virtual const AppRecord* app() const = 0;
  // Publishes a new record for the flow (immutable; may be shared between
  // flows). Called only with a record that names a protocol and differs
  // from app().
  virtual void SetApp(std::shared_ptr<const AppRecord> record) = 0;
  // The engine is done with the flow (classified it, gave up, or will not
  // inspect it) and holds no state for it: Process must not be called for
  // it again. Called at most once per flow.
  virtual void Done() = 0;
};

class DpiEngine {
 public:
  static constexpr int kMaxPayloadPackets = 24;
  static constexpr size_t kMaxFedBytes = 128 * 1024;
  static constexpr size_t kMaxOutOfOrderBytes = 64 * 1024;
  // At ~100-200 bytes for a typical pending connection (a DNS query waiting
  // for its answer, a TLS ClientHello for its ServerHello), room for
  // several hundred thousand at once.
  static constexpr size_t kDefaultMaxStateBytes = 64 << 20;
  // Published records remembered for sharing (weak references; each entry
  // ~40 bytes, and a record no connection holds any more is not kept).
  static constexpr size_t kMaxSharedRecords = 1 << 16;

  explicit DpiEngine(size_t max_state_bytes = kDefaultMaxStateBytes, bool with_breadth = true);
  // With these dissectors instead of the default ones (benchmarks, tests).
  DpiEngine(size_t max_state_bytes, std::vector<std::unique_ptr<Dissector>> dissectors);
  ~DpiEngine();
  DpiEngine(const DpiEngine&) = delete;
  DpiEngine& operator=(const DpiEngine&) = delete;

  // Inspects one packet of `flow` (not reported done yet). `payload` is the
  // transport payload as captured; empty payloads are ignored.
  void Process(const DpiFlow& flow, std::span<const uint8_t> payload, DpiCallbacks& out);
  // The flow `id` is gone (the caller's table removed it): frees its state,
  // if any. Harmless for flows the engine holds nothing for.
  void Forget(uint64_t id);

  // FTP data connections are announced on one connection and opened on
  // another, which may be another worker's: the pipeline gives all its
  // engines one table. (Each engine has its own until then.)
  void ShareFtpExpectations(std::shared_ptr<FtpExpectations> table);

  const DpiAnomalies& anomalies() const { return anomalies_; }
  DpiStats stats() const;

 private:
  struct FlowState;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // What an entry of slot_of_ costs, roughly (the pair and its control byte).
  static constexpr size_t kIndexEntryBytes = sizeof(std::pair<const uint64_t, uint32_t>) + 1;

  enum class StartResult : uint8_t { kStarted, kUnclaimed, kNoRoom };
  // Probes the payload; if a dissector claims it, makes room under the cap
  // and makes state for the flow in *slot.
  StartResult Start(const DpiFlow& flow, std::span<const uint8_t> payload, uint32_t* slot);
  void Free(uint32_t slot);
  // A new connection an FTP control connection announced: classified as
  // FTP data of it at once. False if none was announced.
  bool ClaimFtpData(const DpiFlow& flow, DpiCallbacks& out);
  // Frees a pending state to stay under the cap (its flow learns of it on
  // its next payload packet).
  void DropForCap(uint32_t slot);
  void Account(FlowState& s);
  // Frees the flow's state (slot may be kNoSlot), counts, reports done.
  void Finish(uint32_t slot, bool classified, DpiCallbacks& out);
  // Publishes `record` if it names a protocol and differs from out.app().
  void Publish(const AppRecord& record, DpiCallbacks& out);
  std::shared_ptr<const AppRecord> Share(const AppRecord& record);
  // Pending-state list, least recently fed first.
  void Unlink(uint32_t slot);
  void PushBack(uint32_t slot);

  std::vector<std::unique_ptr<Dissector>> dissectors_;
  // Per transport (0 TCP, 1 UDP) and first payload byte: the dissectors
  // that may claim it (Dissector::MayStartWith), in registry order.
  std::array<std::array<std::vector<const Dissector*>, 256>, 2> candidates_;
  std::vector<std::unique_ptr<FlowState>> slots_;
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<uint64_t, uint32_t> slot_of_;  // Flow id -> its pending state.
  // Flows whose state was dropped at the cap, until their next payload
  // packet or Forget (a stream missing bytes cannot be picked up again).
  // At most one entry per flow the caller still tracks.
  absl::flat_hash_set<uint64_t> dropped_;
  uint32_t head_ = kNoSlot;
  uint32_t tail_ = kNoSlot;
  absl::flat_hash_map<size_t, std::weak_ptr<const AppRecord>> shared_;  // By record hash.
  std::shared_ptr<FtpExpectations> ftp_expectations_;
  DpiContext context_;  // What sessions see of the engine (FlowInfo::context).
  AppRecord scratch_;  // The record being worked on (kept for its capacity).
  DpiAnomalies anomalies_;
  DpiStats stats_;
  size_t max_state_bytes_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_ENGINE_H_
