// Helpers for the line-oriented protocols (SMTP, IMAP, POP3, FTP, Redis
// inline commands, Memcached, SSDP): cutting a stream into lines while
// knowing how many input bytes were used (a STARTTLS upgrade hands the rest
// to TLS), case-insensitive words, and hostile text made printable.
//
// Thread-safety: functions of their arguments; LineSplitter belongs to one
// session.
#ifndef RUSTNET_DAEMON_DPI_TEXT_LINES_H_
#define RUSTNET_DAEMON_DPI_TEXT_LINES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/byte_reader.h"
#include "daemon/dpi/stream_buffer.h"

namespace rustnet {

// Longest text field kept from a line protocol (greetings, names).
inline constexpr size_t kMaxTextField = 128;

// `bytes` as text: CRs and LFs at the end dropped, controls and bytes past
// ASCII as '?', at most `max` characters.
inline std::string PrintableText(std::span<const uint8_t> bytes, size_t max = kMaxTextField) {
  while (!bytes.empty() && (bytes.back() == '\r' || bytes.back() == '\n')) {
    bytes = bytes.first(bytes.size() - 1);
  }
  std::string out;
  const size_t n = std::min(bytes.size(), max);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = bytes[i];
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

inline bool IsAsciiLetter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

inline char AsciiUpper(uint8_t c) {
  return static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
}

// True if `bytes` starts with `upper_prefix` (given in upper case), any
// case. A shorter `bytes` that matches so far counts if `partial_ok`.
inline bool StartsWithNoCase(std::span<const uint8_t> bytes, std::string_view upper_prefix,
                             bool partial_ok = false) {
  if (bytes.size() < upper_prefix.size() && !partial_ok) return false;
  const size_t n = std::min(bytes.size(), upper_prefix.size());
  for (size_t i = 0; i < n; ++i) {
    if (AsciiUpper(bytes[i]) != upper_prefix[i]) return false;
  }
  return true;
}

// Splits `line` at its first space: the word (upper-cased, at most 16
// characters, letters/digits/'-'/'_' only; empty if another byte is in it)
// and what follows the space.
struct WordAndRest {
  std::string word;
  std::span<const uint8_t> rest;
};
inline WordAndRest FirstWord(std::span<const uint8_t> line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line = line.first(line.size() - 1);
  }
  WordAndRest out;
  size_t i = 0;
  for (; i < line.size() && line[i] != ' '; ++i) {
    const uint8_t c = line[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || i >= 16) return {};
    out.word.push_back(AsciiUpper(c));
  }
  out.rest = i < line.size() ? line.subspan(i + 1) : std::span<const uint8_t>();
  return out;
}

// True if every byte is printable ASCII, a tab, CR or LF (a text line).
inline bool IsTextLine(std::span<const uint8_t> bytes) {
  for (uint8_t c : bytes) {
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c >= 0x7f) return false;
  }
  return true;
}

// Cuts one direction of a stream into lines ending in '\n' (the line given
// without it), at most `max_line` bytes each, and says how many bytes of
// the input were used when on_line(std::span<const uint8_t>) stops the walk
// by returning false: the rest belongs to what follows (TLS after STARTTLS).
struct LineResult {
  FrameStatus status;
  size_t used;  // Input bytes consumed (all of them unless kStopped).
};
template <typename OnLine>
LineResult SplitLines(StreamBuffer& buf, std::span<const uint8_t> data, size_t max_line,
                      OnLine&& on_line) {
  ByteReader in(data);
  if (!buf.empty()) {
    auto end = in.BytesUntil('\n');
    const auto piece = end ? *end : in.rest();
    if (buf.size() + piece.size() > max_line || !buf.Append(piece)) {
      return {FrameStatus::kTooLong, data.size()};
    }
    if (!end) return {FrameStatus::kNeedMore, data.size()};
    const bool go_on = on_line(buf.reader().rest());
    buf.Clear();
    if (!go_on) return {FrameStatus::kStopped, in.position()};
  }
  while (auto line = in.BytesUntil('\n')) {
    if (line->size() > max_line) return {FrameStatus::kTooLong, data.size()};
    if (!on_line(*line)) return {FrameStatus::kStopped, in.position()};
  }
  if (in.remaining() > max_line || !buf.Append(in.rest())) {
    return {FrameStatus::kTooLong, data.size()};
  }
  return {FrameStatus::kNeedMore, data.size()};
}

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_TEXT_LINES_H_
