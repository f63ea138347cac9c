// DpiEngine: runs the dissector registry over one worker's connections.
//
// Per connection it keeps a small state (candidate sessions, TCP stream
// reassembly per direction) only until the application is classified or the
// engine gives up (kMaxPayloadPackets payload packets or kMaxFedBytes
// bytes); then the state is freed and the connection is marked done, so the
// per-packet cost after classification is one flag test. Reassembly buffers
// are capped per connection and the engine's total state is capped
// (max_state_bytes): past it, new connections are not inspected (counted).
//
// Thread-safety: one engine per worker thread; not shared.
#ifndef RUSTNET_DAEMON_DPI_ENGINE_H_
#define RUSTNET_DAEMON_DPI_ENGINE_H_

#include <cstdint>
#include <map>
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
  uint64_t skipped_state_cap = 0;  // Not inspected: engine state at its cap.
  uint64_t active = 0;             // Connections being inspected now.
  uint64_t state_bytes = 0;        // Approximate.
};

class DpiEngine {
 public:
  static constexpr int kMaxPayloadPackets = 24;
  static constexpr size_t kMaxFedBytes = 128 * 1024;
  static constexpr size_t kMaxOutOfOrderBytes = 64 * 1024;

  explicit DpiEngine(size_t max_state_bytes = 64 << 20);
  ~DpiEngine();
  DpiEngine(const DpiEngine&) = delete;
  DpiEngine& operator=(const DpiEngine&) = delete;

  // Inspects one packet of `c` (which must not be dpi_done). `payload` is
  // the transport payload as captured. Returns true if c.app changed.
  bool Process(Connection& c, const DecodedPacket& p, std::span<const uint8_t> payload);
  // The connection left the table.
  void Forget(const Connection& c);

  const DpiAnomalies& anomalies() const { return anomalies_; }
  DpiStats stats() const;

 private:
  struct FlowState;
  void Finish(Connection& c, FlowState& s, bool classified);

  std::vector<std::unique_ptr<Dissector>> dissectors_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<FlowState>> flows_;
  DpiAnomalies anomalies_;
  DpiStats stats_;
  size_t max_state_bytes_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_ENGINE_H_
