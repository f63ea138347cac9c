// libFuzzer target: the filter language parser and matcher.
#include <string>
#include <string_view>

#include "common/filter.h"
#include "tests/common/fake_filter_subject.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto filter = rustnet::ParseFilter(std::string_view(reinterpret_cast<const char*>(data), size));
  if (filter.ok()) {
    rustnet::testing::FakeSubject s;
    (void)filter->Matches(s);
  }
  return 0;
}
