// FlowRecord and the two wire formats rustnetd exports it in: IPFIX
// (RFC 7011) and NetFlow version 9 (RFC 3954).
//
// One record model, two encoders. Each encoder is one Exporting Process's
// state towards one collector (one Transport Session): its sequence number
// and, for NetFlow v9, the uptime origin. Messages are built whole, at most
// `max_message` bytes (UDP: one datagram each, never fragmented by us), a
// template set first when asked (templates are static per encoder).
//
// Templates (IDs fixed; the set depends on --ipfix-biflow, see kTemplate*):
//  256 IPv4 and 257 IPv6 flows, one record per direction; with biflows,
//  258 and 259 carry one record per connection with RFC 5103's reverse
//  elements (Reverse PEN 29305) for the B->A direction.
// Standard Information Elements (IANA "IPFIX Information Elements"):
//  sourceIPv4Address(8) destinationIPv4Address(12) sourceIPv6Address(27)
//  destinationIPv6Address(28) sourceTransportPort(7) destinationTransportPort(11)
//  protocolIdentifier(4) ipVersion(60) octetDeltaCount(1) packetDeltaCount(2)
//  flowStartMilliseconds(152) flowEndMilliseconds(153) tcpControlBits(6, in
//  the reduced one-byte encoding RFC 7011 §6.2 allows) flowEndReason(136)
//  ingressInterface(10) sourceMacAddress(56).
// Enterprise-specific elements (IPFIX only: NetFlow v9 has neither
// enterprise numbers nor variable-length fields), under kRustnetPen:
//   1 applicationName     string (varlen)  DPI protocol: "tls", "dns", ...
//   2 hostName            string (varlen)  TLS SNI, HTTP Host or DNS name
//   3 ja4                 string (varlen)  JA4 TLS client fingerprint
//   4 processName         string (varlen)
//   5 processId           unsigned32
//   6 userName            string (varlen)
//   7 systemdUnit         string (varlen)
//   8 containerId         string (varlen)
// A collector that does not know them skips them by their length (RFC 7011
// §3.2, §7), as nfdump and pmacct do.
//
// Thread-safety: an encoder belongs to one thread.
#ifndef RUSTNET_DAEMON_EXPORT_IPFIX_FLOW_ENCODER_H_
#define RUSTNET_DAEMON_EXPORT_IPFIX_FLOW_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/flow_key.h"

namespace rustnet::ipfix {

// rustnetd's Private Enterprise Number: 32473 is IANA's example PEN for
// documentation (RFC 5612 §2), used until one is registered. Collectors
// that decode it must be told so (see README.md, "IPFIX export").
inline constexpr uint32_t kRustnetPen = 32473;
// RFC 5103 §6.1: reverse elements are the forward element's number under
// this PEN.
inline constexpr uint32_t kReversePen = 29305;

inline constexpr uint16_t kTemplateV4 = 256;
inline constexpr uint16_t kTemplateV6 = 257;
inline constexpr uint16_t kTemplateBiflowV4 = 258;
inline constexpr uint16_t kTemplateBiflowV6 = 259;

// Longest string sent per enterprise element (longer ones are cut at a
// UTF-8 boundary): a record then always fits one 1472-byte message.
inline constexpr size_t kMaxHostName = 253;  // A DNS name's longest text form.
inline constexpr size_t kMaxString = 128;

// RFC 7011 §8.1 / IANA flowEndReason.
enum class EndReason : uint8_t {
  kIdleTimeout = 1,
  kActiveTimeout = 2,
  kEndOfFlow = 3,     // FIN or RST seen (or the 5-tuple reused).
  kForcedEnd = 4,     // Shutdown, or the replayed file ended.
  kLackOfResources = 5,  // Evicted at the table's limit.
};

struct FlowRecord {
  IpAddress src, dst;  // ip_version says which form (IpAddress keeps v4 mapped).
  uint16_t src_port = 0, dst_port = 0;
  uint8_t protocol = 0;
  uint8_t ip_version = 4;
  uint64_t octets = 0, packets = 0;          // Deltas, src -> dst.
  uint64_t reverse_octets = 0, reverse_packets = 0;  // Biflow: dst -> src.
  int64_t start_ms = 0, end_ms = 0;          // Unix milliseconds.
  uint8_t tcp_flags = 0;
  uint8_t reverse_tcp_flags = 0;
  EndReason end_reason = EndReason::kActiveTimeout;
  uint32_t ingress_interface = 0;
  MacAddress src_mac{};
  // Enterprise elements; empty / 0 when unknown.
  std::string application, host_name, ja4, process_name, user_name, systemd_unit, container_id;
  uint32_t pid = 0;
};

enum class Format : uint8_t { kIpfix, kNetflowV9 };

struct EncoderOptions {
  Format format = Format::kIpfix;
  bool biflow = false;  // IPFIX only (RFC 5103).
  uint32_t observation_domain = 0;  // IPFIX Observation Domain ID / v9 Source ID.
  size_t max_message = 1472;        // Bytes per message (UDP payload in a 1500 MTU).
};

// Appends an RFC 7011 §7 variable-length field: one length byte if < 255,
// else 255 and a two-byte length; `s` is cut to 65535 bytes.
void AppendVarlen(std::string_view s, std::string* out);
// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view s, size_t max);

class FlowEncoder {
 public:
  explicit FlowEncoder(EncoderOptions options);

  struct Message {
    std::string bytes;
    uint32_t records = 0;  // Data records in it (0: templates only).
  };

  // Encodes `records` into messages of at most max_message bytes; each is
  // appended to `out`. With `with_templates`, the first message starts with
  // the template set. `export_ms`: the export clock (Unix ms; the packet
  // clock when replaying a file). Advances the sequence number.
  void Encode(std::span<const FlowRecord> records, bool with_templates, int64_t export_ms,
              std::vector<Message>* out);
  // A message holding only the template set (refreshes, new TCP sessions).
  std::string TemplateMessage(int64_t export_ms);

  // IPFIX: data records sent so far; v9: packets (messages) sent so far.
  uint32_t sequence() const { return sequence_; }
  const EncoderOptions& options() const { return options_; }

 private:
  // The template set (IPFIX set ID 2, v9 FlowSet ID 0) with every template.
  void AppendTemplateSet(std::string* out) const;
  void AppendRecord(const FlowRecord& r, std::string* out) const;
  // The header, its length/count left 0 for FinishMessage.
  void StartMessage(int64_t export_ms, std::string* out);
  // Fills in the header's length (IPFIX) or record count (v9: `v9_count`,
  // template and data records) and advances the sequence number by
  // `data_records` (IPFIX) or one (v9).
  void FinishMessage(uint32_t data_records, uint32_t v9_count, std::string* out);
  size_t HeaderSize() const;

  EncoderOptions options_;
  uint32_t sequence_ = 0;
  int64_t v9_boot_ms_ = -1;  // v9 sysUptime origin, set by the first message.
};

}  // namespace rustnet::ipfix

#endif  // RUSTNET_DAEMON_EXPORT_IPFIX_FLOW_ENCODER_H_
