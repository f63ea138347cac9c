#include "daemon/dpi/dns.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/byte_reader.h"
#include "common/flow_key.h"

namespace rustnet {
namespace {

constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 255;
constexpr size_t kMaxTcpBuffer = 64 * 1024;
constexpr int kMaxMessages = 4;  // Messages per direction looked at.

// Reads a possibly compressed name starting at `offset` of `msg`. Advances
// *end past the name's bytes at the original position.
std::optional<std::string> ReadName(std::span<const uint8_t> msg, size_t offset, size_t* end,
                                    DpiAnomalies* anomalies) {
  std::string name;
  size_t pos = offset;
  int pointers = 0;
  bool jumped = false;
  while (true) {
    if (pos >= msg.size()) {
      CountAnomaly(anomalies, "dns_name_past_end");
      return std::nullopt;
    }
    const uint8_t len = msg[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size()) {
        CountAnomaly(anomalies, "dns_name_past_end");
        return std::nullopt;
      }
      const size_t target = (size_t{len & 0x3fu} << 8) | msg[pos + 1];
      // Only backwards: a pointer to itself or forward could loop.
      if (target >= pos) {
        CountAnomaly(anomalies, "dns_pointer_not_backwards");
        return std::nullopt;
      }
      if (++pointers > kMaxDnsPointers) {
        CountAnomaly(anomalies, "dns_too_many_pointers");
        return std::nullopt;
      }
      if (!jumped) *end = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) {
      CountAnomaly(anomalies, "dns_bad_label_type");
      return std::nullopt;
    }
    if (len == 0) {
      if (!jumped) *end = pos + 1;
      return name.empty() ? "." : name;
    }
    if (len > kMaxLabel) {
      CountAnomaly(anomalies, "dns_label_too_long");
      return std::nullopt;
    }
    if (pos + 1 + len > msg.size()) {
      CountAnomaly(anomalies, "dns_label_past_end");
      return std::nullopt;
    }
    if (!name.empty()) name.push_back('.');
    for (size_t i = 0; i < len; ++i) {
      const uint8_t c = msg[pos + 1 + i];
      name.push_back(c > 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    if (name.size() > kMaxName) {
      CountAnomaly(anomalies, "dns_name_too_long");
      return std::nullopt;
    }
    pos += 1 + len;
  }
}

class DnsSession final : public Session {
 public:
  DnsSession(bool tcp, bool mdns) : tcp_(tcp), mdns_(mdns) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (!tcp_) return Handle(from_client, data, record, anomalies);
    if (!tcp_buf_) tcp_buf_ = std::make_unique<TcpBuffers>();
    std::vector<uint8_t>& buf = from_client ? tcp_buf_->client : tcp_buf_->server;
    if (buf.size() + data.size() > kMaxTcpBuffer) {
      CountAnomaly(anomalies, "dns_tcp_message_too_long");
      return seen_ ? ParseState::kDone : ParseState::kNotMine;
    }
    buf.insert(buf.end(), data.begin(), data.end());
    ParseState state = ParseState::kNeedMore;
    while (buf.size() >= 2) {
      const size_t len = (size_t{buf[0]} << 8) | buf[1];
      if (buf.size() < 2 + len) break;
      state = Handle(from_client, std::span<const uint8_t>(buf).subspan(2, len), record,
                     anomalies);
      buf.erase(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(2 + len));
      if (state != ParseState::kNeedMore) break;
    }
    return state;
  }
  size_t MemoryUsage() const override {
    return tcp_buf_ ? sizeof(TcpBuffers) + tcp_buf_->client.capacity() +
                          tcp_buf_->server.capacity()
                    : 0;
  }

 private:
  ParseState Handle(bool from_client, std::span<const uint8_t> msg, AppRecord* record,
                    DpiAnomalies* anomalies) {
    auto m = ParseDnsMessage(msg, anomalies);
    if (!m) return seen_ ? ParseState::kDone : ParseState::kNotMine;
    seen_ = true;
    record->protocol = mdns_ ? AppProtocol::kMdns : AppProtocol::kDns;
    record->dns.over_tcp = tcp_;
    if (record->dns.query.empty() && !m->query.empty()) {
      record->dns.query = m->query;
      record->dns.query_type = DnsTypeName(m->qtype);
    }
    if (m->response) {
      record->dns.response_code = DnsRcodeName(m->rcode);
      for (std::string& a : m->answers) {
        if (record->dns.answers.size() < kMaxDnsAnswersKept) record->dns.answers.push_back(a);
      }
      return ParseState::kDone;
    }
    (void)from_client;
    if (++messages_ >= kMaxMessages) return ParseState::kDone;
    return ParseState::kNeedMore;
  }

  bool tcp_;
  bool mdns_;
  bool seen_ = false;
  int messages_ = 0;
  // DNS over TCP: length-prefixed messages per direction (RFC 1035 §4.2.2).
  // Allocated on first use, so a UDP session (most of them, and they may
  // wait a while for their answer) stays small.
  struct TcpBuffers {
    std::vector<uint8_t> client, server;
  };
  std::unique_ptr<TcpBuffers> tcp_buf_;
};

// A quick structural check of a DNS header and first question.
bool PlausibleDns(std::span<const uint8_t> msg) {
  ByteReader r(msg);
  auto id = r.U16();
  auto flags = r.U16();
  auto qd = r.U16();
  auto an = r.U16();
  auto ns = r.U16();
  auto ar = r.U16();
  if (!id || !flags || !qd || !an || !ns || !ar) return false;
  const uint8_t opcode = (*flags >> 11) & 0xf;
  if (opcode > 5 || *qd > 16 || *an > 256) return false;
  if (*qd == 0) return (*flags & 0x8000) != 0 && *an > 0;  // mDNS announcements.
  size_t end = 0;
  return ReadName(msg, 12, &end, nullptr).has_value() && end + 4 <= msg.size();
}

class DnsDissector final : public Dissector {
 public:
  std::string_view name() const override { return "dns"; }
  bool Probe(const FlowInfo& flow, bool /*from_client*/,
             std::span<const uint8_t> data) const override {
    if (flow.transport == kIpProtoUdp) return PlausibleDns(data);
    if (flow.transport != kIpProtoTcp || data.size() < 2) return false;
    // TCP: length prefix, then a message (possibly still incomplete).
    const size_t len = (size_t{data[0]} << 8) | data[1];
    if (len < 12) return false;
    if (data.size() >= 2 + len) return PlausibleDns(data.subspan(2, len));
    return PortHint(flow) && data.size() >= 14;
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == 53 || flow.server_port == 5353 || flow.server_port == 5355;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<DnsSession>(flow.transport == kIpProtoTcp,
                                        flow.server_port == 5353 || flow.client_port == 5353);
  }
};

}  // namespace

std::optional<DnsMessage> ParseDnsMessage(std::span<const uint8_t> msg, DpiAnomalies* anomalies) {
  ByteReader r(msg);
  auto id = r.U16();
  auto flags = r.U16();
  auto qd = r.U16();
  auto an = r.U16();
  if (!id || !flags || !qd || !an || !r.Skip(4)) {
    CountAnomaly(anomalies, "dns_header_truncated");
    return std::nullopt;
  }
  DnsMessage m;
  m.id = *id;
  m.response = (*flags & 0x8000) != 0;
  m.opcode = static_cast<uint8_t>((*flags >> 11) & 0xf);
  m.rcode = static_cast<uint8_t>(*flags & 0xf);
  size_t pos = 12;
  for (uint16_t i = 0; i < *qd && i < 16; ++i) {
    size_t end = 0;
    auto name = ReadName(msg, pos, &end, anomalies);
    if (!name || end + 4 > msg.size()) {
      if (name) CountAnomaly(anomalies, "dns_question_truncated");
      return std::nullopt;
    }
    if (i == 0) {
      m.query = *name;
      m.qtype = static_cast<uint16_t>((msg[end] << 8) | msg[end + 1]);
    }
    pos = end + 4;
  }
  for (uint16_t i = 0; i < *an && i < 64; ++i) {
    size_t end = 0;
    auto name = ReadName(msg, pos, &end, anomalies);
    if (!name || end + 10 > msg.size()) {
      // A truncated answer section keeps what was read (UDP truncation).
      if (name) CountAnomaly(anomalies, "dns_answer_truncated");
      break;
    }
    ByteReader rr(msg.subspan(end));
    const uint16_t type = *rr.U16();
    rr.Skip(6);  // class, TTL
    const uint16_t rdlen = *rr.U16();
    const size_t rdata = end + 10;
    if (rdata + rdlen > msg.size()) {
      CountAnomaly(anomalies, "dns_rdata_past_end");
      break;
    }
    if (type == 1 && rdlen == 4) {
      m.answers.push_back(IpAddress::FromV4(msg.data() + rdata).ToString());
    } else if (type == 28 && rdlen == 16) {
      m.answers.push_back(IpAddress::FromV6(msg.data() + rdata).ToString());
    } else if (type == 5) {
      size_t cname_end = 0;
      if (auto target = ReadName(msg.subspan(0, rdata + rdlen), rdata, &cname_end, anomalies)) {
        m.answers.push_back(*target);
      }
    }
    pos = rdata + rdlen;
  }
  return m;
}

std::string DnsTypeName(uint16_t type) {
  switch (type) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 65: return "HTTPS";
    case 255: return "ANY";
    default: return absl::StrCat("TYPE", type);
  }
}

std::string DnsRcodeName(uint8_t rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return absl::StrCat("RCODE", rcode);
  }
}

std::unique_ptr<Dissector> MakeDnsDissector() { return std::make_unique<DnsDissector>(); }

}  // namespace rustnet
