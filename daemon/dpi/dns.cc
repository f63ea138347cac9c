#include "daemon/dpi/dns.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/stream_buffer.h"

namespace rustnet {
namespace {

// RFC 1035 §2.3.4 / §4.1.4: labels are at most 63 bytes (the length's top
// two bits are the label type), names at most 255.
constexpr size_t kMaxName = 255;
constexpr uint8_t kLabelTypeMask = 0xc0;
constexpr uint8_t kPointer = 0xc0;
// RFC 1035 §4.2.2: a 2-byte length, then the message.
constexpr size_t kTcpLengthBytes = 2;
constexpr size_t kMaxTcpFrame = kTcpLengthBytes + 0xffff;
constexpr int kMaxMessages = 4;  // Messages per direction looked at.
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypePtr = 12;
constexpr uint16_t kTypeMx = 15;
constexpr uint16_t kTypeTxt = 16;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeSrv = 33;
constexpr uint16_t kTypeSvcb = 64;
constexpr uint16_t kTypeHttps = 65;
constexpr size_t kMaxRecordsParsed = 64;  // Per message; the session keeps fewer.

// What ReadName noticed about the names it read (DnsMessage's flags).
struct NameFlags {
  bool mdns = false;  // Free-text names: no alphabet check.
  bool unusual = false;
  bool suspicious = false;
};

// nDPI's host-name alphabet (dns_validchar in protocols/dns.c): letters,
// digits, '-' and '_'.
bool HostNameByte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

// Appends one label's bytes to `name`: kept, or replaced as nDPI does.
// Returns true if a byte was replaced (DNS names only).
bool AppendLabel(std::span<const uint8_t> label, bool mdns, std::string* name) {
  bool replaced = false;
  const bool wildcard = label.size() == 1 && label[0] == '*';  // RFC 4592.
  for (uint8_t c : label) {
    const bool printable = c >= 0x20 && c < 0x7f;
    if (mdns || wildcard || HostNameByte(c)) {
      name->push_back(printable ? static_cast<char>(c) : '?');
      replaced = replaced || (!mdns && !printable);
    } else {
      name->push_back(printable ? '_' : '?');
      replaced = true;
    }
  }
  return replaced;
}

// Reads a possibly compressed name at `r`'s cursor; `r` spans the message
// from its first byte (pointers are offsets into it) and moves past the
// name's bytes at the original position. Nullopt if malformed (counted).
// A compression loop cannot hang it: pointers must point backwards (so a
// loop is a pointer that does not) and at most kMaxDnsPointers are followed.
std::optional<std::string> ReadName(ByteReader& r, DpiAnomalies* anomalies,
                                    NameFlags* flags = nullptr) {
  std::string name;
  ByteReader cur = r;  // Where the labels are read; moves to pointer targets.
  int pointers = 0;
  bool jumped = false;
  bool unusual = false;
  bool long_label = false;
  const bool mdns = flags != nullptr && flags->mdns;
  while (true) {
    const size_t label_start = cur.position();
    auto len = cur.U8();
    if (!len) {
      CountAnomaly(anomalies, dns_anomaly::kNamePastEnd);
      return std::nullopt;
    }
    if ((*len & kLabelTypeMask) == kPointer) {
      auto low = cur.U8();
      if (!low) {
        CountAnomaly(anomalies, dns_anomaly::kNamePastEnd);
        return std::nullopt;
      }
      const size_t target = (size_t{*len & 0x3fu} << 8) | *low;
      // Only backwards: a pointer to itself or forward could loop.
      if (target >= label_start) {
        CountAnomaly(anomalies, dns_anomaly::kPointerNotBackwards);
        return std::nullopt;
      }
      if (++pointers > kMaxDnsPointers) {
        CountAnomaly(anomalies, dns_anomaly::kTooManyPointers);
        return std::nullopt;
      }
      if (!jumped) r = cur;  // The name ends, in place, after its first pointer.
      jumped = true;
      if (!cur.Seek(target)) {  // Behind label_start: always there.
        CountAnomaly(anomalies, dns_anomaly::kNamePastEnd);
        return std::nullopt;
      }
      continue;
    }
    if ((*len & kLabelTypeMask) != 0) {
      CountAnomaly(anomalies, dns_anomaly::kBadLabelType);  // 0x40, 0x80: RFC 6891 §5.
      return std::nullopt;
    }
    if (*len == 0) {
      if (!jumped) r = cur;
      // Counted once per message, by ParseDnsMessage.
      if (flags != nullptr) {
        flags->unusual = flags->unusual || unusual;
        flags->suspicious = flags->suspicious || long_label || name.size() >= kSuspiciousName;
      }
      return name.empty() ? "." : name;
    }
    auto label = cur.Bytes(*len);
    if (!label) {
      CountAnomaly(anomalies, dns_anomaly::kLabelPastEnd);
      return std::nullopt;
    }
    if (!name.empty()) name.push_back('.');
    unusual = AppendLabel(*label, mdns, &name) || unusual;
    long_label = long_label || *len >= kSuspiciousLabel;
    if (name.size() > kMaxName) {
      CountAnomaly(anomalies, dns_anomaly::kNameTooLong);
      return std::nullopt;
    }
  }
}

// A DNS-over-TCP message's whole length, prefix included (for ForEachFrame).
std::optional<size_t> TcpFrameLength(ByteReader header) {
  auto len = header.U16();
  if (!len) return std::nullopt;
  return kTcpLengthBytes + size_t{*len};
}

constexpr uint8_t kOpcodeInverse = 1;

size_t RecordBytes(const DnsRecordFacts& r) {
  size_t n = r.name.size() + r.target.size();
  for (const std::string& a : r.alpn) n += a.size();
  return n;
}

// Appends `records` to `dns->records` up to kMaxDnsRecordsKept records and
// kMaxDnsRecordBytes of names in all.
void KeepRecords(std::vector<DnsRecordFacts> records, DnsFacts* dns) {
  size_t bytes = 0;
  for (const DnsRecordFacts& r : dns->records) bytes += RecordBytes(r);
  for (DnsRecordFacts& r : records) {
    if (dns->records.size() >= kMaxDnsRecordsKept) return;
    const size_t n = RecordBytes(r);
    if (bytes + n > kMaxDnsRecordBytes) return;
    bytes += n;
    dns->records.push_back(std::move(r));
  }
}

class DnsSession final : public Session {
 public:
  DnsSession(bool tcp, bool mdns) : tcp_(tcp), mdns_(mdns) {}

  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (!tcp_) return Handle(data, record, anomalies);
    if (!tcp_buf_) tcp_buf_ = std::make_unique<TcpBuffers>();
    ParseState state = ParseState::kNeedMore;
    const FrameStatus status = ForEachFrame(
        from_client ? tcp_buf_->client : tcp_buf_->server, data, kTcpLengthBytes, kMaxTcpFrame,
        TcpFrameLength, [&](ByteReader frame) {
          auto message = frame.Skip(kTcpLengthBytes) ? frame.rest() : std::span<const uint8_t>();
          state = Handle(message, record, anomalies);
          return state == ParseState::kNeedMore;
        });
    if (status == FrameStatus::kTooLong || status == FrameStatus::kMalformed) {
      // Unreachable for a 2-byte length within kMaxTcpFrame; counted if ever.
      CountAnomaly(anomalies, dns_anomaly::kTcpMessageTooLong);
      return seen_ ? ParseState::kDone : ParseState::kNotMine;
    }
    return state;
  }
  size_t MemoryUsage() const override {
    return tcp_buf_ ? sizeof(TcpBuffers) + tcp_buf_->client.MemoryUsage() +
                          tcp_buf_->server.MemoryUsage()
                    : 0;
  }

