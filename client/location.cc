#include "client/location.h"

#include "absl/strings/str_cat.h"

namespace rustnet::client {
namespace {

std::string Network(const rustnet::v1::Location& l) {
  if (l.asn() == 0) return l.as_org();
  if (l.as_org().empty()) return absl::StrCat("AS", l.asn());
  return absl::StrCat("AS", l.asn(), " ", l.as_org());
}

void Join(std::string* out, std::string_view sep, const std::string& part) {
  if (part.empty()) return;
  if (!out->empty()) out->append(sep.data(), sep.size());
  out->append(part);
}

}  // namespace

std::string LocationCell(const rustnet::v1::Location& l) {
  if (!l.special().empty()) return l.special();
  std::string out = l.country_code();
  // The organisation says more than its number in a narrow column.
  Join(&out, " ",
       l.as_org().empty() ? (l.asn() != 0 ? absl::StrCat("AS", l.asn()) : std::string())
                          : l.as_org());
  return out;
}

std::string LocationDetail(const rustnet::v1::Location& l, std::string_view dot) {
  if (!l.special().empty()) return absl::StrCat(l.special(), " range");
  std::string place = l.city();
  if (!l.country_name().empty()) {
    Join(&place, ", ",
         l.country_code().empty() ? l.country_name()
                                  : absl::StrCat(l.country_name(), " (", l.country_code(), ")"));
  } else {
    Join(&place, ", ", l.country_code());
  }
  std::string out = place;
  Join(&out, absl::StrCat(" ", std::string(dot), " "), Network(l));
  return out;
}

std::string MacVendorText(const rustnet::v1::MacVendor& v) {
  if (!v.vendor().empty()) return v.vendor();
  if (v.multicast()) return "multicast";
  if (v.locally_administered()) return "locally administered (randomised)";
  return {};
}

}  // namespace rustnet::client
