// Shared driver for dissector fuzzers: the first input bytes choose the
// flow (transport, ports) and how the rest is split into chunks and
// directions, so one input exercises reassembly across any split.
#ifndef RUSTNET_TESTS_FUZZ_DISSECTOR_FUZZ_H_
#define RUSTNET_TESTS_FUZZ_DISSECTOR_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "daemon/dpi/dissector.h"

namespace rustnet {

inline void FuzzDissector(const Dissector& d, uint8_t transport, const uint8_t* data,
                          size_t size, const DpiContext* context = nullptr) {
  if (size < 3) return;
  FlowInfo flow{transport, static_cast<uint16_t>(1024 + data[0]),
                static_cast<uint16_t>(data[1] % 2 == 0 ? 443 : 53)};
  flow.context = context;
  const uint8_t split = data[2];
  std::span<const uint8_t> rest(data + 3, size - 3);
  (void)d.Probe(flow, true, rest);
  auto session = d.NewSession(flow);
  AppRecord record;
  DpiAnomalies anomalies;
  size_t pos = 0;
  size_t n = 0;
  while (pos < rest.size()) {
    // Chunk length and direction from the split byte and the position.
    const size_t len = std::min<size_t>(rest.size() - pos, 1 + ((split + 31 * n) % 97) * 17);
    const bool from_client = ((split >> (n % 8)) & 1) == 0;
    if (session->Feed(from_client, rest.subspan(pos, len), &record, &anomalies) !=
        ParseState::kNeedMore) {
      break;
    }
    pos += len;
    ++n;
  }
  (void)record.Label();
  (void)record.Hostname();
}

}  // namespace rustnet

#endif  // RUSTNET_TESTS_FUZZ_DISSECTOR_FUZZ_H_
