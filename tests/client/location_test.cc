// The Location column: its text, its place in the layout and the sort
// cycle, what the Overview and Details show from the daemon's locations and
// MAC vendors, hostile text sanitised.
#include "client/location.h"

#include <catch2/catch.hpp>
#include <string>

#include "client/columns.h"
#include "client/view_model.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

v1::Location Loc(const std::string& cc, const std::string& name, const std::string& city,
                 uint32_t asn, const std::string& org) {
  v1::Location l;
  l.set_country_code(cc);
  l.set_country_name(name);
  l.set_city(city);
  l.set_asn(asn);
  l.set_as_org(org);
  return l;
}

TEST_CASE("location: cell and detail text", "[client][location]") {
  const v1::Location full = Loc("GB", "United Kingdom", "London", 20712, "Andrews & Arnold Ltd");
  CHECK(LocationCell(full) == "GB Andrews & Arnold Ltd");
  CHECK(LocationDetail(full, "-") == "London, United Kingdom (GB) - AS20712 Andrews & Arnold Ltd");
  CHECK(LocationCell(Loc("GB", "", "", 20712, "")) == "GB AS20712");
  CHECK(LocationDetail(Loc("GB", "", "", 20712, ""), "-") == "GB - AS20712");
  CHECK(LocationCell(Loc("DE", "Germany", "", 0, "")) == "DE");
  CHECK(LocationDetail(Loc("DE", "Germany", "", 0, ""), "-") == "Germany (DE)");
  CHECK(LocationCell(Loc("", "", "", 13335, "Cloudflare, Inc.")) == "Cloudflare, Inc.");
  CHECK(LocationDetail(Loc("", "", "", 13335, "Cloudflare, Inc."), "-") ==
        "AS13335 Cloudflare, Inc.");
  v1::Location cgnat;
  cgnat.set_special("CGNAT");
  CHECK(LocationCell(cgnat) == "CGNAT");
  CHECK(LocationDetail(cgnat, "-") == "CGNAT range");
  CHECK(LocationCell(v1::Location()).empty());
  CHECK(LocationDetail(v1::Location(), "-").empty());

  v1::MacVendor v;
  CHECK(MacVendorText(v).empty());
  v.set_locally_administered(true);
  CHECK(MacVendorText(v) == "locally administered (randomised)");
  v.set_multicast(true);
  CHECK(MacVendorText(v) == "multicast");
  v.set_vendor("Cisco Systems, Inc");
  CHECK(MacVendorText(v) == "Cisco Systems, Inc");
}

TEST_CASE("location: the column is dropped first and sorts by SORT_FIELD_LOCATION",
          "[client][location]") {
  CHECK(SpecOf(Column::kLocation).sort == v1::SORT_FIELD_LOCATION);
  CHECK(SortFieldName(v1::SORT_FIELD_LOCATION) == "location");
  bool in_cycle = false;
  for (const SortChoice& s : SortCycle()) in_cycle |= s.field == v1::SORT_FIELD_LOCATION;
  CHECK(in_cycle);
  auto shown = [](size_t width) {
    for (const PlacedColumn& p : LayoutColumns(width)) {
      if (p.column == Column::kLocation) return true;
    }
    return false;
  };
  CHECK_FALSE(shown(123));  // The nine others first.
  CHECK(LayoutColumns(123).size() == 9);
  CHECK(shown(138));
  CHECK(LayoutColumns(138).size() == 10);
  // Placed last but for RTT (dropped before it).
  const auto wide = LayoutColumns(200);
  REQUIRE(wide.size() == 11);
  CHECK(wide[9].column == Column::kLocation);
  CHECK(wide[10].column == Column::kRtt);
  CHECK(LayoutColumns(146).size() == 10);
}

TEST_CASE("location: Overview and Details show it, sanitised", "[client][location]") {
  ViewModel::Options o;
  o.target = "/run/rustnet/rustnetd.sock";
  ViewModel vm(o);
  vm.Resize(200, 60);
  v1::Connection c;
  c.set_id(1);
  c.set_protocol(v1::PROTOCOL_TCP);
  c.set_ip_version(4);
  c.set_state(v1::CONNECTION_STATE_ESTABLISHED);
  c.mutable_local()->set_address("192.168.1.20");
  c.mutable_remote()->set_address("81.2.69.142");
  c.mutable_remote()->set_port(443);
  *c.mutable_remote_location() = Loc("GB", "United Kingdom", "London", 20712, "A&A\x1b[2J");
  c.mutable_local_location()->set_special("private");
  c.mutable_local_mac_vendor()->set_vendor("Cisco Systems, Inc");
  c.mutable_remote_mac_vendor()->set_locally_administered(true);
  v1::ListConnectionsResponse page;
  page.set_total(1);
  page.set_matched(1);
  *page.add_connections() = c;
  page.mutable_snapshot_time()->set_seconds(1'700'000'000);
  const Query q = vm.CurrentQuery();
  vm.OnPage(q, page);
  std::string screen;
  for (const Line& l : vm.Render(kNow)) screen += l.Text() + "\n";
  INFO(screen);
  CHECK(screen.find("Location") != std::string::npos);
  CHECK(screen.find("GB A&A") != std::string::npos);
  CHECK(screen.find('\x1b') == std::string::npos);

  vm.HandleKey(Key::Of(KeyCode::kDown), kNow);
  vm.HandleKey(Key::Of(KeyCode::kEnter), kNow);
  REQUIRE(vm.tab() == Tab::kDetails);
  screen.clear();
  for (const Line& l : vm.Render(kNow)) screen += l.Text() + "\n";
  INFO(screen);
  CHECK(screen.find("London, United Kingdom (GB)") != std::string::npos);
  CHECK(screen.find("AS20712") != std::string::npos);
  CHECK(screen.find("private range") != std::string::npos);
  CHECK(screen.find("Cisco Systems, Inc") != std::string::npos);
  CHECK(screen.find("locally administered (randomised)") != std::string::npos);
  CHECK(screen.find('\x1b') == std::string::npos);
}

}  // namespace
}  // namespace rustnet::client
