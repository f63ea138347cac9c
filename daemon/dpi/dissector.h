// The dissector interface: one per application protocol, all alike (as
// Zeek's analyzers and Envoy's listener filters).
//
// A Dissector is a stateless factory registered once. For each connection
// still unclassified, the engine asks every dissector to Probe() the first
// payload; candidates get a Session, which is fed payload per direction —
// TCP as in-order stream bytes (the engine reassembles), UDP as whole
// datagrams — and answers kNeedMore, kDone or kNotMine (Envoy's ParseState).
// Partial input is normal: a Session must accept any split of its input.
// Malformed input is counted in `anomalies` by name (a DpiAnomaly each
// protocol declares in its header), never logged.
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

#include "common/flow_key.h"
#include "daemon/record/app_record.h"
#include "daemon/record/dpi_stats.h"

namespace rustnet {

enum class ParseState : uint8_t {
  kNeedMore,  // Keep feeding.
  kDone,      // Everything this dissector wants is in the record.
  kNotMine,   // This is not the protocol; try another.
};

// DpiAnomalies, the named counters ("tls_handshake_too_long": 3) per
// worker, is declared with the statistics in daemon/record/dpi_stats.h.

class FtpExpectations;

// What a session may use beyond its bytes, owned by the engine (null in
// tests that do not need it).
struct DpiContext {
  // FTP data connections announced by control connections (ftp.h).
  FtpExpectations* ftp_expectations = nullptr;
  int64_t now_us = 0;  // The current packet's time.
};

struct FlowInfo {
  uint8_t transport = 0;        // kIpProtoTcp / kIpProtoUdp.
  uint16_t client_port = 0;     // The initiator's port.
  uint16_t server_port = 0;
  uint64_t id = 0;              // The engine's flow id (DpiFlow::id).
  IpAddress client_address{};   // The initiator's address.
  IpAddress server_address{};
  const DpiContext* context = nullptr;
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
  // False if no first payload of this protocol over `transport` can start
  // with `first_byte`: the engine then skips Probe() (asked once per byte
  // value when the engine is built, not per packet).
  virtual bool MayStartWith(uint8_t /*transport*/, uint8_t /*first_byte*/) const { return true; }
  virtual std::unique_ptr<Session> NewSession(const FlowInfo& flow) const = 0;
};

// A named DPI anomaly counter ("tls_handshake_too_long"). Each protocol
// declares its anomalies once, in its header, with
// RUSTNET_DECLARE_DPI_ANOMALIES (as Envoy declares a filter's stats with
// ALL_..._STATS(COUNTER)); CountAnomaly takes nothing else, so a misspelt
// name is a compile error instead of a new counter. The names are what
// GetStats' `anomalies` shows: keep them stable.
class DpiAnomaly {
 public:
  constexpr std::string_view name() const { return name_; }
  friend constexpr bool operator==(DpiAnomaly a, DpiAnomaly b) { return a.name_ == b.name_; }

 private:
  friend struct DpiAnomalyDeclaration;
  constexpr explicit DpiAnomaly(std::string_view name) : name_(name) {}
  std::string_view name_;
};

// Only for RUSTNET_DECLARE_DPI_ANOMALIES. A name must be non-empty
// lowercase letters, digits and '_' (checked at compile time).
struct DpiAnomalyDeclaration {
  static void NameMustBeLowercaseLettersDigitsAndUnderscores() {}  // Not constexpr.
  static consteval DpiAnomaly Declare(std::string_view name) {
    bool ok = !name.empty();
    for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    // Calling a function that is not constexpr makes a bad name a compile error.
    if (!ok) NameMustBeLowercaseLettersDigitsAndUnderscores();
    return DpiAnomaly(name);
  }
};

// Declares namespace `ns` with one `inline constexpr DpiAnomaly` per entry
// X(kConstant, "name") of the X-macro `list`, and ns::kAll holding them all
// (tests check that names are unique across protocols). See tls.h.
#define RUSTNET_DECLARE_DPI_ANOMALIES(ns, list)                          \
  namespace ns {                                                         \
  list(RUSTNET_DPI_ANOMALY_CONSTANT_)                                    \
  inline constexpr DpiAnomaly kAll[] = {list(RUSTNET_DPI_ANOMALY_ENTRY_)}; \
  }
#define RUSTNET_DPI_ANOMALY_CONSTANT_(constant, name) \
  inline constexpr DpiAnomaly constant = DpiAnomalyDeclaration::Declare(name);
#define RUSTNET_DPI_ANOMALY_ENTRY_(constant, name) constant,

// The engine's own (daemon/dpi/engine.cc).
#define RUSTNET_DPI_ENGINE_ANOMALIES(X) \
  X(kOutOfOrderOverflow, "dpi_out_of_order_overflow")
RUSTNET_DECLARE_DPI_ANOMALIES(dpi_anomaly, RUSTNET_DPI_ENGINE_ANOMALIES)

// Bumps a named anomaly counter (no allocation once the name was counted).
inline void CountAnomaly(DpiAnomalies* a, DpiAnomaly anomaly) {
  if (a == nullptr) return;
  auto it = a->find(anomaly.name());
  if (it == a->end()) {
    a->emplace(std::string(anomaly.name()), 1);
  } else {
    ++it->second;
  }
}

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_DISSECTOR_H_
