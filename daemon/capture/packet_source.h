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
  kTimeout,  // Live: nothing arrived within the read timeout, or the
             // capture is waiting for its interface (see CaptureStats).
  kEnd,      // File: no more packets. Live: interrupted.
  kError,    // See error(); the source cannot continue (files only: a live
             // source waits for its interface instead).
};

enum class CaptureState : uint8_t {
  kCapturing,  // Live: the interface is open. File: being read.
  kWaiting,    // Live: the capture stopped; trying to reopen the interface.
  kEnded,      // End of file, stopped, or failed for good.
};

// Statistics as the capture layer counts them. Live counters are
// cumulative across reopenings of the interface.
struct CaptureStats {
  uint64_t received = 0;          // Live: packets the kernel queued. File: records read.
  uint64_t filtered = 0;          // File: records the BPF filter rejected.
  uint64_t dropped_kernel = 0;    // Dropped by the kernel (buffer full).
  uint64_t dropped_interface = 0; // Dropped by the interface / driver.
  CaptureState state = CaptureState::kCapturing;
  // kWaiting: why ("interface veth0 is down", "no interface named veth0").
  std::string waiting_for;
  uint32_t interruptions = 0;     // Live: times the capture stopped and waited.
  int64_t waiting_since_us = 0;   // kWaiting: wall clock of the stop.
  int64_t last_packet_us = 0;     // Live: timestamp of the last packet; 0 before one.
  // Live: the captured interface's name now if it was renamed while open
  // (the capture follows the interface); empty otherwise.
  std::string renamed_to;
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  virtual NextResult Next(RawPacket* out) = 0;
  virtual LinkType link_type() const = 0;
  // Interface name, or the capture file's path.
  virtual const std::string& name() const = 0;
  virtual bool live() const = 0;
  // The most bytes of a frame captured (the file's or the capture's
  // snapshot length); 0 if unknown.
  virtual uint32_t snaplen() const { return 0; }
  virtual CaptureStats Stats() = 0;
  // Makes a blocked Next() return kEnd soon. Async-signal-safe is not
  // required; it is called from the signal-handling thread.
  virtual void Interrupt() = 0;
  // Why Next() returned kError.
  virtual std::string error() const = 0;
  // True if every RawPacket::data this source returns stays valid (and
  // unchanged) until the source is destroyed, not only until the next
  // Next(): a file read in place. Readers may then keep pointers to it.
  virtual bool stable_data() const { return false; }
  // With stable_data(): no RawPacket::data below `p` (in the source's
  // order) will be read again; the source may give its memory back.
  virtual void ReleaseBefore(const uint8_t* /*p*/) {}
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_PACKET_SOURCE_H_
