// SMB (MS-SMB2 §2.2.3-4, MS-SMB), NetBIOS (RFC 1002), SSDP (UPnP Device
// Architecture 2.0 §1.3), Kerberos (RFC 4120 §5, DER read by a small TLV
// walker that goes through ByteReader).
#include "daemon/dpi/lan.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/stream_buffer.h"
#include "daemon/dpi/text_lines.h"

namespace rustnet {

std::optional<std::string> DecodeNetbiosName(std::span<const uint8_t> encoded) {
  if (encoded.size() != 32) return std::nullopt;
  // RFC 1002 §4.1: 15 bytes of name padded with spaces (the wildcard "*"
  // with NULs), then the suffix byte.
  std::array<uint8_t, 15> raw{};
  uint8_t suffix = 0;
  for (size_t i = 0; i < 32; i += 2) {
    const uint8_t hi = encoded[i], lo = encoded[i + 1];
    if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P') return std::nullopt;
    const auto c = static_cast<uint8_t>(((hi - 'A') << 4) | (lo - 'A'));
    if (i == 30) {
      suffix = c;
    } else {
      raw[i / 2] = c;
    }
  }
  size_t length = raw.size();
  while (length > 0 && (raw[length - 1] == ' ' || raw[length - 1] == 0)) --length;
  std::string name;
  for (size_t i = 0; i < length; ++i) {
    name.push_back(raw[i] >= 0x20 && raw[i] < 0x7f ? static_cast<char>(raw[i]) : '?');
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  name += '<';
  name += kHex[suffix >> 4];
  name += kHex[suffix & 15];
  name += '>';
  return name;
}

void RelabelLlmnr(uint8_t transport, uint16_t client_port, uint16_t server_port,
                  AppRecord* record) {
  if (record->protocol == AppProtocol::kDns && transport == kIpProtoUdp &&
      (server_port == 5355 || client_port == 5355)) {
    record->protocol = AppProtocol::kLlmnr;
  }
}

namespace {

// --- SMB over TCP ----------------------------------------------------------

constexpr size_t kMaxSmbFrame = 16 * 1024;  // Negotiation messages are small.
constexpr uint8_t kNbssMessage = 0x00;
constexpr uint8_t kNbssRequest = 0x81;

std::string Smb2DialectName(uint16_t d) {
  switch (d) {
    case 0x0202: return "SMB 2.0.2";
    case 0x0210: return "SMB 2.1";
    case 0x0300: return "SMB 3.0";
    case 0x0302: return "SMB 3.0.2";
    case 0x0311: return "SMB 3.1.1";
    case 0x02ff: return "SMB 2.x";
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out = "SMB 0x";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(d >> shift) & 15];
      return out;
    }
  }
}

// The SMB protocol id at the reader: 1, 2 (0xfe, also 0xfd transform) or 0.
int SmbVersion(const ByteReader& r) {
  const auto magic = r.PeekU32(0);
  if (magic == 0xff534d42u) return 1;
  if (magic == 0xfe534d42u || magic == 0xfd534d42u) return 2;
  return 0;
}

class SmbSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    StreamBuffer& buf = from_client ? client_ : server_;
    bool bad = false;
    bool done = false;
    const FrameStatus st = ForEachFrame(
        buf, data, 4, kMaxSmbFrame,
        [](ByteReader h) -> std::optional<size_t> {
          const auto type = h.U8();
          const auto len = h.U24();
          if (!type || !len) return std::nullopt;
          if (*type != kNbssMessage && (*type & 0xf0) != 0x80) return std::nullopt;
          return *len + 4;
        },
        [&](ByteReader frame) {
          const auto type = frame.U8();
          frame.Skip(3);
          if (type == kNbssRequest) {
            // Called name, calling name: each 0x20 + 32 encoded bytes + 0.
            if (!from_client || frame.U8() != 0x20) {
              bad = true;
              return false;
            }
            auto encoded = frame.Bytes(32);
            auto name = encoded ? DecodeNetbiosName(*encoded) : std::nullopt;
            if (!name) {
              CountAnomaly(anomalies, lan_anomaly::kNetbiosNameMalformed);
              bad = true;
              return false;
            }
            record->lan->name = *name;
            if (record->protocol != AppProtocol::kSmb) {
              record->protocol = AppProtocol::kNetbiosSession;
            }
            return true;
          }
          if (type != kNbssMessage) return true;  // Responses, keep-alives.
          const int version = SmbVersion(frame);
          if (version == 0) {
            // A session message that is not SMB: NetBIOS session it stays
            // (if a request named it), or not ours.
            bad = record->protocol != AppProtocol::kNetbiosSession;
            done = !bad;
            return false;
          }
          record->protocol = AppProtocol::kSmb;
          if (version == 1) {
            if (record->lan->version.empty() || !from_client) record->lan->version = "SMB 1";
            done = !from_client;
            return !done;
          }
          // SMB2 header: protocol id, structure size 64, ..., command at 12.
          ByteReader h = frame;
          const auto structure = h.PeekU16(4);
          const auto command = h.PeekU16(12);
          if (structure != 0x4000 || !command) {  // (little-endian 64)
            bad = true;
            return false;
          }
          if (!from_client && *command == 0) {  // NEGOTIATE response.
            if (h.Skip(64) && h.U16Le() == 65 && h.Skip(2)) {
              if (const auto dialect = h.U16Le()) record->lan->version = Smb2DialectName(*dialect);
            }
            done = true;
            return false;
          }
          if (record->lan->version.empty()) record->lan->version = "SMB 2";
          return true;
        });
    if (st == FrameStatus::kTooLong) CountAnomaly(anomalies, lan_anomaly::kSmbFrameTooLong);
    const bool mine = record->protocol == AppProtocol::kSmb ||
                      record->protocol == AppProtocol::kNetbiosSession;
    if (bad || st == FrameStatus::kMalformed || st == FrameStatus::kTooLong) {
      return mine ? ParseState::kDone : ParseState::kNotMine;
    }
    if (done) return ParseState::kDone;
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return client_.MemoryUsage() + server_.MemoryUsage(); }

 private:
  StreamBuffer client_, server_;
};

