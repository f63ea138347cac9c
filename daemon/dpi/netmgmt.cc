#include "daemon/dpi/netmgmt.h"

#include <algorithm>

#include "common/byte_reader.h"
#include "daemon/dpi/prefix_session.h"

namespace rustnet {
namespace {

// --- Syslog ------------------------------------------------------------------
// "<PRI>" with PRI 0-191 in 1-3 digits (no leading zero but "<0>"), then a
// printable character: RFC 5424's version "1 ", RFC 3164's timestamp or a
// tag. Over TCP (RFC 6587) the message may be preceded by its length.
bool LooksLikeSyslog(std::span<const uint8_t> d) {
  ByteReader r(d);
  if (auto first = r.PeekU8(); first && *first >= '1' && *first <= '9') {
    // Octet counting: "123 <PRI>...".
    while (auto c = r.PeekU8()) {
      if (*c < '0' || *c > '9' || r.position() > 5) break;
      r.Skip(1);
    }
    if (r.U8() != uint8_t{' '}) return false;
  }
  if (r.U8() != uint8_t{'<'}) return false;
  int pri = 0, digits = 0;
  while (auto c = r.U8()) {
    if (*c == '>') break;
    if (*c < '0' || *c > '9' || ++digits > 3 || (digits == 2 && pri == 0)) return false;
    pri = pri * 10 + (*c - '0');
  }
  auto next = r.U8();
  return digits > 0 && pri <= 191 && next && *next >= 0x20 && *next < 0x7f;
}

// Over UDP either side may look like the sender (a relay sending from port
// 514 to an ephemeral one); over TCP the connecting side sends.
bool ProbeSyslog(bool udp, bool from_client, std::span<const uint8_t> d) {
  return (udp || from_client) && LooksLikeSyslog(d);
}

ParseState ParseSyslog(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  if (!v.udp && !v.from_client) {
    return record->protocol == AppProtocol::kSyslog ? ParseState::kDone : ParseState::kNotMine;
  }
  const auto d = v.just_fed();
  if (!v.udp && d.size() < 8) return ParseState::kNeedMore;
  if (!LooksLikeSyslog(d)) {
    return record->protocol == AppProtocol::kSyslog ? ParseState::kDone : ParseState::kNotMine;
  }
  record->protocol = AppProtocol::kSyslog;
  return ParseState::kDone;
}

// --- TFTP (RFC 1350 §5, RFC 2347 options) ------------------------------------
// RRQ (1) / WRQ (2): file name NUL mode NUL; the mode netascii, octet or
// mail. A transfer runs on new ports: DATA (3) with block 1 answered by ACK
// (4) of block 1, or OACK (6) answered by ACK of block 0.
bool TftpRequest(std::span<const uint8_t> d, AppRecord* record, DpiAnomalies* anomalies) {
  ByteReader r(d);
  auto opcode = r.U16();
  if (opcode != uint16_t{1} && opcode != uint16_t{2}) return false;
  auto file = r.BytesUntil(0);
  if (!file) {
    CountAnomaly(anomalies, netmgmt_anomaly::kTftpFileNameNotTerminated);
    return false;
  }
  auto mode = r.BytesUntil(0);
  if (file->empty() || !mode ||
      !(StartsWithFolded(*mode, "netascii") || StartsWithFolded(*mode, "octet") ||
        StartsWithFolded(*mode, "mail")) ||
      mode->size() > 8) {
    return false;
  }
  if (record != nullptr) {
    record->net->tftp_file = Printable(*file, kMaxTftpFileKept);
    record->net->tftp_op = opcode == uint16_t{1} ? "read" : "write";
  }
  return true;
}

// RFC 2347 OACK: option name/value pairs, each NUL-terminated, the first
// name one of RFC 2348/2349/7440's.
bool TftpOack(std::span<const uint8_t> d) {
  ByteReader r(d);
  if (r.U16() != uint16_t{6}) return false;
  auto name = r.BytesUntil(0);
  auto value = name ? r.BytesUntil(0) : std::nullopt;
  if (!value) return false;
  for (std::string_view known : {"blksize", "tsize", "timeout", "windowsize"}) {
    if (name->size() == known.size() && StartsWithFolded(*name, known)) return true;
  }
  return false;
}

// DATA (3) of `block` with at most 512 bytes (RFC 1350 §5), or ACK (4) of
// `block` (4 bytes).
bool TftpPacket(std::span<const uint8_t> d, uint16_t opcode, uint16_t block) {
  ByteReader r(d);
  if (r.U16() != opcode || r.U16() != block) return false;
  return opcode == 3 ? r.remaining() <= 512 : r.empty();
}

bool ProbeTftp(bool, bool, std::span<const uint8_t> d) {
  return TftpRequest(d, nullptr, nullptr) || TftpOack(d) || TftpPacket(d, 3, 1) ||
         TftpPacket(d, 4, 0);
}

ParseState ParseTftp(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  const auto d = v.just_fed();
  const auto named = [&]() {
    record->protocol = AppProtocol::kTftp;
    return ParseState::kDone;
  };
  if (v.client_datagrams + v.server_datagrams == 1 && TftpRequest(d, record, anomalies)) {
    return named();
  }
  if (TftpOack(d)) return named();
  // A transfer on its own ports (RFC 1350 §4): DATA 1 answered by ACK 1, or
  // ACK 0 (a write's go-ahead) answered by DATA 1. Scratch [0]: the side
  // that sent the first (1 client, 2 server), [1]: 3 if it was DATA 1, 4 if
  // ACK 0.
  auto& s = v.scratch;
  const uint8_t side = v.from_client ? 1 : 2;
  if (s[0] == 0) {
    if (TftpPacket(d, 3, 1)) s[1] = 3;
    if (TftpPacket(d, 4, 0)) s[1] = 4;
    if (s[1] == 0) return ParseState::kNotMine;
    s[0] = side;
    return ParseState::kNeedMore;
  }
  if (s[0] == side) {
    // The same side again (a retransmission): keep waiting, a little.
    return v.client_datagrams + v.server_datagrams < 6 ? ParseState::kNeedMore
                                                       : ParseState::kNotMine;
  }
  if ((s[1] == 3 && TftpPacket(d, 4, 1)) || (s[1] == 4 && TftpPacket(d, 3, 1))) return named();
  return ParseState::kNotMine;
}

// --- BER (X.690 §8.1) for SNMP and LDAP ---------------------------------------
struct Tlv {
  uint8_t tag = 0;
  ByteReader value{std::span<const uint8_t>()};
  bool truncated = false;  // The value runs past the input (maybe still arriving).
};

// One definite-length TLV with a one-byte tag; nullopt if malformed.
std::optional<Tlv> ReadTlv(ByteReader& r) {
  auto tag = r.U8();
  auto first = tag ? r.U8() : std::nullopt;
  if (!first || *first == 0x80) return std::nullopt;  // Indefinite length: not in these.
  size_t length = *first;
  if (*first > 0x80) {
    const int n = *first & 0x7f;
    if (n > 3) return std::nullopt;
    length = 0;
    for (int i = 0; i < n; ++i) {
      auto b = r.U8();
      if (!b) return std::nullopt;
      length = (length << 8) | *b;
    }
  }
  Tlv t;
  t.tag = *tag;
  if (auto value = r.Sub(length)) {
    t.value = *value;
  } else {
    t.value = ByteReader(r.rest());
    t.truncated = true;
    r.Skip(r.remaining());
  }
  return t;
}

std::optional<uint32_t> BerInteger(const Tlv& t) {
  if (t.tag != 0x02 || t.value.remaining() == 0 || t.value.remaining() > 4) return std::nullopt;
  uint32_t v = 0;
  ByteReader r = t.value;
  while (auto b = r.U8()) v = (v << 8) | *b;
  return v;
}

// --- SNMP (RFC 3416 §3, RFC 3412 §6) -----------------------------------------
std::string_view SnmpPduName(uint8_t tag) {
  switch (tag) {
    case 0xa0:
      return "get-request";
    case 0xa1:
      return "get-next-request";
    case 0xa2:
      return "response";
    case 0xa3:
      return "set-request";
    case 0xa4:
      return "trap";
    case 0xa5:
      return "get-bulk-request";
    case 0xa6:
      return "inform-request";
    case 0xa7:
      return "trap-v2";
    case 0xa8:
      return "report";
    default:
      return "";
  }
}

// True if `d` is an SNMP message; fills version and PDU type (the v1/v2c
// community is skipped, never copied).
bool ParseSnmpMessage(std::span<const uint8_t> d, AppRecord* record, DpiAnomalies* anomalies) {
  ByteReader r(d);
  auto message = ReadTlv(r);
  if (!message || message->tag != 0x30) return false;
  if (message->truncated) {
    CountAnomaly(anomalies, netmgmt_anomaly::kSnmpBerPastEnd);
    return false;
  }
  auto version_tlv = ReadTlv(message->value);
  auto version = version_tlv ? BerInteger(*version_tlv) : std::nullopt;
  if (!version || (*version != 0 && *version != 1 && *version != 3)) return false;
  std::string_view pdu;
  if (*version == 3) {
    // msgGlobalData SEQUENCE, msgSecurityParameters OCTET STRING, then the
    // scopedPDU in clear (SEQUENCE) or encrypted (OCTET STRING).
    auto global = ReadTlv(message->value);
    auto security = global ? ReadTlv(message->value) : std::nullopt;
    if (!security || global->tag != 0x30 || security->tag != 0x04) return false;
    if (auto scoped = ReadTlv(message->value); scoped && scoped->tag == 0x30) {
      auto engine = ReadTlv(scoped->value);
      auto context = engine ? ReadTlv(scoped->value) : std::nullopt;
      auto data = context ? ReadTlv(scoped->value) : std::nullopt;
      if (data) pdu = SnmpPduName(data->tag);
    }
  } else {
    auto community = ReadTlv(message->value);
    if (!community || community->tag != 0x04) return false;
    auto data = ReadTlv(message->value);
    if (!data || SnmpPduName(data->tag).empty()) return false;
    pdu = SnmpPduName(data->tag);
  }
  if (record != nullptr) {
    record->net->snmp_version = *version == 0 ? "1" : *version == 1 ? "2c" : "3";
    record->net->snmp_pdu = std::string(pdu);
  }
  return true;
}

bool ProbeSnmp(bool, bool, std::span<const uint8_t> d) {
  return ParseSnmpMessage(d, nullptr, nullptr);
}

ParseState ParseSnmp(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  AppRecord facts;
  if (!ParseSnmpMessage(v.just_fed(), &facts, anomalies)) {
    return record->protocol == AppProtocol::kSnmp ? ParseState::kDone : ParseState::kNotMine;
  }
  if (record->protocol != AppProtocol::kSnmp) {
    record->protocol = AppProtocol::kSnmp;
    record->net->snmp_version = facts.net->snmp_version;
    record->net->snmp_pdu = facts.net->snmp_pdu;
  }
  return ParseState::kDone;
}

// --- LDAP (RFC 4511 §4.1.1) --------------------------------------------------
// LDAPMessage: SEQUENCE { messageID INTEGER, protocolOp [APPLICATION n] }
// with n 0-25 (constructed 0x60-0x79, or 0x42 unbind, 0x4a delRequest,
// 0x50 abandon as primitives).
bool LdapOp(uint8_t tag) {
  if (tag >= 0x60 && tag <= 0x79) return true;
  return tag == 0x42 || tag == 0x4a || tag == 0x50;
}

// 1: an LDAP message; 0: not yet known (cut short); -1: not LDAP.
int LooksLikeLdap(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto message = ReadTlv(r);
  if (!message) return d.size() < 8 ? 0 : -1;
  if (message->tag != 0x30) return -1;
  auto id_tlv = ReadTlv(message->value);
  if (!id_tlv) return message->truncated && message->value.remaining() < 8 ? 0 : -1;
  if (id_tlv->truncated) return 0;
  if (!BerInteger(*id_tlv)) return -1;
  auto op = message->value.PeekU8();
  if (!op) return message->truncated ? 0 : -1;
  return LdapOp(*op) ? 1 : -1;
}

bool ProbeLdap(bool, bool, std::span<const uint8_t> d) { return LooksLikeLdap(d) >= 0; }

ParseState ParseLdap(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const int mine = LooksLikeLdap(v.just_fed());
  if (mine < 0) {
    return record->protocol == AppProtocol::kLdap ? ParseState::kDone : ParseState::kNotMine;
  }
  if (mine == 0) return ParseState::kNeedMore;
  // A request and its answer, or one message over the LDAP port range, is
  // enough; BER's SEQUENCE/INTEGER shape alone is common, so wait for the
  // other side when there is one.
  const bool other = v.udp ? (v.from_client ? v.server_datagrams : v.client_datagrams) > 0
                           : LooksLikeLdap(v.from_client ? v.server : v.client) > 0;
  if (other) {
    record->protocol = AppProtocol::kLdap;
    return ParseState::kDone;
  }
  return ParseState::kNeedMore;
}

bool SyslogFirst(bool, uint8_t b) { return b == '<' || (b >= '1' && b <= '9'); }
bool TftpFirst(bool, uint8_t b) { return b == 0; }
bool BerSequenceFirst(bool, uint8_t b) { return b == 0x30; }

constexpr PrefixProtocol kSyslog{"syslog",         true, true,       ProbeSyslog, ParseSyslog,
                                 {514, 601, 6514}, 64,   SyslogFirst};
constexpr PrefixProtocol kTftp{"tftp", false, true, ProbeTftp, ParseTftp, {69}, 0, TftpFirst};
constexpr PrefixProtocol kSnmp{"snmp",    false,      true, ProbeSnmp,
                               ParseSnmp, {161, 162}, 0,    BerSequenceFirst};
constexpr PrefixProtocol kLdap{"ldap",    true,        true, ProbeLdap,
                               ParseLdap, {389, 3268}, 512,  BerSequenceFirst};

}  // namespace

std::unique_ptr<Dissector> MakeSyslogDissector() { return MakePrefixDissector(kSyslog); }
std::unique_ptr<Dissector> MakeTftpDissector() { return MakePrefixDissector(kTftp); }
std::unique_ptr<Dissector> MakeSnmpDissector() { return MakePrefixDissector(kSnmp); }
std::unique_ptr<Dissector> MakeLdapDissector() { return MakePrefixDissector(kLdap); }

}  // namespace rustnet
