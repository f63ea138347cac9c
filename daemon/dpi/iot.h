// IoT and messaging protocols recognised by content: MQTT (3.1/3.1.1 and
// 5.0; version, client id, first topic), AMQP (0-9-1, 0-10, 1.0), NATS,
// Modbus/TCP and CoAP (RFC 7252). Never kept: MQTT user name and password.
#ifndef RUSTNET_DAEMON_DPI_IOT_H_
#define RUSTNET_DAEMON_DPI_IOT_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_IOT_ANOMALIES(X)                          \
  X(kMqttLengthPastPacket, "mqtt_length_past_packet")     \
  X(kMqttBadRemainingLength, "mqtt_bad_remaining_length") \
  X(kCoapOptionPastEnd, "coap_option_past_end")
RUSTNET_DECLARE_DPI_ANOMALIES(iot_anomaly, RUSTNET_IOT_ANOMALIES)

// Limits beside the parsers.
inline constexpr size_t kMaxMqttClientIdKept = 64;
inline constexpr size_t kMaxMqttTopicKept = 128;

std::unique_ptr<Dissector> MakeMqttDissector();
std::unique_ptr<Dissector> MakeAmqpDissector();
std::unique_ptr<Dissector> MakeNatsDissector();
std::unique_ptr<Dissector> MakeModbusDissector();
std::unique_ptr<Dissector> MakeCoapDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_IOT_H_
