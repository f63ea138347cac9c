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

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  std::string query;
  uint16_t qtype = 0;
  std::vector<std::string> answers;  // A/AAAA text, CNAME targets.
};

// Parses one DNS message; nullopt if malformed (counted).
std::optional<DnsMessage> ParseDnsMessage(std::span<const uint8_t> msg, DpiAnomalies* anomalies);

std::string DnsTypeName(uint16_t type);
std::string DnsRcodeName(uint8_t rcode);

std::unique_ptr<Dissector> MakeDnsDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_DNS_H_