class SmbDissector final : public Dissector {
 public:
  std::string_view name() const override { return "smb"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client || data.empty()) return false;
    const ByteReader r(data);
    if (data[0] == kNbssRequest) return !r.PeekU8(4) || r.PeekU8(4) == 0x20;
    if (data[0] != kNbssMessage) return false;
    ByteReader smb = r;
    if (!smb.Skip(4) || smb.remaining() < 4) return data.size() < 8 && PortHint(flow);
    return SmbVersion(smb) != 0;
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == 445 || flow.server_port == 139;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<SmbSession>();
  }
};

// --- NetBIOS name service --------------------------------------------------

std::string_view NetbiosOpcodeName(unsigned op) {
  switch (op) {
    case 0: return "query";
    case 5: return "registration";
    case 6: return "release";
    case 7: return "wack";
    case 8: case 9: return "refresh";
    case 15: return "multi-homed registration";
    default: return "other";
  }
}

struct NbnsMessage {
  std::string name;
  std::string operation;
};

std::optional<NbnsMessage> ParseNbns(std::span<const uint8_t> data, DpiAnomalies* anomalies) {
  ByteReader r(data);
  if (!r.Skip(2)) return std::nullopt;  // Transaction id.
  const auto flags = r.U16();
  const auto qd = r.U16();
  const auto an = r.U16();
  if (!flags || !r.Skip(4) || !qd || !an) return std::nullopt;
  if (*qd + *an != 1 && *qd + *an != 0) return std::nullopt;
  const unsigned opcode = (*flags >> 11) & 0xf;
  if (opcode != 0 && (opcode < 5 || opcode > 9) && opcode != 15) return std::nullopt;
  if (*qd + *an == 0) return std::nullopt;
  if (r.U8() != 0x20) return std::nullopt;
  auto encoded = r.Bytes(32);
  if (!encoded) return std::nullopt;
  auto name = DecodeNetbiosName(*encoded);
  if (!name) {
    CountAnomaly(anomalies, lan_anomaly::kNetbiosNameMalformed);
    return std::nullopt;
  }
  NbnsMessage m;
  m.name = std::move(*name);
  m.operation = std::string(NetbiosOpcodeName(opcode));
  if ((*flags & 0x8000) != 0) m.operation += " response";
  return m;
}

