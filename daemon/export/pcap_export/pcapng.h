// pcapng blocks, as draft-ietf-opsawg-pcapng (the pcapng specification):
// a Section Header Block (§4.1), an Interface Description Block (§4.2) and
// Enhanced Packet Blocks (§4.3) with an opt_comment (§3.5.1, code 1).
//
// Every block is: type (u32), block total length (u32), body, block total
// length again. Options (§3.5) are code (u16), length (u16), value padded
// with zeros to 32 bits, and the list ends with opt_endofopt (code 0,
// length 0). Packet data is padded to 32 bits too. Written little-endian
// whatever the host (the SHB's byte-order magic 0x1A2B3C4D tells readers
// which), so the bytes are the same everywhere.
//
// Timestamps: the IDB has no if_tsresol, so its default, microseconds
// (10^-6 s), applies; an EPB holds the 64-bit count as its high and low 32
// bits.
//
// Pure functions; no thread concerns.
#ifndef RUSTNET_DAEMON_EXPORT_PCAP_EXPORT_PCAPNG_H_
#define RUSTNET_DAEMON_EXPORT_PCAP_EXPORT_PCAPNG_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "daemon/decode/decoder.h"

namespace rustnet::pcapng {

inline constexpr uint32_t kSectionHeaderType = 0x0A0D0D0A;
inline constexpr uint32_t kInterfaceDescriptionType = 0x00000001;
inline constexpr uint32_t kEnhancedPacketType = 0x00000006;
inline constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
inline constexpr uint16_t kOptEndOfOpt = 0;
inline constexpr uint16_t kOptComment = 1;
inline constexpr uint16_t kIfName = 2;         // IDB option.
inline constexpr uint16_t kShbUserAppl = 4;    // SHB option.
// An option's value is at most 65535 bytes; comments are cut shorter.
inline constexpr size_t kMaxCommentBytes = 1024;

// The LINKTYPE_ value (tcpdump.org/linktypes.html) pcapng stores for a link
// type rustnetd decodes.
uint16_t LinkTypeNumber(LinkType link);

// SHB, version 1.0, section length -1 (not given), with shb_userappl
// `application` when not empty.
void AppendSectionHeader(std::string_view application, std::string* out);

// IDB for interface 0: `link_type` (a LINKTYPE_ value), `snaplen` (0: no
// limit), and if_name `name` when not empty.
void AppendInterfaceDescription(uint16_t link_type, uint32_t snaplen, std::string_view name,
                                std::string* out);

// EPB on interface 0: captured bytes `data`, original length
// `wire_length`, `timestamp_us` (negative: 0), and opt_comment `comment`
// when not empty (cut to kMaxCommentBytes; the caller passes valid UTF-8).
void AppendEnhancedPacket(int64_t timestamp_us, std::span<const uint8_t> data,
                          uint32_t wire_length, std::string_view comment, std::string* out);

// The same block in three pieces, so that a writer can hand the packet's
// bytes to writev(2) where they are: the 28 bytes before the data, then
// (after `captured` bytes of data) the padding, options and length.
void AppendEnhancedPacketHead(int64_t timestamp_us, uint32_t captured, uint32_t wire_length,
                              std::string_view comment, std::string* out);
void AppendEnhancedPacketTail(uint32_t captured, std::string_view comment, std::string* out);

// The bytes AppendEnhancedPacket adds for these sizes.
size_t EnhancedPacketSize(size_t captured, size_t comment_bytes);

// `text` with every byte that is not part of valid UTF-8, or is a control
// character, replaced by '?' (process names are the processes' own).
std::string SanitizeUtf8(std::string_view text);

}  // namespace rustnet::pcapng

#endif  // RUSTNET_DAEMON_EXPORT_PCAP_EXPORT_PCAPNG_H_
