// ByteReader: the one bounds-checked cursor every untrusted byte goes through.
//
// Every read returns std::optional (or bool) and an empty optional means
// "not enough bytes" — a truncated field never looks like a real zero. A
// failed read does not move the cursor. Child readers (Sub, PrefixedU8/16/24)
// are bounded by a length the packet itself declares, so a lying length
// cannot reach past its parent. Lists are walked with ForEachItem and its
// shorthands below, which stop at the first item that does not fit.
//
// Thread-safety: a ByteReader is a value; it does not own the bytes.
#ifndef RUSTNET_COMMON_BYTE_READER_H_
#define RUSTNET_COMMON_BYTE_READER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace rustnet {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  // All bytes of the reader, read or not.
  size_t size() const { return data_.size(); }
  bool empty() const { return remaining() == 0; }
  // The unread bytes.
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

  std::optional<uint8_t> U8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
  }
  // Big-endian (network order) reads.
  std::optional<uint16_t> U16() {
    if (remaining() < 2) return std::nullopt;
    const uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<uint32_t> U24() {
    if (remaining() < 3) return std::nullopt;
    const uint32_t v = (uint32_t{data_[pos_]} << 16) | (uint32_t{data_[pos_ + 1]} << 8) |
                       uint32_t{data_[pos_ + 2]};
    pos_ += 3;
    return v;
  }
  std::optional<uint32_t> U32() {
    if (remaining() < 4) return std::nullopt;
    const uint32_t v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
                       (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  // Little-endian reads (BSD loopback headers, pcap record headers, gQUIC).
  std::optional<uint16_t> U16Le() {
    if (remaining() < 2) return std::nullopt;
    const uint16_t v = static_cast<uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  std::optional<uint32_t> U32Le() {
    if (remaining() < 4) return std::nullopt;
    const uint32_t v = uint32_t{data_[pos_]} | (uint32_t{data_[pos_ + 1]} << 8) |
                       (uint32_t{data_[pos_ + 2]} << 16) | (uint32_t{data_[pos_ + 3]} << 24);
    pos_ += 4;
    return v;
  }
  // The next n bytes as a span, or nullopt if fewer remain.
  std::optional<std::span<const uint8_t>> Bytes(size_t n) {
    if (remaining() < n) return std::nullopt;
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // A reader over the next n bytes; this reader skips past them.
  std::optional<ByteReader> Sub(size_t n) {
    auto bytes = Bytes(n);
    if (!bytes) return std::nullopt;
    return ByteReader(*bytes);
  }
  // A reader over the bytes a length prefix of 1, 2 or 3 bytes (big-endian)
  // declares; this reader skips the prefix and them. Nullopt, the cursor
  // unmoved, if the prefix or the bytes it declares are cut off.
  std::optional<ByteReader> PrefixedU8() { return Prefixed(&ByteReader::U8); }
  std::optional<ByteReader> PrefixedU16() { return Prefixed(&ByteReader::U16); }
  std::optional<ByteReader> PrefixedU24() { return Prefixed(&ByteReader::U24); }
  // The bytes before the next `delim`; the cursor moves past the delimiter.
  // Nullopt, the cursor unmoved, if no `delim` remains.
  std::optional<std::span<const uint8_t>> BytesUntil(uint8_t delim) {
    const auto unread = rest();
    const auto it = std::find(unread.begin(), unread.end(), delim);
    if (it == unread.end()) return std::nullopt;
    const auto n = static_cast<size_t>(it - unread.begin());
    pos_ += n + 1;
    return unread.first(n);
  }
  // Moves the cursor just past the first occurrence of `needle`; false, the
  // cursor unmoved, if there is none.
  bool SkipPast(std::span<const uint8_t> needle) {
    const auto unread = rest();
    const auto it = std::search(unread.begin(), unread.end(), needle.begin(), needle.end());
    if (it == unread.end()) return false;
    pos_ += static_cast<size_t>(it - unread.begin()) + needle.size();
    return true;
  }
  bool Skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  // Moves the cursor to `pos` bytes from the reader's start, backwards too
  // (DNS compression pointers); false, unmoved, if pos is past the end.
  bool Seek(size_t pos) {
    if (pos > data_.size()) return false;
    pos_ = pos;
    return true;
  }
  // Reads without consuming.
  std::optional<uint8_t> PeekU8(size_t offset = 0) const {
    if (remaining() <= offset) return std::nullopt;
    return data_[pos_ + offset];
  }
  std::optional<uint16_t> PeekU16(size_t offset = 0) const {
    ByteReader copy = *this;
    if (!copy.Skip(offset)) return std::nullopt;
    return copy.U16();
  }
  std::optional<uint32_t> PeekU32(size_t offset = 0) const {
    ByteReader copy = *this;
    if (!copy.Skip(offset)) return std::nullopt;
    return copy.U32();
  }
  // A reader over the next n bytes, this one unmoved.
  std::optional<ByteReader> PeekSub(size_t n) const {
    ByteReader copy = *this;
    return copy.Sub(n);
  }

 private:
  template <typename Int>
  std::optional<ByteReader> Prefixed(std::optional<Int> (ByteReader::*read_length)()) {
    ByteReader copy = *this;
    auto len = (copy.*read_length)();
    if (!len) return std::nullopt;
    auto sub = copy.Sub(*len);
    if (!sub) return std::nullopt;
    *this = copy;
    return sub;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Walks a list: calls read_item(list) (a ByteReader&) until `list` is empty.
// read_item reads one item and returns false if it is cut off or malformed;
// the walk then stops and returns false. An item that reads nothing also
// stops it (false), so no list can loop. The callable is a template
// parameter: no std::function, no allocation.
template <typename ReadItem>
bool ForEachItem(ByteReader list, ReadItem&& read_item) {
  while (!list.empty()) {
    const size_t before = list.position();
    if (!read_item(list) || list.position() == before) return false;
  }
  return true;
}

// The items of `list` that each carry a 1-byte length prefix (ALPN's
// protocol names, RFC 7301 §3.1): fn(ByteReader item) for each. False if an
// item's length runs past the list (the items before it were visited).
template <typename Fn>
bool ForEachPrefixedU8(ByteReader list, Fn&& fn) {
  return ForEachItem(list, [&fn](ByteReader& r) {
    auto item = r.PrefixedU8();
    if (!item) return false;
    fn(*item);
    return true;
  });
}

// A list of 16-bit big-endian values: fn(uint16_t) for each. False if an
// odd byte is left over (the values before it were visited).
template <typename Fn>
bool ForEachU16(ByteReader list, Fn&& fn) {
  return ForEachItem(list, [&fn](ByteReader& r) {
    auto v = r.U16();
    if (!v) return false;
    fn(*v);
    return true;
  });
}

}  // namespace rustnet

#endif  // RUSTNET_COMMON_BYTE_READER_H_
