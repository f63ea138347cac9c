// libFuzzer target: DNS messages (ParseDnsMessage, as DNS and as mDNS: names,
// compression, the RDATA of CNAME/PTR/NS/MX/SRV/SVCB/HTTPS/TXT) and the DNS
// dissector over UDP and TCP (length-prefixed stream).
#include "common/flow_key.h"
#include "daemon/dpi/dns.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* dissector = rustnet::MakeDnsDissector().release();
  rustnet::DpiAnomalies anomalies;
  (void)rustnet::ParseDnsMessage(std::span<const uint8_t>(data, size), &anomalies);
  (void)rustnet::ParseDnsMessage(std::span<const uint8_t>(data, size), &anomalies, /*mdns=*/true);
  rustnet::FuzzDissector(*dissector, rustnet::kIpProtoUdp, data, size);
  rustnet::FuzzDissector(*dissector, rustnet::kIpProtoTcp, data, size);
  return 0;
}