class NetbiosNsSession final : public Session {
 public:
  ParseState Feed(bool, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    auto m = ParseNbns(data, anomalies);
    if (!m) return ParseState::kNotMine;
    record->protocol = AppProtocol::kNetbiosNs;
    record->lan->name = std::move(m->name);
    record->lan->message_type = std::move(m->operation);
    return ParseState::kDone;
  }
};

class NetbiosNsDissector final : public Dissector {
 public:
  std::string_view name() const override { return "netbios-ns"; }
  bool Probe(const FlowInfo& flow, bool, std::span<const uint8_t> data) const override {
    // The name's length byte and its first encoded character.
    return flow.transport == kIpProtoUdp && data.size() >= 50 && data[12] == 0x20 &&
           data[13] >= 'A' && data[13] <= 'P';
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 137; }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<NetbiosNsSession>();
  }
};

// --- NetBIOS datagram service (RFC 1002 §4.4) -------------------------------
// DIRECT_UNIQUE, DIRECT_GROUP and BROADCAST datagrams (types 0x10-0x12):
// type, flags (reserved high nibble zero), id, source IP and port, the
// length of what follows the offset field, the offset, then the source and
// destination names (0x20, 32 encoded bytes, 0) and the user data. Named
// only when that data is SMB (MS-BRWS browser announcements, mailslots):
// SMB, version "SMB 1", the source name in lan.name — nDPI's NetBIOS.SMBv1.
constexpr size_t kNbdgmHeaderBytes = 14;

bool ParseNbdgm(std::span<const uint8_t> data, AppRecord* record, DpiAnomalies* anomalies) {
  ByteReader r(data);
  const auto type = r.U8();
  const auto flags = r.U8();
  const auto length = r.Skip(8) ? r.U16() : std::nullopt;
  if (!type || *type < 0x10 || *type > 0x12 || !flags || (*flags & 0xf0) != 0 || !length ||
      *length != data.size() - kNbdgmHeaderBytes || !r.Skip(2) || r.U8() != 0x20) {
    return false;
  }
  auto source = r.Bytes(32);
  auto destination = source && r.U8() == 0 && r.U8() == 0x20 ? r.Bytes(32) : std::nullopt;
  static constexpr uint8_t kSmb1[] = {0xff, 'S', 'M', 'B'};
  auto smb = destination && r.U8() == 0 ? r.PeekSub(4) : std::nullopt;
  if (!smb || !std::equal(std::begin(kSmb1), std::end(kSmb1), smb->rest().begin())) return false;
  auto name = DecodeNetbiosName(*source);
  if (!name || !DecodeNetbiosName(*destination)) {
    CountAnomaly(anomalies, lan_anomaly::kNetbiosNameMalformed);
    return false;
  }
  record->protocol = AppProtocol::kSmb;
  record->lan->version = "SMB 1";
  record->lan->name = std::move(*name);
  return true;
}

class NetbiosDgmSession final : public Session {
 public:
  ParseState Feed(bool, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    return ParseNbdgm(data, record, anomalies) ? ParseState::kDone : ParseState::kNotMine;
  }
};

class NetbiosDgmDissector final : public Dissector {
 public:
  std::string_view name() const override { return "netbios-dgm"; }
  bool Probe(const FlowInfo& flow, bool, std::span<const uint8_t> data) const override {
    // The message type and the source name's length byte.
    return flow.transport == kIpProtoUdp && data.size() >= kNbdgmHeaderBytes + 68 + 4 &&
           data[0] >= 0x10 && data[0] <= 0x12 && data[kNbdgmHeaderBytes] == 0x20;
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 138; }
  bool MayStartWith(uint8_t transport, uint8_t first_byte) const override {
    return transport == kIpProtoUdp && first_byte >= 0x10 && first_byte <= 0x12;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<NetbiosDgmSession>();
  }
};

