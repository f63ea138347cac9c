// libFuzzer target: the http dissector, fed in arbitrary chunks.
#include "common/flow_key.h"
#include "daemon/dpi/http.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* dissector = rustnet::MakeHttpDissector().release();
  rustnet::FuzzDissector(*dissector, rustnet::kIpProtoTcp, data, size);
  return 0;
}
