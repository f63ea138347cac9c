// MQTT, AMQP, NATS, Modbus/TCP and CoAP from hand-built bytes: whole, byte
// by byte and at random splits; malformed cases named after their defect.
#include "daemon/dpi/iot.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/daemon/dpi/breadth_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::Put16;
using testing::Put8;
using testing::PutBytes;
using testing::Run;
using testing::Tcp;
using testing::Text;
using testing::Udp;

Bytes Str16(const std::string& s) {
  Bytes b;
  Put16(b, static_cast<uint16_t>(s.size()));
  PutBytes(b, Text(s));
  return b;
}

// OASIS MQTT §3.1: CONNECT with protocol `name`/`level`, clean session,
// keep alive 60, client id, and (flags 0xc2) a user name and password.
Bytes MqttConnect(const std::string& name, uint8_t level, const std::string& client_id,
                  bool credentials = false) {
  Bytes v;
  PutBytes(v, Str16(name));
  Put8(v, level);
  Put8(v, credentials ? 0xc2 : 0x02);
  Put16(v, 60);
  if (level == 5) Put8(v, 0);  // No properties.
  PutBytes(v, Str16(client_id));
  if (credentials) {
    PutBytes(v, Str16("alice"));
    PutBytes(v, Str16("s3cret-password"));
  }
  Bytes b = {0x10};
  Put8(b, static_cast<uint8_t>(v.size()));  // < 128 here.
  PutBytes(b, v);
  return b;
}

Bytes MqttPublish(const std::string& topic, const std::string& payload) {
  Bytes v = Str16(topic);
  PutBytes(v, Text(payload));
  Bytes b = {0x30};
  Put8(b, static_cast<uint8_t>(v.size()));
  PutBytes(b, v);
  return b;
}

Bytes MqttSubscribe(const std::string& filter, bool v5) {
  Bytes v;
  Put16(v, 7);  // Packet id.
  if (v5) Put8(v, 0);
  PutBytes(v, Str16(filter));
  Put8(v, 1);  // QoS.
  Bytes b = {0x82};
  Put8(b, static_cast<uint8_t>(v.size()));
  PutBytes(b, v);
  return b;
}

