// MAC address vendors from the IEEE registration authority's registries as
// Debian's ieee-data ships them (/usr/share/ieee-data/oui.csv, mam.csv,
// oui36.csv): MA-L (24-bit prefixes), MA-M (28-bit) and MA-S (36-bit),
// loaded once into three sorted arrays over one string of names, and looked
// up by longest prefix.
//
// The files are input like any other: parsed as RFC 4180 CSV (quoted fields,
// commas and doubled quotes inside them), lines that are not a well-formed
// assignment counted and skipped, names cut at kMaxVendorName bytes and
// control characters dropped, files over kMaxRegistryBytes refused.
//
// Thread-safety: a loaded table is immutable; Lookup from any thread.
#ifndef RUSTNET_DAEMON_ENRICH_MAC_VENDORS_H_
#define RUSTNET_DAEMON_ENRICH_MAC_VENDORS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flow_key.h"

namespace rustnet {

inline constexpr size_t kMaxVendorName = 96;
inline constexpr size_t kMaxRegistryBytes = 64u << 20;
inline constexpr std::string_view kDefaultIeeeDataDir = "/usr/share/ieee-data";

struct MacVendor {
  // The registered organisation; empty when no registry has the prefix or
  // the address is locally administered or multicast (prefixes are
  // assigned to universally administered unicast addresses).
  std::string_view vendor;
  // The U/L bit (IEEE 802 §8.2.2) is set: a locally administered address,
  // as randomised ("private") Wi-Fi addresses, VMs and containers use.
  bool locally_administered = false;
  bool multicast = false;  // The I/G bit: a group address.
  // Bits of the prefix that matched (24, 28, 36); 0 when none.
  int prefix_bits = 0;
};

class MacVendorTable {
 public:
  struct Stats {
    size_t ma_l = 0;       // Assignments loaded per registry.
    size_t ma_m = 0;
    size_t ma_s = 0;
    size_t bad_lines = 0;  // Records skipped: malformed, unknown registry, bad hex.
    size_t name_bytes = 0;
  };

  MacVendorTable() = default;  // Empty: every lookup finds no vendor.

  // Loads oui.csv, mam.csv and oui36.csv from `dir`; a file that is
  // missing is skipped, but at least one must load (NotFound otherwise,
  // naming the directory and the Debian package).
  static absl::StatusOr<MacVendorTable> LoadDirectory(std::string_view dir);

  // Adds the records of one registry file's text (any of the three
  // registries; the Registry column says which). Never fails: bad records
  // are counted. Call Finish() after the last one.
  void AddCsv(std::string_view text);
  // Sorts the arrays (duplicates: the first loaded wins).
  void Finish();

  MacVendor Lookup(const MacAddress& mac) const;
  const Stats& stats() const { return stats_; }
  bool empty() const { return ma_l_.empty() && ma_m_.empty() && ma_s_.empty(); }
  // Bytes the table holds (arrays and names).
  size_t MemoryBytes() const;

 private:
  struct Entry {
    uint64_t prefix;  // The assignment's bits, right-aligned.
    uint32_t name_offset;
    uint32_t name_length;
    bool operator<(const Entry& o) const { return prefix < o.prefix; }
  };
  void AddRecord(std::string_view registry, std::string_view assignment, std::string_view name);
  std::string_view NameOf(const Entry& e) const {
    return std::string_view(names_).substr(e.name_offset, e.name_length);
  }
  static const Entry* Find(const std::vector<Entry>& table, uint64_t prefix);

  std::vector<Entry> ma_l_, ma_m_, ma_s_;
  std::string names_;
  Stats stats_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_ENRICH_MAC_VENDORS_H_
