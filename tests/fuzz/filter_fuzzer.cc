// libFuzzer target: the filter language parser and matcher.
#include <string>
#include <string_view>

#include "common/filter.h"

namespace {

struct Subject final : rustnet::FilterSubject {
  rustnet::IpAddress a, b;
  std::string_view Protocol() const override { return "tcp"; }
  int IpVersion() const override { return 4; }
  const rustnet::IpAddress& Address(int side) const override { return side == 0 ? a : b; }
  uint16_t Port(int side) const override { return side == 0 ? 51000 : 443; }
  std::string_view State() const override { return "established"; }
  std::string_view Direction() const override { return "out"; }
  std::string_view Service() const override { return "https"; }
  std::string_view App() const override { return "tls"; }
  std::string_view Sni() const override { return "example.com"; }
  std::string_view Hosts() const override { return "example.com"; }
  std::string_view Process() const override { return "curl"; }
  uint32_t Pid(int side) const override { return side == 0 ? 42 : 7; }
  std::string_view User() const override { return "root"; }
  std::string_view Interface() const override { return "eth0"; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto filter = rustnet::ParseFilter(std::string_view(reinterpret_cast<const char*>(data), size));
  if (filter.ok()) {
    Subject s;
    (void)filter->Matches(s);
  }
  return 0;
}
