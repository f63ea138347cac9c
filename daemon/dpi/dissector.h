// The dissector interface: one per application protocol, all alike (as
// Zeek's analyzers and Envoy's listener filters).
//
// A Dissector is a stateless factory registered once. For each connection
// still unclassified, the engine asks every dissector to Probe() the first
// payload; candidates get a Session, which is fed payload per direction —
// TCP as in-order stream bytes (the engine reassembles), UDP as whole
// datagrams — and answers kNeedMore, kDone or kNotMine (Envoy's ParseState).
// Partial input is normal: a Session must accept any split of its input.
// Malformed input is counted in `anomalies` by name, never logged.
//
// Thread-safety: Dissectors are shared, immutable; Sessions belong to one
// worker.
#ifndef RUSTNET_DAEMON_DPI_DISSECTOR_H_
#define RUSTNET_DAEMON_DPI_DISSECTOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "daemon/dpi/app_record.h"

namespace rustnet {

enum class ParseState : uint8_t {
  kNeedMore,  // Keep feeding.
  kDone,      // Everything this dissector wants is in the record.
  kNotMine,   // This is not the protocol; try another.
};

// Named DPI anomaly counters ("tls_handshake_too_long": 3), per worker.
using DpiAnomalies = std::map<std::string, uint64_t, std::less<>>;

struct FlowInfo {
  uint8_t transport = 0;        // kIpProtoTcp / kIpProtoUdp.
  uint16_t client_port = 0;     // The initiator's port.
  uint16_t server_port = 0;
};

class Session {
 public:
  virtual ~Session() = default;
  // `from_client`: direction of the bytes (the initiator is the client).
  // `record` is the connection's working copy; set fields as found.
  virtual ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                          DpiAnomalies* anomalies) = 0;
  // Approximate heap bytes held (for the engine's global cap).
  virtual size_t MemoryUsage() const { return 0; }
};

class Dissector {
 public:
  virtual ~Dissector() = default;
  virtual std::string_view name() const = 0;
  // Cheap check of a flow's first payload (from either side). True if the
  // bytes could be this protocol.
  virtual bool Probe(const FlowInfo& flow, bool from_client,
                     std::span<const uint8_t> data) const = 0;
  // True if `flow`'s ports suggest this protocol (tried first).
  virtual bool PortHint(const FlowInfo& flow) const = 0;
  virtual std::unique_ptr<Session> NewSession(const FlowInfo& flow) const = 0;
};

// Bumps a named anomaly counter.
inline void CountAnomaly(DpiAnomalies* a, std::string_view name) {
  if (a == nullptr) return;
  auto it = a->find(name);
  if (it == a->end()) {
    a->emplace(std::string(name), 1);
  } else {
    ++it->second;
  }
}

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_DISSECTOR_H_