 private:
  ParseState Handle(std::span<const uint8_t> msg, AppRecord* record, DpiAnomalies* anomalies) {
    auto m = ParseDnsMessage(msg, anomalies, mdns_);
    if (!m) return seen_ ? ParseState::kDone : ParseState::kNotMine;
    seen_ = true;
    DnsFacts& dns = record->dns;
    record->protocol = mdns_ ? AppProtocol::kMdns : AppProtocol::kDns;
    dns.over_tcp = tcp_;
    dns.suspicious_name = dns.suspicious_name || m->suspicious_name;
    dns.unusual_name = dns.unusual_name || m->unusual_name;
    if (dns.opcode.empty()) dns.opcode = DnsOpcodeName(m->opcode);
    if (dns.query.empty() && !m->query.empty()) {
      dns.query = m->query;
      dns.query_type = DnsTypeName(m->qtype);
    } else if (dns.query.empty() && m->opcode == kOpcodeInverse && !m->response &&
               !m->answers.empty()) {
      // RFC 1035 §6.4.1: an inverse query asks for the names of the
      // address in its (only) answer record.
      dns.query = m->answers.front();
      dns.query_type = "IQUERY";
    }
    if (m->response) {
      dns.response_code = DnsRcodeName(m->rcode);
      for (std::string& a : m->answers) {
        if (dns.answers.size() < kMaxDnsAnswersKept) dns.answers.push_back(a);
      }
      for (const IpAddress& a : m->addresses) {
        if (dns.addresses.size() < kMaxDnsAnswersKept) dns.addresses.push_back(a);
      }
      KeepRecords(std::move(m->records), &dns);
      return ParseState::kDone;
    }
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
    StreamBuffer client, server;
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
  // mDNS announcements; inverse queries (RFC 1035 §6.4.1: no question, one answer).
  if (*qd == 0) return ((*flags & 0x8000) != 0 || opcode == kOpcodeInverse) && *an > 0;
  return ReadName(r, nullptr).has_value() && r.Skip(4);  // QTYPE, QCLASS.
}

class DnsDissector final : public Dissector {
 public:
  std::string_view name() const override { return "dns"; }
  bool Probe(const FlowInfo& flow, bool /*from_client*/,
             std::span<const uint8_t> data) const override {
    if (flow.transport == kIpProtoUdp) return PlausibleDns(data);
    if (flow.transport != kIpProtoTcp) return false;
    // TCP: length prefix, then a message (possibly still incomplete).
    ByteReader r(data);
    auto len = r.U16();
    if (!len || *len < 12) return false;
    if (auto message = r.Bytes(*len)) return PlausibleDns(*message);
    return PortHint(flow) && r.remaining() >= 12;
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

std::optional<DnsMessage> ParseDnsMessage(std::span<const uint8_t> msg, DpiAnomalies* anomalies,
                                          bool mdns) {
  // RFC 1035 §4.1.1.
  ByteReader r(msg);
  auto id = r.U16();
  auto flags = r.U16();
  auto qd = r.U16();
  auto an = r.U16();
  if (!id || !flags || !qd || !an || !r.Skip(4)) {  // NSCOUNT, ARCOUNT.
    CountAnomaly(anomalies, dns_anomaly::kHeaderTruncated);
    return std::nullopt;
  }
  DnsMessage m;
  m.id = *id;
  m.response = (*flags & 0x8000) != 0;
  m.opcode = static_cast<uint8_t>((*flags >> 11) & 0xf);
  m.rcode = static_cast<uint8_t>(*flags & 0xf);
  NameFlags name_flags;
  name_flags.mdns = mdns;
  // §4.1.2: QNAME, QTYPE, QCLASS.
  for (uint16_t i = 0; i < *qd && i < 16; ++i) {
    auto name = ReadName(r, anomalies, &name_flags);
    if (!name) return std::nullopt;
    auto qtype = r.U16();
    if (!qtype || !r.Skip(2)) {
      CountAnomaly(anomalies, dns_anomaly::kQuestionTruncated);
      return std::nullopt;
    }
    if (i == 0) {
      m.query = *std::move(name);
      m.qtype = *qtype;
    }
  }
  // §4.1.3: NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA. A truncated answer
  // section keeps what was read (UDP truncation).
  for (uint16_t i = 0; i < *an && i < 64; ++i) {
    auto name = ReadName(r, anomalies, &name_flags);
    if (!name) break;
    auto type = r.U16();
    const bool class_ttl = type && r.Skip(6);
    auto rdlength = class_ttl ? r.U16() : std::nullopt;
    if (!rdlength) {
      CountAnomaly(anomalies, dns_anomaly::kAnswerTruncated);
      break;
    }
    const size_t rdata_start = r.position();
    auto rdata = r.Sub(*rdlength);
    if (!rdata) {
      CountAnomaly(anomalies, dns_anomaly::kRdataPastEnd);
      break;
    }
    if (*type == kTypeA || *type == kTypeAaaa) {
      const size_t want = *type == kTypeA ? 4 : 16;
      auto addr = rdata->Bytes(want);
      if (!addr || !rdata->empty()) {
        // Empty RDATA is legal in UPDATE prerequisites (RFC 2136 §2.4).
        if (*rdlength != 0) CountAnomaly(anomalies, dns_anomaly::kRdataBadLength);
        continue;
      }
      const IpAddress address =
          want == 4 ? IpAddress::FromV4(addr->data()) : IpAddress::FromV6(addr->data());
      m.answers.push_back(address.ToString());
      m.addresses.push_back(address);
      continue;
    }
    if (*rdlength == 0) continue;  // UPDATE prerequisites and deletions.
    // A name inside the RDATA may point back into the message but not past
    // the RDATA's end.
    auto upto_rdata_end = ByteReader(msg).Sub(r.position());
    if (!upto_rdata_end || !upto_rdata_end->Seek(rdata_start)) continue;
    ByteReader& rd = *upto_rdata_end;
    DnsRecordFacts rec;
    rec.type = DnsTypeName(*type);
    rec.name = *name;
    bool keep = true;
    switch (*type) {
      case kTypeCname:
      case kTypeNs:
      case kTypePtr:
        if (auto target = ReadName(rd, anomalies, &name_flags)) {
          if (*type == kTypeCname) m.answers.push_back(*target);
          rec.target = *std::move(target);
        } else {
          keep = false;
        }
        break;
      case kTypeMx: {  // RFC 1035 §3.3.9: PREFERENCE, EXCHANGE.
        auto pref = rd.U16();
        auto target = pref ? ReadName(rd, anomalies, &name_flags) : std::nullopt;
        if (!pref) CountAnomaly(anomalies, dns_anomaly::kRdataBadLength);
        keep = target.has_value();
        if (keep) {
          rec.priority = *pref;
          rec.target = *std::move(target);
        }
        break;
      }
      case kTypeSrv: {  // RFC 2782: PRIORITY, WEIGHT, PORT, TARGET.
        auto prio = rd.U16();
        const bool weight = prio && rd.Skip(2);
        auto port = weight ? rd.U16() : std::nullopt;
        auto target = port ? ReadName(rd, anomalies, &name_flags) : std::nullopt;
        if (!port) CountAnomaly(anomalies, dns_anomaly::kRdataBadLength);
        keep = target.has_value();
        if (keep) {
          rec.priority = *prio;
          rec.port = *port;
          rec.target = *std::move(target);
        }
        break;
      }
      case kTypeSvcb:
      case kTypeHttps: {  // RFC 9460 §2.2: SvcPriority, TargetName, SvcParams.
        auto prio = rd.U16();
        auto target = prio ? ReadName(rd, anomalies, &name_flags) : std::nullopt;
        if (!prio) CountAnomaly(anomalies, dns_anomaly::kRdataBadLength);
        keep = target.has_value();
        if (!keep) break;
        rec.priority = *prio;
        rec.target = *std::move(target);
        // SvcParams: key, length, value; "alpn" (1) and "port" (3) kept.
        while (!rd.empty()) {
          auto key = rd.U16();
          auto value = key ? rd.PrefixedU16() : std::nullopt;
          if (!value) {
            CountAnomaly(anomalies, dns_anomaly::kSvcParamMalformed);
            break;
          }
          if (*key == 1) {
            while (!value->empty()) {
              auto alpn_id = value->PrefixedU8();
              if (!alpn_id) {
                CountAnomaly(anomalies, dns_anomaly::kSvcParamMalformed);
                break;
              }
              if (rec.alpn.size() < kMaxDnsAlpnKept) {
                std::string text;
                AppendLabel(alpn_id->rest(), /*mdns=*/true, &text);  // Printable ASCII only.
                rec.alpn.push_back(std::move(text));
              }
            }
          } else if (*key == 3) {
            auto port = value->U16();
            if (port && value->empty()) {
              rec.port = *port;
            } else {
              CountAnomaly(anomalies, dns_anomaly::kSvcParamMalformed);
            }
          }
        }
        break;
      }
      case kTypeTxt:
        rec.txt_length = *rdlength;  // The text itself is never kept.
        break;
      default:
        keep = false;
        break;
    }
    if (keep && m.records.size() < kMaxRecordsParsed) m.records.push_back(std::move(rec));
  }
  m.unusual_name = name_flags.unusual;
  m.suspicious_name = name_flags.suspicious;
  if (m.unusual_name) CountAnomaly(anomalies, dns_anomaly::kNameUnusualBytes);
  if (m.suspicious_name) CountAnomaly(anomalies, dns_anomaly::kNameSuspicious);
  return m;
}

std::string DnsOpcodeName(uint8_t opcode) {
  switch (opcode) {
    case 0: return "";
    case 1: return "IQUERY";  // RFC 1035 §6.4 (obsoleted by RFC 3425, still seen).
    case 2: return "STATUS";
    case 4: return "NOTIFY";  // RFC 1996.
    case 5: return "UPDATE";  // RFC 2136.
    default: return absl::StrCat("OPCODE", opcode);
  }
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
    case 64: return "SVCB";
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
