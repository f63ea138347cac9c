// libFuzzer target: the Syslog, TFTP, SNMP and LDAP dissectors, over TCP and UDP.
#include "common/flow_key.h"
#include "daemon/dpi/netmgmt.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rustnet::Dissector* const kDissectors[] = {
      rustnet::MakeSyslogDissector().release(),
      rustnet::MakeTftpDissector().release(),
      rustnet::MakeSnmpDissector().release(),
      rustnet::MakeLdapDissector().release(),
  };
  for (const rustnet::Dissector* d : kDissectors) {
    rustnet::FuzzDissector(*d, rustnet::kIpProtoTcp, data, size);
    rustnet::FuzzDissector(*d, rustnet::kIpProtoUdp, data, size);
  }
  return 0;
}
