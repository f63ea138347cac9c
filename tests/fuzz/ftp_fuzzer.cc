// libFuzzer target: the FTP control dissector with an expectation table
// behind it, and the PASV/EPSV/PORT/EPRT parsers on the raw input.
#include <span>

#include "common/flow_key.h"
#include "daemon/dpi/ftp.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* ftp = rustnet::MakeFtpDissector().release();
  static auto* table = new rustnet::FtpExpectations();
  static const rustnet::DpiContext context{table, 0};
  (void)rustnet::ParseFtpHostPort(std::span<const uint8_t>(data, size));
  (void)rustnet::ParseFtpExtended(std::span<const uint8_t>(data, size));
  rustnet::FuzzDissector(*ftp, rustnet::kIpProtoTcp, data, size, &context);
  return 0;
}