// --- SSDP ------------------------------------------------------------------

constexpr size_t kMaxSsdpLine = 1024;

bool SsdpStart(std::span<const uint8_t> data) {
  return StartsWithNoCase(data, "M-SEARCH * HTTP/1.") || StartsWithNoCase(data, "NOTIFY * HTTP/1.");
}

class SsdpSession final : public Session {
 public:
  explicit SsdpSession(const FlowInfo& flow) : flow_(flow) {}
  ParseState Feed(bool, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies*) override {
    const bool response = StartsWithNoCase(data, "HTTP/1.") &&
                          (flow_.server_port == 1900 || flow_.client_port == 1900);
    if (!SsdpStart(data) && !response) return ParseState::kNotMine;
    ByteReader r(data);
    bool first = true;
    while (auto line = r.BytesUntil('\n')) {
      if (line->size() > kMaxSsdpLine) break;
      if (first) {
        first = false;
        const WordAndRest w = FirstWord(*line);
        record->lan->message_type = response ? "response" : w.word;
        continue;
      }
      // "NAME: value" (any case, spaces after the colon skipped).
      ByteReader header(*line);
      auto name = header.BytesUntil(':');
      if (!name) continue;
      auto value_bytes = header.rest();
      while (!value_bytes.empty() && value_bytes.front() == ' ') {
        value_bytes = value_bytes.subspan(1);
      }
      auto value = [&] { return PrintableText(value_bytes, kMaxTextField); };
      auto is = [&](std::string_view want) {
        return name->size() == want.size() && StartsWithNoCase(*name, want);
      };
      if (is("ST") || is("NT")) {
        record->lan->name = value();
      } else if (is("SERVER") || is("USER-AGENT")) {
        if (record->lan->agent.empty()) record->lan->agent = value();
      }
    }
    record->protocol = AppProtocol::kSsdp;
    return ParseState::kDone;
  }

 private:
  FlowInfo flow_;
};

class SsdpDissector final : public Dissector {
 public:
  std::string_view name() const override { return "ssdp"; }
  bool Probe(const FlowInfo& flow, bool, std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoUdp || data.empty() || !IsAsciiLetter(data[0])) return false;
    return SsdpStart(data) || (PortHint(flow) && StartsWithNoCase(data, "HTTP/1."));
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == 1900 || flow.client_port == 1900;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<SsdpSession>(flow);
  }
};

// --- Kerberos --------------------------------------------------------------

constexpr size_t kMaxKerberosMessage = 64 * 1024;

struct Tlv {
  uint8_t tag = 0;
  ByteReader value;
};

// One DER TLV (single-byte tags, definite lengths up to 4 bytes).
std::optional<Tlv> ReadTlv(ByteReader& r) {
  ByteReader copy = r;
  const auto tag = copy.U8();
  const auto first = copy.U8();
  if (!tag || !first || (*tag & 0x1f) == 0x1f) return std::nullopt;
  size_t len = *first;
  if (*first & 0x80) {
    const unsigned n = *first & 0x7f;
    if (n == 0 || n > 4) return std::nullopt;
    len = 0;
    for (unsigned i = 0; i < n; ++i) {
      const auto b = copy.U8();
      if (!b) return std::nullopt;
      len = (len << 8) | *b;
    }
  }
  auto value = copy.Sub(len);
  if (!value) return std::nullopt;
  r = copy;
  return Tlv{*tag, *value};
}

// The value of context-specific element [n] (constructed: 0xa0 | n) in a
// SEQUENCE's content.
std::optional<ByteReader> ContextElement(ByteReader seq, unsigned n) {
  while (!seq.empty()) {
    auto tlv = ReadTlv(seq);
    if (!tlv) return std::nullopt;
    if (tlv->tag == (0xa0 | n)) return tlv->value;
  }
  return std::nullopt;
}

