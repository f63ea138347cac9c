// libFuzzer target: the RDP, VNC and Telnet dissectors, fed in arbitrary
// chunks.
#include "common/flow_key.h"
#include "daemon/dpi/remote.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* rdp = rustnet::MakeRdpDissector().release();
  static const auto* vnc = rustnet::MakeVncDissector().release();
  static const auto* telnet = rustnet::MakeTelnetDissector().release();
  for (const auto* d : {rdp, vnc, telnet}) {
    rustnet::FuzzDissector(*d, rustnet::kIpProtoTcp, data, size);
  }
  return 0;
}
