#include "daemon/dpi/iot.h"

#include <optional>

#include "common/byte_reader.h"
#include "daemon/dpi/prefix_session.h"

namespace rustnet {
namespace {

// --- MQTT (OASIS MQTT 3.1.1 §2-3, 5.0 §2-3) ----------------------------------

constexpr uint8_t kMqttConnect = 1, kMqttPublish = 3, kMqttSubscribe = 8;

// The Remaining Length (§2.2.3): 1-4 bytes of 7 bits.
std::optional<uint32_t> MqttVarint(ByteReader& r, bool* malformed) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    auto b = r.U8();
    if (!b) return std::nullopt;
    value |= static_cast<uint32_t>(*b & 0x7f) << (7 * i);
    if ((*b & 0x80) == 0) return value;
  }
  *malformed = true;
  return std::nullopt;
}

// CONNECT's variable header: protocol name and level (§3.1.2).
std::optional<std::string> MqttConnectVersion(ByteReader& r) {
  auto name = r.PrefixedU16();
  auto level = name ? r.U8() : std::nullopt;
  if (!level) return std::nullopt;
  if (StartsWith(name->rest(), "MQTT") && name->remaining() == 4) {
    if (*level == 4) return "3.1.1";
    if (*level == 5) return "5.0";
    if (*level == 3) return "3.1";
  }
  if (StartsWith(name->rest(), "MQIsdp") && name->remaining() == 6 && *level == 3) return "3.1";
  return std::nullopt;
}

bool ProbeMqtt(bool /*udp*/, bool from_client, std::span<const uint8_t> d) {
  if (!from_client) return false;
  ByteReader r(d);
  auto type = r.U8();
  bool bad = false;
  if (type != uint8_t{kMqttConnect << 4} || !MqttVarint(r, &bad)) return false;
  // The protocol name may still be on its way: what arrived must match.
  auto len = r.U16();
  if (!len) return r.empty();
  if (*len != 4 && *len != 6) return false;
  return r.empty() || CouldStartWith(r.rest(), *len == 4 ? "MQTT" : "MQIsdp");
}

ParseState ParseMqtt(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  if (!v.from_client) {
    // The broker's CONNACK (§3.2): type 2, remaining length 2 (3.1.1) or more.
    if (record->protocol != AppProtocol::kMqtt) return ParseState::kNeedMore;
    return ParseState::kNeedMore;
  }
  ByteReader r(v.client);
  bool first = true;
  while (!r.empty()) {
    auto header = r.U8();
    bool bad = false;
    auto length = MqttVarint(r, &bad);
    if (bad) {
      CountAnomaly(anomalies, iot_anomaly::kMqttBadRemainingLength);
      return record->protocol == AppProtocol::kMqtt ? ParseState::kDone : ParseState::kNotMine;
    }
    if (!header || !length) return ParseState::kNeedMore;
    auto packet = r.Sub(*length);
    const uint8_t type = *header >> 4;
    if (first) {
      if (type != kMqttConnect) return ParseState::kNotMine;
      if (!packet) {
        // Enough of the header to know the version?
        ByteReader head(r.rest());
        auto version = MqttConnectVersion(head);
        if (!version && head.remaining() > 8) return ParseState::kNotMine;
        return ParseState::kNeedMore;
      }
      auto version = MqttConnectVersion(*packet);
      if (!version) return ParseState::kNotMine;
      record->protocol = AppProtocol::kMqtt;
      record->mqtt->version = *version;
      // Flags (§3.1.2.3), keep alive, then v5 properties (§3.1.2.11).
      auto flags = packet->U8();
      bool ok = flags && packet->Skip(2);
      if (ok && *version == "5.0") {
        auto props = MqttVarint(*packet, &bad);
        ok = props && packet->Skip(*props);
      }
      auto client_id = ok ? packet->PrefixedU16() : std::nullopt;
      if (!client_id) {
        CountAnomaly(anomalies, iot_anomaly::kMqttLengthPastPacket);
        return ParseState::kDone;
      }
      record->mqtt->client_id = Printable(client_id->rest(), kMaxMqttClientIdKept);
      // Will, user name and password follow: not read, never kept.
      first = false;
      continue;
    }
    if (!packet) return ParseState::kNeedMore;
    if (type == kMqttPublish || type == kMqttSubscribe) {
      // PUBLISH: topic first (§3.3.2). SUBSCRIBE: packet id, [v5 properties],
      // then the first topic filter (§3.8.2-3).
      bool ok = true;
      if (type == kMqttSubscribe) {
        ok = packet->Skip(2);
        if (ok && record->mqtt->version == "5.0") {
          auto props = MqttVarint(*packet, &bad);
          ok = props && packet->Skip(*props);
        }
      }
      auto topic = ok ? packet->PrefixedU16() : std::nullopt;
      if (!topic) {
        CountAnomaly(anomalies, iot_anomaly::kMqttLengthPastPacket);
        return ParseState::kDone;
      }
      record->mqtt->topic = Printable(topic->rest(), kMaxMqttTopicKept);
      return ParseState::kDone;
    }
  }
  return ParseState::kNeedMore;
}