// The single TLV inside an explicit tag, expected to have `tag`.
std::optional<ByteReader> Inner(std::optional<ByteReader> outer, uint8_t tag) {
  if (!outer) return std::nullopt;
  auto tlv = ReadTlv(*outer);
  if (!tlv || tlv->tag != tag) return std::nullopt;
  return tlv->value;
}

std::optional<int64_t> DerInteger(std::optional<ByteReader> v) {
  if (!v || v->empty() || v->remaining() > 4) return std::nullopt;
  int64_t x = static_cast<int8_t>(*v->PeekU8());
  v->Skip(1);
  while (auto b = v->U8()) x = (x << 8) | *b;
  return x;
}

std::string KerberosString(std::optional<ByteReader> v) {
  if (!v) return {};
  return PrintableText(v->rest(), kMaxTextField);
}

// PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF
// GeneralString }: "user" or "host/name".
std::string Principal(std::optional<ByteReader> explicit_tag) {
  auto seq = Inner(explicit_tag, 0x30);
  if (!seq) return {};
  auto strings = Inner(ContextElement(*seq, 1), 0x30);
  if (!strings) return {};
  std::string out;
  int parts = 0;
  while (!strings->empty() && parts++ < 4) {
    auto s = ReadTlv(*strings);
    if (!s) break;
    if (!out.empty()) out += '/';
    out += PrintableText(s->value.rest(), kMaxTextField);
  }
  return out;
}

std::string_view KerberosTypeName(uint8_t app) {
  switch (app) {
    case 10: return "AS-REQ";
    case 11: return "AS-REP";
    case 12: return "TGS-REQ";
    case 13: return "TGS-REP";
    case 14: return "AP-REQ";
    case 15: return "AP-REP";
    case 30: return "KRB-ERROR";
    default: return {};
  }
}

bool KerberosAppTag(uint8_t tag) {
  return (tag & 0xe0) == 0x60 && !KerberosTypeName(tag & 0x1f).empty();
}

// Reads one Kerberos message into *record; false if it is not one.
bool ParseKerberos(std::span<const uint8_t> data, AppRecord* record) {
  ByteReader r(data);
  auto app = ReadTlv(r);
  if (!app || !KerberosAppTag(app->tag)) return false;
  const uint8_t type = app->tag & 0x1f;
  auto seq = ReadTlv(app->value);
  if (!seq || seq->tag != 0x30) return false;
  const ByteReader body = seq->value;
  // KDC-REQ: pvno [1], msg-type [2], req-body [4]; the others: pvno [0], msg-type [1].
  const bool request = type == 10 || type == 12;
  const auto pvno = DerInteger(Inner(ContextElement(body, request ? 1 : 0), 0x02));
  const auto msg_type = DerInteger(Inner(ContextElement(body, request ? 2 : 1), 0x02));
  if (pvno != 5 || msg_type != type) return false;
  record->lan->message_type = std::string(KerberosTypeName(type));
  if (request) {
    if (auto req_body = Inner(ContextElement(body, 4), 0x30)) {
      record->lan->user = Principal(ContextElement(*req_body, 1));
      record->lan->name = KerberosString(Inner(ContextElement(*req_body, 2), 0x1b));
    }
  } else if (type == 11 || type == 13) {
    record->lan->name = KerberosString(Inner(ContextElement(body, 3), 0x1b));
    record->lan->user = Principal(ContextElement(body, 4));
  } else if (type == 30) {
    record->lan->name = KerberosString(Inner(ContextElement(body, 9), 0x1b));
    if (auto c = Principal(ContextElement(body, 8)); !c.empty()) record->lan->user = c;
  }
  record->protocol = AppProtocol::kKerberos;
  return true;
}

