// ByteReader: the one bounds-checked cursor every untrusted byte goes through.
//
// Every read returns std::optional and an empty optional means "not enough
// bytes" — a truncated field never looks like a real zero. A failed read
// does not move the cursor. Child readers (Sub) are bounded by a length the
// packet itself declares, so a lying length cannot reach past its parent.
//
// Thread-safety: a ByteReader is a value; it does not own the bytes.
#ifndef RUSTNET_COMMON_BYTE_READER_H_
#define RUSTNET_COMMON_BYTE_READER_H_

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
  // Little-endian read (BSD loopback headers, pcap record headers).
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
  bool Skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
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

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace rustnet

#endif  // RUSTNET_COMMON_BYTE_READER_H_