// --- AMQP ------------------------------------------------------------------
// The protocol header "AMQP" + 4 bytes (0-9-1 §4.2.2: 0 0 9 1; 0-10: 1 1 0
// 10; 1.0 §2.2: id, 1, 0, 0), or the broker's Connection.Start frame (type
// 1, channel 0, class 10, method 10) when the header was missed.
bool AmqpHeader(std::span<const uint8_t> d, bool complete) {
  if (!CouldStartWith(d, "AMQP")) return false;
  if (d.size() < 8) return !complete;
  ByteReader r(d);
  r.Skip(4);
  const auto a = r.U8(), b = r.U8(), c = r.U8(), e = r.U8();
  return (a == uint8_t{0} && b == uint8_t{0} && c == uint8_t{9} && e == uint8_t{1}) ||
         (a == uint8_t{1} && b == uint8_t{1} && c == uint8_t{0} && e == uint8_t{10}) ||
         (a <= uint8_t{3} && b == uint8_t{1} && c == uint8_t{0} && e <= uint8_t{1});
}

// A whole AMQP 0-9-1 frame (§4.2.3): type 1 (method), 2 (header), 3 (body)
// or 8 (heartbeat), channel, size, payload and the frame-end octet 0xCE; a
// method frame names a known class (10 connection ... 90 tx). 1: yes, 0:
// cut short, -1: no.
constexpr size_t kMaxAmqpFrame = 128 * 1024;

int AmqpFrame(std::span<const uint8_t> d) {
  ByteReader r(d);
  auto type = r.U8();
  auto size = r.Skip(2) ? r.U32() : std::nullopt;  // After the channel.
  if (!size)
    return d.size() < 7 && (!type || *type == 1 || *type == 2 || *type == 3 || *type == 8) ? 0 : -1;
  if ((*type != 1 && *type != 2 && *type != 3 && *type != 8) || *size > kMaxAmqpFrame) return -1;
  if (*type == 1) {
    auto cls = r.PeekU16();
    if (cls && *cls != 10 && *cls != 20 && *cls != 40 && *cls != 50 && *cls != 60 && *cls != 85 &&
        *cls != 90) {
      return -1;
    }
  }
  if (!r.Skip(*size)) return 0;
  auto end = r.U8();
  if (!end) return 0;
  return *end == 0xce ? 1 : -1;
}

bool ProbeAmqp(bool, bool from_client, std::span<const uint8_t> d) {
  return (from_client && AmqpHeader(d, false)) || AmqpFrame(d) >= 0;
}

ParseState ParseAmqp(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto d = v.just_fed();
  if (d.size() >= 8 && AmqpHeader(d, true)) {
    record->protocol = AppProtocol::kAmqp;
    return ParseState::kDone;
  }
  if (CouldStartWith(d, "AMQP") && d.size() < 8) return ParseState::kNeedMore;
  switch (AmqpFrame(d)) {
    case 1:
      record->protocol = AppProtocol::kAmqp;
      return ParseState::kDone;
    case 0:
      return ParseState::kNeedMore;
    default:
      return ParseState::kNotMine;
  }
}

// --- NATS (docs.nats.io client protocol) -------------------------------------
// The server speaks first with "INFO {json}"; the client answers "CONNECT
// {json}".
bool ProbeNats(bool, bool from_client, std::span<const uint8_t> d) {
  return CouldStartWith(d, from_client ? "CONNECT {" : "INFO {");
}