class KerberosSession final : public Session {
 public:
  explicit KerberosSession(bool tcp) : tcp_(tcp) {}
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    // The client's request names the principal; a reply may fill in what
    // it lacked (a TGS-REQ has no cname). Only the first message of each
    // side is read.
    bool& seen = from_client ? client_seen_ : server_seen_;
    if (seen) return ParseState::kNeedMore;
    AppRecord scratch = *record;
    bool ok = false;
    if (!tcp_) {
      ok = ParseKerberos(data, &scratch);
    } else {
      StreamBuffer& buf = from_client ? client_ : server_;
      bool stopped = false;
      const FrameStatus st = ForEachFrame(
          buf, data, 4, kMaxKerberosMessage,
          [](ByteReader h) -> std::optional<size_t> {
            auto len = h.U32();
            if (!len || (*len & 0x80000000u) != 0) return std::nullopt;
            return size_t{*len} + 4;
          },
          [&](ByteReader frame) {
            frame.Skip(4);
            ok = ParseKerberos(frame.rest(), &scratch);
            stopped = true;
            return false;
          });
      if (st == FrameStatus::kNeedMore && !stopped) return ParseState::kNeedMore;
      buf = {};
    }
    if (!ok) {
      if (record->protocol == AppProtocol::kKerberos) {
        CountAnomaly(anomalies, lan_anomaly::kKerberosMalformed);
        return ParseState::kDone;
      }
      return ParseState::kNotMine;
    }
    seen = true;
    // The request's facts lead; the reply adds what is missing.
    if (from_client || record->protocol != AppProtocol::kKerberos) {
      *record = std::move(scratch);
    } else {
      if (record->lan->user.empty()) record->lan->user = scratch.lan->user;
      if (record->lan->name.empty()) record->lan->name = scratch.lan->name;
    }
    return client_seen_ && server_seen_ ? ParseState::kDone : ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return client_.MemoryUsage() + server_.MemoryUsage(); }

 private:
  bool tcp_;
  StreamBuffer client_, server_;
  bool client_seen_ = false, server_seen_ = false;
};

class KerberosDissector final : public Dissector {
 public:
  std::string_view name() const override { return "kerberos"; }
  bool Probe(const FlowInfo& flow, bool, std::span<const uint8_t> data) const override {
    if (data.empty()) return false;
    if (flow.transport == kIpProtoUdp) {
      // The whole datagram is one [APPLICATION n] holding a SEQUENCE (a
      // DNS id that starts with the same byte is not).
      if (!KerberosAppTag(data[0])) return false;  // (Cheap rejection first.)
      ByteReader r(data);
      auto app = ReadTlv(r);
      return app && r.empty() && KerberosAppTag(app->tag) && app->value.PeekU8() == 0x30;
    }
    if (flow.transport != kIpProtoTcp) return false;
    const ByteReader r(data);
    const auto tag = r.PeekU8(4);
    const auto seq = r.PeekU8(r.PeekU8(5) == 0x81 ? 7 : r.PeekU8(5) == 0x82 ? 8 : 6);
    return data[0] == 0 && (!tag || KerberosAppTag(*tag)) && (!seq || *seq == 0x30);
  }
  bool PortHint(const FlowInfo& flow) const override { return flow.server_port == 88; }
  std::unique_ptr<Session> NewSession(const FlowInfo& flow) const override {
    return std::make_unique<KerberosSession>(flow.transport == kIpProtoTcp);
  }
};

}  // namespace

std::unique_ptr<Dissector> MakeSmbDissector() { return std::make_unique<SmbDissector>(); }
std::unique_ptr<Dissector> MakeNetbiosDgmDissector() {
  return std::make_unique<NetbiosDgmDissector>();
}
std::unique_ptr<Dissector> MakeNetbiosNsDissector() {
  return std::make_unique<NetbiosNsDissector>();
}
std::unique_ptr<Dissector> MakeSsdpDissector() { return std::make_unique<SsdpDissector>(); }
std::unique_ptr<Dissector> MakeKerberosDissector() {
  return std::make_unique<KerberosDissector>();
}

}  // namespace rustnet
