// PacketSource: where frames come from (a live interface, a capture file,
// or a test's vector), behind one interface so the pipeline does not know.
//
// Thread-safety: Next() is called by the capture thread only; Interrupt()
// and Stats() may be called from any thread.
#ifndef RUSTNET_DAEMON_CAPTURE_PACKET_SOURCE_H_
#define RUSTNET_DAEMON_CAPTURE_PACKET_SOURCE_H_

#include <cstdint>
#include <span>
#include <string>

#include "daemon/decode/decoder.h"

namespace rustnet {

struct RawPacket {
  int64_t timestamp_us = 0;
  uint32_t wire_length = 0;         // Length on the wire.
  std::span<const uint8_t> data;    // Captured bytes; valid until the next Next().
};

enum class NextResult : uint8_t {
  kPacket,   // *out is a packet.
  kTimeout,  // Live: nothing arrived within the read timeout.
  kEnd,      // File: no more packets. Live: interrupted.
  kError,    // See error(); the source cannot continue.
};

// Statistics as the capture layer counts them.
struct CaptureStats {
  uint64_t received = 0;          // Live: packets the kernel queued. File: records read.
  uint64_t filtered = 0;          // File: records the BPF filter rejected.
  uint64_t dropped_kernel = 0;    // Dropped by the kernel (buffer full).
  uint64_t dropped_interface = 0; // Dropped by the interface / driver.
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  virtual NextResult Next(RawPacket* out) = 0;
  virtual LinkType link_type() const = 0;
  // Interface name, or the capture file's path.
  virtual const std::string& name() const = 0;
  virtual bool live() const = 0;
  virtual CaptureStats Stats() = 0;
  // Makes a blocked Next() return kEnd soon. Async-signal-safe is not
  // required; it is called from the signal-handling thread.
  virtual void Interrupt() = 0;
  // Why Next() returned kError.
  virtual std::string error() const = 0;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_PACKET_SOURCE_H_