ParseState ParseNats(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto& mine = v.just_fed();
  const std::string_view want = v.from_client ? "CONNECT {" : "INFO {";
  if (mine.size() < want.size()) {
    return CouldStartWith(mine, want) ? ParseState::kNeedMore : ParseState::kNotMine;
  }
  if (!StartsWith(mine, want)) {
    return record->protocol == AppProtocol::kNats ? ParseState::kDone : ParseState::kNotMine;
  }
  record->protocol = AppProtocol::kNats;
  return (StartsWith(v.client, "CONNECT {") && StartsWith(v.server, "INFO {"))
             ? ParseState::kDone
             : ParseState::kNeedMore;
}

// --- Modbus/TCP (Modbus Messaging on TCP/IP v1.0b §3.1) ----------------------
// MBAP header: transaction id, protocol id 0, length (unit id + PDU, at most
// 254), unit id; then the function code: a public one, or its exception
// (| 0x80) from the server.
bool ModbusFunction(uint8_t f) {
  switch (f & 0x7f) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 11:
    case 12:
    case 15:
    case 16:
    case 17:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 43:
      return true;
    default:
      return false;
  }
}

// The ADU size its header at the start of `d` announces, or nullopt if the
// first 8 bytes are not a Modbus/TCP header (or have not all arrived).
std::optional<size_t> ModbusAdu(std::span<const uint8_t> d, bool from_client) {
  ByteReader r(d);
  auto txn = r.U16();
  auto proto = r.U16();
  auto length = r.U16();
  auto unit = r.U8();
  auto function = r.U8();
  if (!txn || proto != uint16_t{0} || !length || *length < 2 || *length > 254 || !unit ||
      !function || !ModbusFunction(*function) || (from_client && (*function & 0x80) != 0)) {
    return std::nullopt;
  }
  return 6u + *length;
}

bool ProbeModbus(bool, bool from_client, std::span<const uint8_t> d) {
  auto size = ModbusAdu(d, from_client);
  return size && *size == d.size();  // A first segment holds one whole ADU.
}

ParseState ParseModbus(const PrefixView& v, AppRecord* record, DpiAnomalies*) {
  const auto mine = v.just_fed();
  if (mine.size() >= 8 && !ModbusAdu(mine, v.from_client)) return ParseState::kNotMine;
  // Confirmed by a whole ADU each way with the same transaction id.
  auto c = ModbusAdu(v.client, true);
  auto s = ModbusAdu(v.server, false);
  if (c && s && *c <= v.client.size() && *s <= v.server.size()) {
    if (ByteReader(v.client).U16() != ByteReader(v.server).U16()) return ParseState::kNotMine;
    record->protocol = AppProtocol::kModbus;
    return ParseState::kDone;
  }
  return ParseState::kNeedMore;
}

// --- CoAP (RFC 7252 §3) ------------------------------------------------------
// Version 1, token length <= 8, a request code 0.01-0.04 (or 0.00 empty),
// or a response 2.xx/4.xx/5.xx; then options with increasing numbers up to
// the 0xff payload marker or the end.
bool CoapCode(uint8_t code) {
  const uint8_t cls = code >> 5, detail = code & 0x1f;
  if (cls == 0) return detail <= 4;
  if (cls == 2) return detail >= 1 && detail <= 5;
  if (cls == 4) return detail <= 15;
  if (cls == 5) return detail <= 5;
  return false;
}

// The option extended value (§3.1): 13 -> 1 more byte, 14 -> 2; 15 invalid.
std::optional<uint32_t> CoapExtended(uint8_t nibble, ByteReader& r) {
  if (nibble < 13) return nibble;
  if (nibble == 13) {
    auto b = r.U8();
    return b ? std::optional<uint32_t>(*b + 13u) : std::nullopt;
  }
  if (nibble == 14) {
    auto b = r.U16();
    return b ? std::optional<uint32_t>(*b + 269u) : std::nullopt;
  }
  return std::nullopt;
}

