#include "daemon/export/pcap_export/pcapng.h"

#include <algorithm>

namespace rustnet::pcapng {
namespace {

size_t Pad4(size_t n) { return (n + 3) & ~size_t{3}; }

void U16(uint16_t v, std::string* out) {
  const char b[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  out->append(b, 2);
}

void U32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                     static_cast<char>((v >> 16) & 0xff), static_cast<char>(v >> 24)};
  out->append(b, 4);
}

void Zeros(size_t n, std::string* out) { out->append(n, '\0'); }

// An option: code, length, value padded to 32 bits.
void Option(uint16_t code, std::string_view value, std::string* out) {
  U16(code, out);
  U16(static_cast<uint16_t>(value.size()), out);
  out->append(value);
  Zeros(Pad4(value.size()) - value.size(), out);
}

size_t OptionSize(size_t value) { return 4 + Pad4(value); }

std::string_view Cut(std::string_view comment) {
  if (comment.size() <= kMaxCommentBytes) return comment;
  size_t n = kMaxCommentBytes;
  // Not in the middle of a UTF-8 sequence.
  while (n > 0 && (static_cast<uint8_t>(comment[n]) & 0xC0) == 0x80) --n;
  return comment.substr(0, n);
}

}  // namespace

uint16_t LinkTypeNumber(LinkType link) {
  switch (link) {
    case LinkType::kEthernet: return 1;     // LINKTYPE_ETHERNET
    case LinkType::kLinuxSll: return 113;   // LINKTYPE_LINUX_SLL
    case LinkType::kLinuxSll2: return 276;  // LINKTYPE_LINUX_SLL2
    case LinkType::kRaw: return 101;        // LINKTYPE_RAW
    case LinkType::kIpv4: return 228;       // LINKTYPE_IPV4
    case LinkType::kIpv6: return 229;       // LINKTYPE_IPV6
    case LinkType::kNull: return 0;         // LINKTYPE_NULL
    case LinkType::kLoop: return 108;       // LINKTYPE_LOOP
  }
  return 1;
}

void AppendSectionHeader(std::string_view application, std::string* out) {
  const size_t options = application.empty() ? 0 : OptionSize(application.size()) + 4;
  const auto total = static_cast<uint32_t>(28 + options);
  U32(kSectionHeaderType, out);
  U32(total, out);
  U32(kByteOrderMagic, out);
  U16(1, out);  // Major version.
  U16(0, out);  // Minor version.
  U32(0xFFFFFFFF, out);  // Section length: -1, not given.
  U32(0xFFFFFFFF, out);
  if (!application.empty()) {
    Option(kShbUserAppl, application, out);
    Option(kOptEndOfOpt, {}, out);
  }
  U32(total, out);
}

void AppendInterfaceDescription(uint16_t link_type, uint32_t snaplen, std::string_view name,
                                std::string* out) {
  name = name.substr(0, 255);
  const size_t options = name.empty() ? 0 : OptionSize(name.size()) + 4;
  const auto total = static_cast<uint32_t>(20 + options);
  U32(kInterfaceDescriptionType, out);
  U32(total, out);
  U16(link_type, out);
  U16(0, out);  // Reserved.
  U32(snaplen, out);
  if (!name.empty()) {
    Option(kIfName, name, out);
    Option(kOptEndOfOpt, {}, out);
  }
  U32(total, out);
}

size_t EnhancedPacketSize(size_t captured, size_t comment_bytes) {
  comment_bytes = std::min(comment_bytes, kMaxCommentBytes);
  return 32 + Pad4(captured) + (comment_bytes == 0 ? 0 : OptionSize(comment_bytes) + 4);
}

void AppendEnhancedPacketHead(int64_t timestamp_us, uint32_t captured, uint32_t wire_length,
                              std::string_view comment, std::string* out) {
  comment = Cut(comment);
  const auto total = static_cast<uint32_t>(EnhancedPacketSize(captured, comment.size()));
  const uint64_t ts = timestamp_us < 0 ? 0 : static_cast<uint64_t>(timestamp_us);
  U32(kEnhancedPacketType, out);
  U32(total, out);
  U32(0, out);  // Interface id.
  U32(static_cast<uint32_t>(ts >> 32), out);
  U32(static_cast<uint32_t>(ts & 0xFFFFFFFF), out);
  U32(captured, out);
  U32(std::max(wire_length, captured), out);
}

void AppendEnhancedPacketTail(uint32_t captured, std::string_view comment, std::string* out) {
  comment = Cut(comment);
  const auto total = static_cast<uint32_t>(EnhancedPacketSize(captured, comment.size()));
  Zeros(Pad4(captured) - captured, out);
  if (!comment.empty()) {
    Option(kOptComment, comment, out);
    Option(kOptEndOfOpt, {}, out);
  }
  U32(total, out);
}

void AppendEnhancedPacket(int64_t timestamp_us, std::span<const uint8_t> data,
                          uint32_t wire_length, std::string_view comment, std::string* out) {
  const auto captured = static_cast<uint32_t>(data.size());
  AppendEnhancedPacketHead(timestamp_us, captured, wire_length, comment, out);
  out->append(reinterpret_cast<const char*>(data.data()), data.size());
  AppendEnhancedPacketTail(captured, comment, out);
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<uint8_t>(text[i]);
    if (b < 0x80) {
      out.push_back(b < 0x20 || b == 0x7f ? '?' : static_cast<char>(b));
      ++i;
      continue;
    }
    // RFC 3629 §4: lead byte, then 1-3 continuation bytes; no overlongs,
    // no surrogates, nothing past U+10FFFF.
    size_t n = 0;
    uint32_t min = 0;
    uint32_t cp = 0;
    if (b >= 0xC2 && b <= 0xDF) {
      n = 1, min = 0x80, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2, min = 0x800, cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3, min = 0x10000, cp = b & 0x07;
    }
    bool ok = n > 0 && i + n < text.size();  // The whole sequence is there.
    for (size_t k = 1; ok && k <= n; ++k) {
      const auto c = static_cast<uint8_t>(text[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back('?');
      ++i;
      continue;
    }
    out.append(text.substr(i, n + 1));
    i += n + 1;
  }
  return out;
}

}  // namespace rustnet::pcapng
