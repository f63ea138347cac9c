// libFuzzer target: the tls dissector, fed in arbitrary chunks; and the
// server certificate's names (ParseTlsCertificateMessage) over the input as
// a Certificate message body and as one certificate's DER.
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/tls.h"
#include "daemon/dpi/tls_certificate.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* dissector = rustnet::MakeTlsDissector().release();
  rustnet::FuzzDissector(*dissector, rustnet::kIpProtoTcp, data, size);
  rustnet::DpiAnomalies anomalies;
  rustnet::TlsFacts facts;
  (void)rustnet::ParseTlsCertificateMessage(std::span<const uint8_t>(data, size), &facts,
                                            &anomalies);
  if (size > 0 && size <= rustnet::kMaxTlsCertificateMessageBytes) {
    // The bytes as the leaf's DER: a list of one.
    std::vector<uint8_t> body;
    const size_t list = size + 3;
    body.push_back(static_cast<uint8_t>(list >> 16));
    body.push_back(static_cast<uint8_t>(list >> 8));
    body.push_back(static_cast<uint8_t>(list));
    body.push_back(static_cast<uint8_t>(size >> 16));
    body.push_back(static_cast<uint8_t>(size >> 8));
    body.push_back(static_cast<uint8_t>(size));
    body.insert(body.end(), data, data + size);
    (void)rustnet::ParseTlsCertificateMessage(body, &facts, &anomalies);
  }
  return 0;
}
