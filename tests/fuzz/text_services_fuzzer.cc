// libFuzzer target: the SIP, RTSP, IRC, NNTP, rsync, Git, SOCKS and HTTP/2 dissectors, over TCP and
// UDP.
#include "common/flow_key.h"
#include "daemon/dpi/text_services.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rustnet::Dissector* const kDissectors[] = {
      rustnet::MakeSipDissector().release(),   rustnet::MakeRtspDissector().release(),
      rustnet::MakeIrcDissector().release(),   rustnet::MakeNntpDissector().release(),
      rustnet::MakeRsyncDissector().release(), rustnet::MakeGitDissector().release(),
      rustnet::MakeSocksDissector().release(), rustnet::MakeHttp2Dissector().release(),
  };
  for (const rustnet::Dissector* d : kDissectors) {
    rustnet::FuzzDissector(*d, rustnet::kIpProtoTcp, data, size);
    rustnet::FuzzDissector(*d, rustnet::kIpProtoUdp, data, size);
  }
  return 0;
}
