#include "daemon/enrich/mac_vendors.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

// Splits one CSV record (RFC 4180) starting at `*pos` into `fields` (at most
// kMaxFields are kept; more is a malformed record); advances `*pos` past
// the record's line end. False if the record is malformed (a quote that
// does not close, text after a closing quote), the record is consumed
// either way.
constexpr size_t kMaxFields = 8;
constexpr size_t kMaxFieldBytes = 4096;

bool NextRecord(std::string_view text, size_t* pos, std::vector<std::string>* fields) {
  fields->clear();
  fields->emplace_back();
  bool ok = true;
  size_t i = *pos;
  bool in_quotes = false;
  bool after_quote = false;  // A quoted field ended; only , or EOL may follow.
  for (; i < text.size(); ++i) {
    const char ch = text[i];
    std::string& field = fields->back();
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          if (field.size() < kMaxFieldBytes) field += '"';
          ++i;
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else if (field.size() < kMaxFieldBytes) {
        field += ch;
      }
      continue;
    }
    if (ch == '\n') break;
    if (ch == '\r') continue;
    if (ch == ',') {
      if (fields->size() >= kMaxFields) {
        ok = false;
      } else {
        fields->emplace_back();
      }
      after_quote = false;
      continue;
    }
    if (after_quote) {
      ok = false;
      continue;
    }
    if (ch == '"' && field.empty()) {
      in_quotes = true;
      continue;
    }
    if (field.size() < kMaxFieldBytes) field += ch;
  }
  if (in_quotes) ok = false;  // The file ended inside a quoted field.
  *pos = i < text.size() ? i + 1 : text.size();
  return ok;
}

bool ParseHex(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return !s.empty();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

uint64_t MacBits(const MacAddress& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac) v = (v << 8) | b;
  return v;
}

}  // namespace

void MacVendorTable::AddCsv(std::string_view text) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    const bool ok = NextRecord(text, &pos, &fields);
    if (fields.size() == 1 && Trim(fields[0]).empty() && ok) continue;
    if (!ok || fields.size() < 3) {
      ++stats_.bad_lines;
      continue;
    }
    if (fields[0] == "Registry") continue;  // The header.
    AddRecord(fields[0], fields[1], fields[2]);
  }
}

void MacVendorTable::AddRecord(std::string_view registry, std::string_view assignment,
                               std::string_view name) {
  std::vector<Entry>* table = nullptr;
  size_t digits = 0;
  if (registry == "MA-L") {
    table = &ma_l_;
    digits = 6;
  } else if (registry == "MA-M") {
    table = &ma_m_;
    digits = 7;
  } else if (registry == "MA-S") {
    table = &ma_s_;
    digits = 9;
  }
  uint64_t prefix = 0;
  assignment = Trim(assignment);
  if (table == nullptr || assignment.size() != digits || !ParseHex(assignment, &prefix)) {
    ++stats_.bad_lines;
    return;
  }
  // The name: printable bytes only (UTF-8 kept), whitespace runs folded,
  // cut at kMaxVendorName on a character boundary.
  std::string clean;
  bool space = false;
  for (char ch : Trim(name)) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f || ch == ' ') {
      space = !clean.empty();
      continue;
    }
    if (space) clean += ' ';
    space = false;
    clean += ch;
  }
  if (clean.size() > kMaxVendorName) {
    size_t cut = kMaxVendorName;
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xc0) == 0x80) --cut;
    clean.resize(cut);
  }
  if (clean.empty() || names_.size() + clean.size() > UINT32_MAX) {
    ++stats_.bad_lines;
    return;
  }
  table->push_back(Entry{prefix, static_cast<uint32_t>(names_.size()),
                         static_cast<uint32_t>(clean.size())});
  names_ += clean;
}

void MacVendorTable::Finish() {
  for (auto* table : {&ma_l_, &ma_m_, &ma_s_}) {
    std::stable_sort(table->begin(), table->end());
    table->erase(std::unique(table->begin(), table->end(),
                             [](const Entry& a, const Entry& b) { return a.prefix == b.prefix; }),
                 table->end());
    table->shrink_to_fit();
  }
  stats_.ma_l = ma_l_.size();
  stats_.ma_m = ma_m_.size();
  stats_.ma_s = ma_s_.size();
  stats_.name_bytes = names_.size();
}

absl::StatusOr<MacVendorTable> MacVendorTable::LoadDirectory(std::string_view dir) {
  MacVendorTable table;
  int loaded = 0;
  for (std::string_view file : {"oui.csv", "mam.csv", "oui36.csv"}) {
    const std::string path = absl::StrCat(std::string(dir), "/", std::string(file));
    std::ifstream in(path, std::ios::binary);
    if (!in) continue;
    std::string text;
    text.reserve(1 << 20);
    char buf[1 << 16];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      text.append(buf, static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxRegistryBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, " is over ", kMaxRegistryBytes >> 20, " MiB: not an IEEE registry file"));
      }
    }
    table.AddCsv(text);
    ++loaded;
  }
  if (loaded == 0) {
    return absl::NotFoundError(absl::StrCat("no IEEE registry (oui.csv, mam.csv, oui36.csv) in ",
                                            std::string(dir), "; install Debian's ieee-data"));
  }
  table.Finish();
  return table;
}

const MacVendorTable::Entry* MacVendorTable::Find(const std::vector<Entry>& table,
                                                  uint64_t prefix) {
  auto it = std::lower_bound(table.begin(), table.end(), Entry{prefix, 0, 0});
  return it != table.end() && it->prefix == prefix ? &*it : nullptr;
}

MacVendor MacVendorTable::Lookup(const MacAddress& mac) const {
  MacVendor out;
  out.multicast = (mac[0] & 0x01) != 0;
  out.locally_administered = (mac[0] & 0x02) != 0;
  if (out.multicast || out.locally_administered) return out;
  const uint64_t bits = MacBits(mac);
  if (const Entry* e = Find(ma_s_, bits >> 12)) {
    out.vendor = NameOf(*e);
    out.prefix_bits = 36;
  } else if (const Entry* m = Find(ma_m_, bits >> 20)) {
    out.vendor = NameOf(*m);
    out.prefix_bits = 28;
  } else if (const Entry* l = Find(ma_l_, bits >> 24)) {
    out.vendor = NameOf(*l);
    out.prefix_bits = 24;
  }
  return out;
}

size_t MacVendorTable::MemoryBytes() const {
  return (ma_l_.capacity() + ma_m_.capacity() + ma_s_.capacity()) * sizeof(Entry) +
         names_.capacity();
}

}  // namespace rustnet
