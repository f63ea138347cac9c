// libFuzzer target: the packet decoder. The first byte picks the link type
// and whether the wire length claims more than was captured; a second packet
// decoded after the first exercises the fragment table.
#include <span>

#include "daemon/decode/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rustnet::LinkType;
  if (size < 2) return 0;
  static constexpr LinkType kTypes[] = {LinkType::kEthernet, LinkType::kLinuxSll,
                                        LinkType::kLinuxSll2, LinkType::kRaw,
                                        LinkType::kIpv4,     LinkType::kIpv6,
                                        LinkType::kNull,     LinkType::kLoop};
  rustnet::Decoder decoder(kTypes[data[0] % 8]);
  const auto frame = std::span<const uint8_t>(data + 2, size - 2);
  const uint32_t wire = static_cast<uint32_t>(frame.size()) + (data[1] & 0x7f) * 13u;
  rustnet::DecodedPacket out;
  (void)decoder.Decode(frame, wire, int64_t{data[1]} << 40, &out);
  // The same bytes again, later: later fragments meet their first one.
  (void)decoder.Decode(frame.subspan(frame.size() / 3), wire, (int64_t{data[1]} << 40) + 1, &out);
  return 0;
}
