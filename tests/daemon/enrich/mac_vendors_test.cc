// MAC vendors: the IEEE registries as Debian ships them (known MA-L, MA-M
// and MA-S prefixes, longest match), randomised and multicast addresses,
// and hostile CSV (quotes, commas in names, broken records counted).
#include "daemon/enrich/mac_vendors.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace rustnet {
namespace {

MacAddress Mac(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f) {
  return MacAddress{a, b, c, d, e, f};
}

TEST_CASE("mac_vendors_longest_prefix_and_csv_quoting", "[enrich][mac]") {
  MacVendorTable t;
  t.AddCsv(
      "Registry,Assignment,Organization Name,Organization Address\n"
      "MA-L,001122,\"Acme, Inc.\",\"1 Road, Town\"\r\n"
      "MA-L,70B3D5,IEEE Registration Authority,\n"
      "MA-M,70B3D51,Medium \"\"Co\"\",x\n"  // Quotes inside an unquoted field kept.
      "MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1 Moscow  RU 109388 \"\n"
      "MA-L,AABBCC,\"Quoted \"\"name\"\"\",\n"
      "MA-L,0011,Short,\n"            // Bad: 4 hex digits.
      "MA-X,001133,Unknown registry,\n"
      "MA-L,00GG00,Not hex,\n"
      "MA-L,001144,\"unterminated\" trailing,\n"  // Text after a closing quote.
      "\n"
      "MA-L,001155\n"                 // Too few fields.
      "MA-L,001166,\"  Spaces\t and\x01 control  \",\n");
  t.Finish();
  CHECK(t.stats().ma_l == 4);
  CHECK(t.stats().ma_m == 1);
  CHECK(t.stats().ma_s == 1);
  CHECK(t.stats().bad_lines == 5);

  MacVendor v = t.Lookup(Mac(0x00, 0x11, 0x22, 0x33, 0x44, 0x55));
  CHECK(v.vendor == "Acme, Inc.");
  CHECK(v.prefix_bits == 24);
  CHECK_FALSE(v.locally_administered);
  CHECK_FALSE(v.multicast);
  CHECK(t.Lookup(Mac(0xaa, 0xbb, 0xcc, 0, 0, 1)).vendor.empty());  // 0xaa: U/L bit set.
  CHECK(t.Lookup(Mac(0x70, 0xb3, 0xd5, 0xf2, 0xf0, 0x01)).vendor == "TELEPLATFORMS");
  CHECK(t.Lookup(Mac(0x70, 0xb3, 0xd5, 0xf2, 0xf0, 0x01)).prefix_bits == 36);
  CHECK(t.Lookup(Mac(0x70, 0xb3, 0xd5, 0x1f, 0, 1)).vendor == "Medium \"\"Co\"\"");
  CHECK(t.Lookup(Mac(0x70, 0xb3, 0xd5, 0x1f, 0, 1)).prefix_bits == 28);
  CHECK(t.Lookup(Mac(0x70, 0xb3, 0xd5, 0x20, 0, 1)).vendor == "IEEE Registration Authority");
  CHECK(t.Lookup(Mac(0x00, 0x11, 0x66, 0, 0, 1)).vendor == "Spaces and control");
  CHECK(t.Lookup(Mac(0x00, 0x11, 0x33, 0, 0, 1)).vendor.empty());
  CHECK(t.Lookup(Mac(0x00, 0x11, 0x33, 0, 0, 1)).prefix_bits == 0);
}

TEST_CASE("mac_vendors_randomised_and_multicast_marked", "[enrich][mac]") {
  MacVendorTable t;
  t.AddCsv("MA-L,001122,Acme,\nMA-L,021122,Would-be local,\n");
  t.Finish();
  // A randomised Wi-Fi address (x2:, x6:, xA:, xE: first octets).
  for (int first : {0x02, 0x06, 0x0a, 0x0e, 0xda}) {
    const MacVendor v = t.Lookup(Mac(static_cast<uint8_t>(first), 0x11, 0x22, 1, 2, 3));
    CHECK(v.locally_administered);
    CHECK(v.vendor.empty());
  }
  const MacVendor m = t.Lookup(Mac(0x01, 0x00, 0x5e, 0, 0, 1));
  CHECK(m.multicast);
  CHECK_FALSE(m.locally_administered);
  const MacVendor b = t.Lookup(Mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
  CHECK(b.multicast);
  CHECK(b.locally_administered);
}

TEST_CASE("mac_vendors_hostile_input_bounded", "[enrich][mac]") {
  MacVendorTable t;
  std::string long_name(10'000, 'x');
  std::string text = "MA-L,001122,\"" + long_name + "\",\n";
  text += "MA-L,001123,\"never closed\n";  // Swallows the rest: one bad record.
  text += "MA-L,001124,Lost,\n";
  t.AddCsv(text);
  t.AddCsv(std::string(1000, ','));
  t.AddCsv(std::string("\0\0\0,\n", 5));
  t.Finish();
  CHECK(t.stats().ma_l == 1);
  CHECK(t.Lookup(Mac(0x00, 0x11, 0x22, 0, 0, 0)).vendor.size() == kMaxVendorName);
  CHECK(t.Lookup(Mac(0x00, 0x11, 0x24, 0, 0, 0)).vendor.empty());
  CHECK(t.stats().bad_lines == 3);
}

TEST_CASE("mac_vendors_debian_ieee_data", "[enrich][mac]") {
  // Debian's ieee-data (a dependency in scripts/setup.sh): real assignments
  // that have not changed in decades.
  auto table = MacVendorTable::LoadDirectory(kDefaultIeeeDataDir);
  REQUIRE(table.ok());
  INFO("MA-L " << table->stats().ma_l << " MA-M " << table->stats().ma_m << " MA-S "
               << table->stats().ma_s << " bad " << table->stats().bad_lines);
  CHECK(table->stats().ma_l > 30'000);
  CHECK(table->stats().ma_m > 4'000);
  CHECK(table->stats().ma_s > 4'000);
  // Under 1% of the records refused.
  CHECK(table->stats().bad_lines * 100 < table->stats().ma_l);
  CHECK(table->Lookup(MacAddress{0x00, 0x00, 0x0c, 1, 2, 3}).vendor.find("Cisco") !=
        std::string_view::npos);
  CHECK(table->Lookup(MacAddress{0x00, 0x50, 0x56, 1, 2, 3}).vendor.find("VMware") !=
        std::string_view::npos);
  CHECK(table->Lookup(MacAddress{0x52, 0x54, 0x00, 1, 2, 3}).locally_administered);  // QEMU
  // One MA-M and one MA-S assignment, as the files list them: the longest
  // match wins over the MA-L block they are carved from.
  const MacVendor tele = table->Lookup(MacAddress{0x70, 0xb3, 0xd5, 0xf2, 0xf0, 0x00});
  CHECK(tele.vendor == "TELEPLATFORMS");
  CHECK(tele.prefix_bits == 36);
  const MacVendor iog = table->Lookup(MacAddress{0x20, 0x85, 0x93, 0xb0, 0x00, 0x01});
  CHECK(iog.vendor == "IOG Products LLC");
  CHECK(iog.prefix_bits == 28);
  INFO("table bytes " << table->MemoryBytes());
  CHECK(table->MemoryBytes() < 4u << 20);
}

TEST_CASE("mac_vendors_missing_directory_says_what_to_install", "[enrich][mac]") {
  auto table = MacVendorTable::LoadDirectory("/nonexistent/ieee");
  REQUIRE_FALSE(table.ok());
  CHECK(table.status().message().find("ieee-data") != std::string_view::npos);
}

}  // namespace
}  // namespace rustnet