// Registered option numbers (IANA CoAP Option Numbers; RFC 7252 §5.10,
// 7641, 7959, 8613, 8768, 9175), and the experimental range.
bool CoapKnownOption(uint32_t n) {
  switch (n) {
    case 1:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
    case 11:
    case 12:
    case 14:
    case 15:
    case 17:
    case 19:
    case 20:
    case 21:
    case 23:
    case 27:
    case 28:
    case 35:
    case 39:
    case 60:
    case 252:
    case 258:
    case 292:
    case 2049:
    case 2050:
    case 2051:
    case 2052:
      return true;
    default:
      return n >= 65000 && n <= 65535;
  }
}

bool LooksLikeCoap(std::span<const uint8_t> d, DpiAnomalies* anomalies) {
  ByteReader r(d);
  auto first = r.U8();
  auto code = r.U8();
  auto id = r.U16();
  if (!first || (*first >> 6) != 1 || (*first & 0x0f) > 8 || !code || !CoapCode(*code) || !id) {
    return false;
  }
  if (*code == 0)
    return r.remaining() == static_cast<size_t>(*first & 0x0f) && (*first & 0x0f) == 0;
  if (!r.Skip(*first & 0x0f)) return false;
  int options = 0;
  uint32_t number = 0;
  while (auto b = r.U8()) {
    if (*b == 0xff) return !r.empty();  // A payload marker needs a payload.
    auto delta = CoapExtended(*b >> 4, r);
    auto length = delta ? CoapExtended(*b & 0x0f, r) : std::nullopt;
    if (!length || !r.Skip(*length) || ++options > 32) {
      CountAnomaly(anomalies, iot_anomaly::kCoapOptionPastEnd);
      return false;
    }
    number += *delta;
    if (!CoapKnownOption(number)) return false;
  }
  return true;
}

bool ProbeCoap(bool, bool, std::span<const uint8_t> d) {
  return d.size() >= 4 && LooksLikeCoap(d, nullptr);
}

ParseState ParseCoap(const PrefixView& v, AppRecord* record, DpiAnomalies* anomalies) {
  if (!LooksLikeCoap(v.just_fed(), anomalies)) {
    return record->protocol == AppProtocol::kCoap ? ParseState::kDone : ParseState::kNotMine;
  }
  // A request alone is little structure: name it once the other side
  // answers, or the client repeats the shape.
  if (v.server_datagrams > 0 && v.client_datagrams > 0) {
    record->protocol = AppProtocol::kCoap;
    return ParseState::kDone;
  }
  if (v.client_datagrams + v.server_datagrams >= 2) record->protocol = AppProtocol::kCoap;
  return ParseState::kNeedMore;
}

// First bytes (Dissector::MayStartWith).
bool MqttFirst(bool, uint8_t b) { return b == 0x10; }  // CONNECT.
bool AmqpFirst(bool, uint8_t b) { return b == 'A' || b == 1 || b == 2 || b == 3 || b == 8; }
bool NatsFirst(bool, uint8_t b) { return b == 'C' || b == 'I'; }
bool CoapFirst(bool, uint8_t b) { return (b >> 6) == 1; }  // Version 1.

constexpr PrefixProtocol kMqtt{"mqtt",    true,         false, ProbeMqtt,
                               ParseMqtt, {1883, 8883}, 1024,  MqttFirst};
constexpr PrefixProtocol kAmqp{"amqp", true, false, ProbeAmqp, ParseAmqp, {5672}, 1024, AmqpFirst};
constexpr PrefixProtocol kNats{"nats", true, false, ProbeNats, ParseNats, {4222}, 64, NatsFirst};
constexpr PrefixProtocol kModbus{"modbus",    true,  false, ProbeModbus,
                                 ParseModbus, {502}, 300,   nullptr};
constexpr PrefixProtocol kCoap{"coap", false, true, ProbeCoap, ParseCoap, {5683}, 0, CoapFirst};

}  // namespace

std::unique_ptr<Dissector> MakeMqttDissector() { return MakePrefixDissector(kMqtt); }
std::unique_ptr<Dissector> MakeAmqpDissector() { return MakePrefixDissector(kAmqp); }
std::unique_ptr<Dissector> MakeNatsDissector() { return MakePrefixDissector(kNats); }
std::unique_ptr<Dissector> MakeModbusDissector() { return MakePrefixDissector(kModbus); }
std::unique_ptr<Dissector> MakeCoapDissector() { return MakePrefixDissector(kCoap); }

}  // namespace rustnet
