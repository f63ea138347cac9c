// FTP (RFC 959, RFC 2428 EPSV/EPRT, RFC 4217 AUTH TLS): the control
// connection, recognised by its 220 greeting and commands on any port, and
// the data connections it announces.
//
// Kept: the greeting, the USER name, AUTH TLS (then the handshake's facts),
// the last data endpoint announced. Never kept: PASS, ACCT, file names,
// directory listings, file contents.
//
// A PASV/EPSV reply (or a PORT/EPRT command) announces where the next data
// connection will go; the session records it in an FtpExpectations table
// shared by the engines of all workers (a data connection may land on any
// of them). A new connection whose responder address and port match an
// entry is FTP data of that control connection, whatever its bytes.
#ifndef RUSTNET_DAEMON_DPI_FTP_H_
#define RUSTNET_DAEMON_DPI_FTP_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/flow_key.h"
#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_FTP_ANOMALIES(X)                    \
  X(kLineTooLong, "ftp_line_too_long")              \
  X(kBadDataEndpoint, "ftp_bad_data_endpoint")      \
  X(kExpectationsFull, "ftp_expectations_full")
RUSTNET_DECLARE_DPI_ANOMALIES(ftp_anomaly, RUSTNET_FTP_ANOMALIES)

// Announced FTP data endpoints, bounded (kMaxEntries, the oldest goes
// first) and expiring (kTtlUs after the announcement; a data connection
// opens at once). Each entry is claimed at most once.
//
// Thread-safety: all methods may be called from any thread.
class FtpExpectations {
 public:
  static constexpr size_t kMaxEntries = 4096;
  static constexpr int64_t kTtlUs = 120'000'000;

  // False if an older entry had to be dropped to make room.
  bool Expect(const IpAddress& address, uint16_t port, uint64_t control_id, int64_t now_us);
  // The control connection's id for a new connection to address:port, the
  // entry removed; 0 if none (or it expired).
  uint64_t Claim(const IpAddress& address, uint16_t port, int64_t now_us);
  // Cheap test before Claim (no lock).
  bool empty() const { return size_.load(std::memory_order_relaxed) == 0; }
  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct Key {
    IpAddress address;
    uint16_t port = 0;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.address.bytes, k.port);
    }
  };
  struct Entry {
    uint64_t control_id = 0;
    int64_t expires_us = 0;
  };
  void ExpireLocked(int64_t now_us);
  // Drops the oldest record and its entry if that is still live (true).
  bool PopOldestLocked();

  std::mutex mu_;
  absl::flat_hash_map<Key, Entry> entries_;
  std::deque<std::pair<Key, int64_t>> order_;  // (key, expiry) in insertion order.
  std::atomic<size_t> size_{0};
};

std::unique_ptr<Dissector> MakeFtpDissector();

// "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)" and PORT's argument
// "h1,h2,h3,h4,p1,p2": the address and port; nullopt if malformed.
struct FtpEndpoint {
  IpAddress address;  // All zero for EPSV (the control server's address).
  uint16_t port = 0;
  bool has_address = false;
};
std::optional<FtpEndpoint> ParseFtpHostPort(std::span<const uint8_t> text);
// EPSV "(|||port|)" and EPRT "|1|addr|port|" / "|2|addr|port|".
std::optional<FtpEndpoint> ParseFtpExtended(std::span<const uint8_t> text);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_FTP_H_
