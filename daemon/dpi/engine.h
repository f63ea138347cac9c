// DpiEngine: runs the dissector registry over one worker's connections.
//
// State is kept only while it is needed, and small:
//  * A connection with no payload yet, or whose payload no dissector
//    recognised so far, has no state here at all: it is probed again on its
//    next payload packet (Connection::dpi_packets counts them), up to
//    kMaxPayloadPackets.
//  * Once a dissector claims the payload, a FlowState holds the candidate
//    sessions, the TCP stream position per direction (out-of-order bytes
//    only while there is a gap) and the bytes fed. Facts found go straight
//    into the connection's published AppRecord (the state keeps no copy),
//    so a flow waiting for its answer costs its sessions plus ~64 bytes.
//    Connection::dpi_state is its slot here.
//  * Classification, giving up (kMaxPayloadPackets payload packets or
//    kMaxFedBytes bytes) and the connection leaving the table (Forget)
//    free the state; the connection is then marked done, so the per-packet
//    cost after classification is one flag test.
//
// Memory is bounded per connection (out-of-order bytes <= 2 x
// kMaxOutOfOrderBytes, each dissector bounds its own buffers) and in total:
// the state of all pending connections is capped (max_state_bytes, per
// engine), whether it is new or grows. Past the cap the state fed least
// recently is dropped to make room (that connection is then not inspected
// further; counted in skipped_state_cap): a flood of flows that never
// finish (unanswered queries, scans) cannot keep new connections from being
// inspected.
//
// Equal published records are shared between connections (DNS lookups of
// the same name, a client's repeated TLS connections to one host) through a
// bounded table of weak references.
//
// Thread-safety: one engine per worker thread; not shared. Published
// records are immutable and may be read anywhere.
#ifndef RUSTNET_DAEMON_DPI_ENGINE_H_
#define RUSTNET_DAEMON_DPI_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "daemon/decode/decoder.h"
#include "daemon/dpi/dissector.h"
#include "daemon/track/connection.h"

namespace rustnet {

// All dissectors, in the order they are tried when no port hints.
std::vector<std::unique_ptr<Dissector>> MakeDefaultDissectors();

struct DpiStats {
  uint64_t classified = 0;
  uint64_t gave_up = 0;
  // Connections not inspected, or no longer, because of the state cap.
  uint64_t skipped_state_cap = 0;
  uint64_t active = 0;       // Connections with pending state now.
  uint64_t state_bytes = 0;  // Approximate bytes of that state.
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

  explicit DpiEngine(size_t max_state_bytes = kDefaultMaxStateBytes);
  ~DpiEngine();
  DpiEngine(const DpiEngine&) = delete;
  DpiEngine& operator=(const DpiEngine&) = delete;

  // Inspects one packet of `c` (which must not be dpi_done). `payload` is
  // the transport payload as captured. Returns true if c.app changed.
  bool Process(Connection& c, const DecodedPacket& p, std::span<const uint8_t> payload);
  // The connection left the table: frees its state, if any.
  void Forget(const Connection& c);

  const DpiAnomalies& anomalies() const { return anomalies_; }
  DpiStats stats() const;

 private:
  struct FlowState;

  // The state of `c`, or null if it has none (or it was dropped at the cap).
  FlowState* StateOf(const Connection& c);
  // Probes the payload; if a dissector claims it, makes room under the cap
  // and returns new state for `c` (null if none claims it or there is no
  // room, in which case c.dpi_done is set).
  FlowState* Start(Connection& c, bool from_client, std::span<const uint8_t> payload);
  void Free(uint32_t slot);
  // Frees a pending state to stay under the cap (its connection learns of it
  // on its next payload packet).
  void DropForCap(uint32_t slot);
  void Account(FlowState& s);
  void Finish(Connection& c, bool classified);
  // Publishes `record` as c.app if it names a protocol and differs.
  bool Publish(Connection& c, const AppRecord& record);
  std::shared_ptr<const AppRecord> Share(const AppRecord& record);
  // Pending-state list, least recently fed first.
  void Unlink(uint32_t slot);
  void PushBack(uint32_t slot);

  std::vector<std::unique_ptr<Dissector>> dissectors_;
  std::vector<std::unique_ptr<FlowState>> slots_;  // By Connection::dpi_state.
  std::vector<uint32_t> free_slots_;
  uint32_t head_ = kNoIndex;
  uint32_t tail_ = kNoIndex;
  absl::flat_hash_map<size_t, std::weak_ptr<const AppRecord>> shared_;  // By record hash.
  AppRecord scratch_;  // The record being worked on (kept for its capacity).
  DpiAnomalies anomalies_;
  DpiStats stats_;
  size_t max_state_bytes_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_ENGINE_H_
