// libFuzzer target: the capture-file reader (libpcap through PcapSource) and
// the decoder over every packet it yields. The input is written to a file,
// as --read would find it.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "daemon/capture/pcap_source.h"
#include "daemon/decode/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/rustnet-fuzz-" + std::to_string(getpid()) + ".pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto source = rustnet::PcapSource::OpenFile(path, "");
  if (!source.ok()) return 0;
  rustnet::Decoder decoder((*source)->link_type());
  rustnet::RawPacket raw;
  rustnet::DecodedPacket out;
  for (int i = 0; i < 10000 && (*source)->Next(&raw) == rustnet::NextResult::kPacket; ++i) {
    (void)decoder.Decode(raw.data, raw.wire_length, raw.timestamp_us, &out);
  }
  return 0;
}
