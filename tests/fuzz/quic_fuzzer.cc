// libFuzzer target: the quic dissector, fed in arbitrary chunks.
#include "common/flow_key.h"
#include "daemon/dpi/quic.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* dissector = rustnet::MakeQuicDissector().release();
  rustnet::FuzzDissector(*dissector, rustnet::kIpProtoUdp, data, size);
  return 0;
}
