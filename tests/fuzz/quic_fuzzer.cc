// libFuzzer target: the quic dissector, fed in arbitrary chunks, and fed
// Initials sealed from the input (tests/daemon/dpi/quic_seal.h): random
// bytes never pass the AEAD tag, so half the inputs are taken as the
// plaintext frames of one to three Initials of a version, packet-number
// length and DCID the input chooses, reaching the frame walker, CRYPTO
// reassembly across packets and DCIDs, and the ClientHello parser.
#include <algorithm>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/quic.h"
#include "tests/daemon/dpi/quic_seal.h"
#include "tests/fuzz/dissector_fuzz.h"

namespace {

constexpr uint32_t kVersions[] = {0x00000001, 0x6b3343cf, 0x709a50c4, 0xff000016, 0xff00001b,
                                  0xff00001d, 0xff000022, 0xfaceb001, 0xfaceb002, 0xfaceb00e,
                                  0x51303530, 0x54303530, 0x54303531};

void FuzzSealed(const uint8_t* data, size_t size) {
  if (size < 4) return;
  rustnet::testing::InitialSpec spec;
  spec.version = kVersions[data[0] % std::size(kVersions)];
  spec.pn_len = 1 + (data[1] & 3);
  spec.pad_to = (data[1] & 4) != 0 ? 0 : 1100;
  const size_t packets = 1 + data[2] % 3;
  const uint8_t dcid_seed = data[3];
  std::span<const uint8_t> rest(data + 4, size - 4);
  const rustnet::FlowInfo flow{rustnet::kIpProtoUdp, 50000, 443};
  static const auto* dissector = rustnet::MakeQuicDissector().release();
  auto session = dissector->NewSession(flow);
  rustnet::AppRecord record;
  rustnet::DpiAnomalies anomalies;
  const size_t per_packet = rest.size() / packets + 1;
  for (size_t i = 0; i < packets && !rest.empty(); ++i) {
    const size_t n = std::min(per_packet, rest.size());
    // A new DCID per packet when the seed's bit says so (Retry, server CID).
    spec.dcid.assign(1 + (dcid_seed >> (2 * i)) % 20, static_cast<uint8_t>(dcid_seed + ((dcid_seed >> i) & 1 ? i : 0)));
    spec.pn = i;
    const auto packet = rustnet::testing::SealInitial(
        spec, std::vector<uint8_t>(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(n)));
    rest = rest.subspan(n);
    if (packet.empty()) return;
    if (session->Feed(true, packet, &record, &anomalies) != rustnet::ParseState::kNeedMore) break;
  }
  (void)record.Label();
  (void)record.Hostname();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) != 0) {
    FuzzSealed(data + 1, size - 1);
    return 0;
  }
  static const auto* dissector = rustnet::MakeQuicDissector().release();
  rustnet::FuzzDissector(*dissector, rustnet::kIpProtoUdp, data + 1, size - 1);
  return 0;
}
