// libFuzzer target: the NTP, DHCP and STUN dissectors, and STUN over TCP
// (both framings, any split).
#include "common/flow_key.h"
#include "daemon/dpi/simple_udp.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* ntp = rustnet::MakeNtpDissector().release();
  static const auto* dhcp = rustnet::MakeDhcpDissector().release();
  static const auto* stun = rustnet::MakeStunDissector().release();
  for (const rustnet::Dissector* d : {ntp, dhcp, stun}) {
    rustnet::FuzzDissector(*d, rustnet::kIpProtoUdp, data, size);
  }
  rustnet::FuzzDissector(*stun, rustnet::kIpProtoTcp, data, size);
  return 0;
}
