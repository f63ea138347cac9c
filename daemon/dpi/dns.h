// DNS (RFC 1035) over UDP and TCP (two-byte length prefix, several
// messages per segment), and mDNS (RFC 6762) on port 5353.
//
// Names: labels at most 63 bytes, names at most 255, compression pointers
// only point backwards and at most kMaxDnsPointers are followed (Zeek's
// DNS.cc does the same).
#ifndef RUSTNET_DAEMON_DPI_DNS_H_
#define RUSTNET_DAEMON_DPI_DNS_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/dpi/dissector.h"

namespace rustnet {

inline constexpr int kMaxDnsPointers = 16;
inline constexpr size_t kMaxDnsAnswersKept = 8;
// Name-carrying records kept per connection (DnsFacts::records): at most
// this many, and at most kMaxDnsRecordBytes of names and ALPN ids in all.
inline constexpr size_t kMaxDnsRecordsKept = 16;
inline constexpr size_t kMaxDnsRecordBytes = 2048;
inline constexpr size_t kMaxDnsAlpnKept = 8;
// A name is flagged suspicious (DnsFacts::suspicious_name) with a label of
// this many bytes or more, or this long in all (DNS tunnels such as iodine
// and dnscat2 fill labels to 63 bytes and names to 255).
inline constexpr size_t kSuspiciousLabel = 60;
inline constexpr size_t kSuspiciousName = 160;

// DNS's anomalies (dns_anomaly::kPointerNotBackwards ...), mDNS's included.
#define RUSTNET_DNS_ANOMALIES(X)                         \
  X(kHeaderTruncated, "dns_header_truncated")            \
  X(kQuestionTruncated, "dns_question_truncated")        \
  X(kAnswerTruncated, "dns_answer_truncated")            \
  X(kRdataPastEnd, "dns_rdata_past_end")                 \
  X(kRdataBadLength, "dns_rdata_bad_length")             \
  X(kNamePastEnd, "dns_name_past_end")                   \
  X(kPointerNotBackwards, "dns_pointer_not_backwards")   \
  X(kTooManyPointers, "dns_too_many_pointers")           \
  X(kBadLabelType, "dns_bad_label_type")                 \
  X(kLabelPastEnd, "dns_label_past_end")                 \
  X(kNameTooLong, "dns_name_too_long")                   \
  X(kTcpMessageTooLong, "dns_tcp_message_too_long")          \
  X(kNameUnusualBytes, "dns_name_unusual_bytes")             \
  X(kNameSuspicious, "dns_name_suspicious")                  \
  X(kSvcParamMalformed, "dns_svc_param_malformed")
RUSTNET_DECLARE_DPI_ANOMALIES(dns_anomaly, RUSTNET_DNS_ANOMALIES)

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  std::string query;
  uint16_t qtype = 0;
  std::vector<std::string> answers;  // A/AAAA text, CNAME targets.
  std::vector<IpAddress> addresses;  // The A/AAAA answers in binary, in order.
  std::vector<DnsRecordFacts> records;  // Name-carrying answers and TXT lengths (first 64).
  bool suspicious_name = false;  // Some name had a long label or was long.
  bool unusual_name = false;     // Some name had bytes outside the alphabet.
};

// Parses one DNS message; nullopt if the header or a question is malformed
// (counted). A malformed answer is counted and ends the answers: those
// before it are kept (a truncated UDP answer still names its query).
//
// Names keep [A-Za-z0-9_-] and '*' labels; any other byte is replaced as
// nDPI's ndpi_grab_dns_name does ('_' if printable, '?' if not), counted
// once per message (dns_name_unusual_bytes; dns_name_suspicious likewise for
// a long label or name, kSuspiciousLabel / kSuspiciousName). mDNS names (`mdns`) are free text (RFC 6763
// §4.1 instance names): printable ASCII kept, other bytes '?', not counted.
std::optional<DnsMessage> ParseDnsMessage(std::span<const uint8_t> msg, DpiAnomalies* anomalies,
                                          bool mdns = false);
std::string DnsOpcodeName(uint8_t opcode);  // "" for 0 (QUERY).

std::string DnsTypeName(uint16_t type);
std::string DnsRcodeName(uint8_t rcode);

std::unique_ptr<Dissector> MakeDnsDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_DNS_H_
