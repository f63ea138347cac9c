// libFuzzer target: the MQTT, AMQP, NATS, Modbus and CoAP dissectors, over TCP and UDP.
#include "common/flow_key.h"
#include "daemon/dpi/iot.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rustnet::Dissector* const kDissectors[] = {
      rustnet::MakeMqttDissector().release(), rustnet::MakeAmqpDissector().release(),
      rustnet::MakeNatsDissector().release(), rustnet::MakeModbusDissector().release(),
      rustnet::MakeCoapDissector().release(),
  };
  for (const rustnet::Dissector* d : kDissectors) {
    rustnet::FuzzDissector(*d, rustnet::kIpProtoTcp, data, size);
    rustnet::FuzzDissector(*d, rustnet::kIpProtoUdp, data, size);
  }
  return 0;
}
