// DpiStats: a DPI engine's counters, as workers publish them in snapshots and
// the API reports them. Here, below the stages, so that readers of
// snapshots need not depend on the engine.
//
// Thread-safety: plain values.
#ifndef RUSTNET_DAEMON_RECORD_DPI_STATS_H_
#define RUSTNET_DAEMON_RECORD_DPI_STATS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace rustnet {

struct DpiStats {
  uint64_t classified = 0;
  uint64_t gave_up = 0;
  // Connections not inspected, or no longer, because of the state cap.
  uint64_t skipped_state_cap = 0;
  uint64_t active = 0;       // Connections with pending state now.
  uint64_t state_bytes = 0;  // Approximate bytes of that state.
};

// Named DPI anomaly counters ("tls_handshake_too_long": 3), per worker.
// (daemon/dpi/dissector.h declares the same alias for the dissectors.)
using DpiAnomalies = std::map<std::string, uint64_t, std::less<>>;

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RECORD_DPI_STATS_H_