TEST_CASE("mqtt_311_connect_then_publish_topic", "[dpi][iot]") {
  auto d = MakeMqttDissector();
  Bytes client = MqttConnect("MQTT", 4, "sensor-7", /*credentials=*/true);
  PutBytes(client, MqttPublish("home/kitchen/temp", "21.5"));
  CHECK(d->Probe(Tcp(18830), true, client));
  const auto out = Run(*d, Tcp(18830), {{true, client}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kMqtt);
  CHECK(out.record.mqtt->version == "3.1.1");
  CHECK(out.record.mqtt->client_id == "sensor-7");
  CHECK(out.record.mqtt->topic == "home/kitchen/temp");
  // The user name and password are nowhere in the record.
  CHECK(out.record.Label().find("s3cret") == std::string::npos);
  CHECK(out.record.mqtt->client_id.find("alice") == std::string::npos);
}

TEST_CASE("mqtt_5_subscribe_filter_and_31_name", "[dpi][iot]") {
  auto d = MakeMqttDissector();
  Bytes v5 = MqttConnect("MQTT", 5, "c5");
  PutBytes(v5, MqttSubscribe("a/+/b", true));
  auto out = Run(*d, Tcp(1883), {{true, v5}});
  CHECK(out.record.mqtt->version == "5.0");
  CHECK(out.record.mqtt->topic == "a/+/b");
  Bytes v31 = MqttConnect("MQIsdp", 3, "old");
  PutBytes(v31, MqttSubscribe("x/#", false));
  out = Run(*d, Tcp(1883), {{true, v31}});
  CHECK(out.record.mqtt->version == "3.1");
  CHECK(out.record.mqtt->topic == "x/#");
}

TEST_CASE("mqtt_connect_alone_names_protocol_waiting_for_topic", "[dpi][iot]") {
  auto d = MakeMqttDissector();
  const auto out =
      Run(*d, Tcp(1883), {{true, MqttConnect("MQTT", 4, "only")}, {false, {0x20, 2, 0, 0}}});
  CHECK(out.state == ParseState::kNeedMore);
  CHECK(out.record.protocol == AppProtocol::kMqtt);
  CHECK(out.record.mqtt->topic.empty());
}

TEST_CASE("mqtt_remaining_length_over_four_bytes", "[dpi][iot]") {
  auto d = MakeMqttDissector();
  const Bytes bad = {0x10, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 4, 'M', 'Q', 'T', 'T'};
  const auto out = Run(*d, Tcp(1883), {{true, bad}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.anomalies.count("mqtt_bad_remaining_length") == 1);
}

TEST_CASE("mqtt_client_id_length_past_packet", "[dpi][iot]") {
  auto d = MakeMqttDissector();
  Bytes b = {0x10, 12};
  PutBytes(b, Str16("MQTT"));
  PutBytes(b, {4, 2, 0, 60, 0, 50});  // Client id of 50 bytes in a 12-byte packet.
  const auto out = Run(*d, Tcp(1883), {{true, b}});
  CHECK(out.record.protocol == AppProtocol::kMqtt);
  CHECK(out.anomalies.count("mqtt_length_past_packet") == 1);
}

TEST_CASE("mqtt_rejects_http_and_wrong_protocol_name", "[dpi][iot]") {
  auto d = MakeMqttDissector();
  CHECK_FALSE(d->Probe(Tcp(1883), true, Text("GET / HTTP/1.1\r\n")));
  CHECK_FALSE(d->Probe(Tcp(1883), false, MqttConnect("MQTT", 4, "x")));
  const auto out = Run(*d, Tcp(1883), {{true, MqttConnect("MQTX", 4, "x")}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.record.protocol == AppProtocol::kUnknown);
  testing::EveryTruncation(*d, Tcp(1883), MqttConnect("MQTT", 5, "trunc"));
}

TEST_CASE("amqp_protocol_header_and_frames", "[dpi][iot]") {
  auto d = MakeAmqpDissector();
  const Bytes header = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};
  CHECK(d->Probe(Tcp(15672), true, header));
  auto out = Run(*d, Tcp(15672), {{true, header}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kAmqp);
  // A method frame mid-connection: basic.publish on channel 1, frame end.
  Bytes frame = {1, 0, 1};
  Put16(frame, 0);
  Put16(frame, 6);
  PutBytes(frame, {0, 60, 0, 40, 0, 0, 0xce});
  out = Run(*d, Tcp(5672), {{true, frame}});
  CHECK(out.record.protocol == AppProtocol::kAmqp);
}

TEST_CASE("amqp_frame_without_frame_end", "[dpi][iot]") {
  auto d = MakeAmqpDissector();
  Bytes frame = {1, 0, 1, 0, 0, 0, 4, 0, 60, 0, 40, 0x00};
  const auto out = Run(*d, Tcp(5672), {{true, frame}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK_FALSE(d->Probe(Tcp(5672), true, Text("AMQX\0\0\x09\x01")));
}

TEST_CASE("nats_info_then_connect", "[dpi][iot]") {
  auto d = MakeNatsDissector();
  const Bytes info = Text("INFO {\"server_id\":\"x\",\"version\":\"2.9\"}\r\n");
  const Bytes connect = Text("CONNECT {\"verbose\":false}\r\nPING\r\n");
  CHECK(d->Probe(Tcp(4223), false, info));
  const auto out = Run(*d, Tcp(4223), {{false, info}, {true, connect}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kNats);
  CHECK_FALSE(d->Probe(Tcp(4222), false, Text("INFO: hello\r\n")));
}

Bytes Modbus(uint16_t txn, uint8_t function, const Bytes& data) {
  Bytes b;
  Put16(b, txn);
  Put16(b, 0);
  Put16(b, static_cast<uint16_t>(2 + data.size()));
  Put8(b, 1);
  Put8(b, function);
  PutBytes(b, data);
  return b;
}

TEST_CASE("modbus_request_and_response_same_transaction", "[dpi][iot]") {
  auto d = MakeModbusDissector();
  const Bytes request = Modbus(0x1234, 3, {0, 0, 0, 2});
  const Bytes response = Modbus(0x1234, 3, {4, 0, 1, 0, 2});
  CHECK(d->Probe(Tcp(5020), true, request));
  const auto out = Run(*d, Tcp(5020), {{true, request}, {false, response}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kModbus);
}

TEST_CASE("modbus_transaction_id_mismatch", "[dpi][iot]") {
  auto d = MakeModbusDissector();
  const auto out = Run(
      *d, Tcp(502), {{true, Modbus(1, 3, {0, 0, 0, 2})}, {false, Modbus(2, 3, {4, 0, 1, 0, 2})}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.record.protocol == AppProtocol::kUnknown);
}

TEST_CASE("modbus_protocol_id_not_zero_or_unknown_function", "[dpi][iot]") {
  auto d = MakeModbusDissector();
  Bytes b = Modbus(1, 3, {0, 0, 0, 2});
  b[3] = 1;  // Protocol id 1.
  CHECK_FALSE(d->Probe(Tcp(502), true, b));
  CHECK_FALSE(d->Probe(Tcp(502), true, Modbus(1, 99, {0, 0})));
  // A client sending an exception code is not Modbus.
  CHECK_FALSE(d->Probe(Tcp(502), true, Modbus(1, 0x83, {2})));
}

// RFC 7252 §3: CON GET with a 2-byte token, Uri-Path "temp".
Bytes CoapGet() {
  Bytes b = {0x42, 0x01};
  Put16(b, 0x7d34);
  PutBytes(b, {0xaa, 0xbb});
  Put8(b, 0xb4);  // Option 11 (Uri-Path), length 4.
  PutBytes(b, Text("temp"));
  return b;
}

TEST_CASE("coap_request_and_response", "[dpi][iot]") {
  auto d = MakeCoapDissector();
  Bytes response = {0x62, 0x45};  // ACK 2.05 Content.
  Put16(response, 0x7d34);
  PutBytes(response, {0xaa, 0xbb, 0xff});
  PutBytes(response, Text("22.3 C"));
  CHECK(d->Probe(Udp(56830), true, CoapGet()));
  const auto out = Run(*d, Udp(56830), {{true, CoapGet()}, {false, response}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kCoap);
}

TEST_CASE("coap_option_length_past_datagram", "[dpi][iot]") {
  auto d = MakeCoapDissector();
  Bytes b = {0x40, 0x01, 0, 1, 0xbd, 40};  // Uri-Path, extended length 53: missing.
  CHECK_FALSE(d->Probe(Udp(5683), true, b));
  const auto out = Run(*d, Udp(5683), {{true, b}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.anomalies.count("coap_option_past_end") == 1);
  // Version 2, and a payload marker without payload.
  CHECK_FALSE(d->Probe(Udp(5683), true, Bytes{0x80, 0x01, 0, 1}));
  CHECK_FALSE(d->Probe(Udp(5683), true, Bytes{0x40, 0x01, 0, 1, 0xff}));
}

TEST_CASE("iot_dissectors_reject_each_others_bytes", "[dpi][iot]") {
  const Bytes mqtt = MqttConnect("MQTT", 4, "x");
  const Bytes tls = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c};
  auto amqp = MakeAmqpDissector();
  auto nats = MakeNatsDissector();
  auto modbus = MakeModbusDissector();
  for (const Bytes& b : {mqtt, tls, Text("GET / HTTP/1.1\r\n\r\n")}) {
    CHECK_FALSE(nats->Probe(Tcp(4222), true, b));
    CHECK_FALSE(modbus->Probe(Tcp(502), true, b));
  }
  CHECK_FALSE(amqp->Probe(Tcp(5672), true, mqtt));
}

}  // namespace
}  // namespace rustnet
