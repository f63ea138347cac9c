// libFuzzer target: the SMB, NetBIOS name and datagram service, SSDP and Kerberos
// dissectors (Kerberos over TCP and UDP), fed in arbitrary chunks.
#include "common/flow_key.h"
#include "daemon/dpi/lan.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* smb = rustnet::MakeSmbDissector().release();
  static const auto* nbns = rustnet::MakeNetbiosNsDissector().release();
  static const auto* nbdgm = rustnet::MakeNetbiosDgmDissector().release();
  static const auto* ssdp = rustnet::MakeSsdpDissector().release();
  static const auto* kerberos = rustnet::MakeKerberosDissector().release();
  rustnet::FuzzDissector(*smb, rustnet::kIpProtoTcp, data, size);
  rustnet::FuzzDissector(*nbns, rustnet::kIpProtoUdp, data, size);
  rustnet::FuzzDissector(*nbdgm, rustnet::kIpProtoUdp, data, size);
  rustnet::FuzzDissector(*ssdp, rustnet::kIpProtoUdp, data, size);
  rustnet::FuzzDissector(*kerberos, rustnet::kIpProtoUdp, data, size);
  rustnet::FuzzDissector(*kerberos, rustnet::kIpProtoTcp, data, size);
  return 0;
}
