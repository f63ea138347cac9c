// StreamBuffer: the bytes of one direction of a stream that wait for the
// rest of their frame (a TLS record or handshake message, a DNS-over-TCP
// message) or line (HTTP headers, SSH identification), and the two ways
// every stream dissector cuts its input: ForEachFrame (a header that gives
// the frame's length) and ForEachLine.
//
// One cap policy for all of them: a frame or line is handed over whole,
// straight from the input when it arrives in one piece (nothing is copied,
// nothing allocated), from the buffer when it was split. The buffer holds at
// most one unfinished frame or line, and one longer than its protocol's
// limit (a named constant beside that parser, at most kMaxStreamBufferBytes)
// is refused (kTooLong) instead of buffered or cut. The caller counts its
// named anomaly for kTooLong and kMalformed.
//
// Thread-safety: a StreamBuffer belongs to one session (one worker).
#ifndef RUSTNET_DAEMON_DPI_STREAM_BUFFER_H_
#define RUSTNET_DAEMON_DPI_STREAM_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/byte_reader.h"

namespace rustnet {

// No protocol's frame limit may exceed this (a TLS record of 2^14 + 2048
// bytes, a TLS handshake message of 64 KiB, a DNS message of 64 KiB + 2).
inline constexpr size_t kMaxStreamBufferBytes = 64 * 1024 + 64;

class StreamBuffer {
 public:
  bool empty() const { return bytes_.empty(); }
  size_t size() const { return bytes_.size(); }
  ByteReader reader() const { return ByteReader(bytes_); }
  // Heap bytes held.
  size_t MemoryUsage() const { return bytes_.capacity(); }

  // Appends, unless the buffer would pass kMaxStreamBufferBytes (false,
  // nothing appended). The framing functions below never get there.
  bool Append(std::span<const uint8_t> data) {
    if (bytes_.size() + data.size() > kMaxStreamBufferBytes) return false;
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return true;
  }
  // Empties the buffer; a large allocation is given back, a small one kept
  // for the next split frame.
  void Clear() {
    if (bytes_.capacity() > kKeptCapacity) {
      bytes_ = {};
    } else {
      bytes_.clear();
    }
  }

 private:
  static constexpr size_t kKeptCapacity = 4096;
  std::vector<uint8_t> bytes_;
};

enum class FrameStatus : uint8_t {
  kNeedMore,   // Every whole frame was handed over; the rest is buffered.
  kStopped,    // The frame callback asked to stop (the rest is dropped).
  kMalformed,  // A header was refused by frame_length.
  kTooLong,    // A frame or line is longer than the limit.
};

// Cuts `data`, appended to what `buf` holds, into frames of a header of
// `header_bytes` whose whole length (header included) frame_length(ByteReader
// header) returns — nullopt if the header is malformed. Each whole frame
// goes to on_frame(ByteReader frame), which returns false to stop. Frames
// longer than `max_frame` (<= kMaxStreamBufferBytes) are kTooLong as soon as
// their header is read. Callables are template parameters: no
// std::function on the packet path.
template <typename FrameLength, typename OnFrame>
FrameStatus ForEachFrame(StreamBuffer& buf, std::span<const uint8_t> data, size_t header_bytes,
                         size_t max_frame, FrameLength&& frame_length, OnFrame&& on_frame) {
  ByteReader in(data);
  // Moves up to `want` bytes in all from `in` to `buf`.
  auto top_up = [&](size_t want) {
    const size_t n = std::min(want - std::min(want, buf.size()), in.remaining());
    auto bytes = in.Bytes(n);
    return bytes && buf.Append(*bytes) && buf.size() >= want;
  };
  if (!buf.empty()) {
    // A frame split across calls: complete it in the buffer first.
    if (!top_up(header_bytes)) return FrameStatus::kNeedMore;
    auto header = buf.reader().Sub(header_bytes);
    const auto total = header ? frame_length(*header) : std::nullopt;
    if (!total || *total < header_bytes) return FrameStatus::kMalformed;
    if (*total > max_frame) return FrameStatus::kTooLong;
    if (!top_up(*total)) return FrameStatus::kNeedMore;
    const bool go_on = on_frame(buf.reader());
    buf.Clear();
    if (!go_on) return FrameStatus::kStopped;
  }
  while (auto header = in.PeekSub(header_bytes)) {
    const auto total = frame_length(*header);
    if (!total || *total < header_bytes) return FrameStatus::kMalformed;
    if (*total > max_frame) return FrameStatus::kTooLong;
    auto frame = in.Sub(*total);
    if (!frame) break;
    if (!on_frame(*frame)) return FrameStatus::kStopped;
  }
  // The start of a frame: shorter than its header, or than its length.
  return buf.Append(in.rest()) ? FrameStatus::kNeedMore : FrameStatus::kTooLong;
}

// Cuts `data`, appended to what `buf` holds, into lines ending in '\n';
// on_line(ByteReader line) gets each without its '\n' (a '\r' before it is
// the caller's) and returns false to stop. A line longer than `max_line`
// bytes (<= kMaxStreamBufferBytes) before its '\n' is kTooLong.
template <typename OnLine>
FrameStatus ForEachLine(StreamBuffer& buf, std::span<const uint8_t> data, size_t max_line,
                        OnLine&& on_line) {
  ByteReader in(data);
  if (!buf.empty()) {
    auto end = in.BytesUntil('\n');
    const auto piece = end ? *end : in.rest();
    if (buf.size() + piece.size() > max_line || !buf.Append(piece)) return FrameStatus::kTooLong;
    if (!end) return FrameStatus::kNeedMore;
    const bool go_on = on_line(buf.reader());
    buf.Clear();
    if (!go_on) return FrameStatus::kStopped;
  }
  while (auto line = in.BytesUntil('\n')) {
    if (line->size() > max_line) return FrameStatus::kTooLong;
    if (!on_line(ByteReader(*line))) return FrameStatus::kStopped;
  }
  if (in.remaining() > max_line || !buf.Append(in.rest())) return FrameStatus::kTooLong;
  return FrameStatus::kNeedMore;
}

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_STREAM_BUFFER_H_
