#include "daemon/enrich/geoip.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/enrich/special_ranges.h"
#include "spdlog/spdlog.h"

namespace rustnet {
namespace {

// The text of a UTF-8 string entry, control characters dropped, cut at
// kMaxGeoText on a character boundary. Empty when absent or not a string.
std::string TextAt(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING) {
    return {};
  }
  std::string out;
  const size_t n = std::min<size_t>(data.data_size, kMaxGeoText);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto u = static_cast<unsigned char>(data.utf8_string[i]);
    if (u < 0x20 || u == 0x7f) continue;
    out += static_cast<char>(u);
  }
  if (data.data_size > kMaxGeoText) {
    size_t cut = out.size();
    while (cut > 0 && (static_cast<unsigned char>(out[cut - 1]) & 0xc0) == 0x80) --cut;
    if (cut > 0 && (static_cast<unsigned char>(out[cut - 1]) & 0xc0) == 0xc0) --cut;
    out.resize(cut);
  }
  return out;
}

uint32_t NumberAt(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data) return 0;
  switch (data.type) {
    case MMDB_DATA_TYPE_UINT32: return data.uint32;
    case MMDB_DATA_TYPE_UINT16: return data.uint16;
    case MMDB_DATA_TYPE_INT32: return data.int32 > 0 ? static_cast<uint32_t>(data.int32) : 0;
    default: return 0;
  }
}

void SetIfEmpty(std::string* field, std::string value) {
  if (field->empty()) *field = std::move(value);
}

size_t TextBytes(const GeoLocation& l) {
  return l.country_code.capacity() + l.country_name.capacity() + l.city.capacity() +
         l.as_org.capacity();
}

}  // namespace

struct GeoIpDatabase::Handle {
  MMDB_s mmdb{};
};

std::string_view GeoDbRoleName(GeoDbRole role) {
  switch (role) {
    case GeoDbRole::kCountry: return "country";
    case GeoDbRole::kCity: return "city";
    case GeoDbRole::kAsn: return "asn";
  }
  return "unknown";
}

const std::vector<std::string>& GeoDbFileNames(GeoDbRole role) {
  static const auto* const kNames = new std::array<std::vector<std::string>, kGeoDbRoles>{{
      {"GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb", "geo-whois-asn-country.mmdb",
       "dbip-country.mmdb"},
      {"GeoLite2-City.mmdb", "GeoIP2-City.mmdb", "dbip-city.mmdb"},
      {"GeoLite2-ASN.mmdb", "GeoIP2-ISP.mmdb", "asn.mmdb", "iptoasn-asn.mmdb"},
  }};
  return (*kNames)[static_cast<size_t>(role)];
}

absl::StatusOr<std::shared_ptr<const GeoIpDatabase>> GeoIpDatabase::Open(const std::string& path) {
  std::shared_ptr<GeoIpDatabase> db(new GeoIpDatabase());
  db->handle_ = std::make_unique<Handle>();
  const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->handle_->mmdb);
  if (rc != MMDB_SUCCESS) {
    db->handle_.reset();  // MMDB_open cleans up after itself on failure.
    if (rc == MMDB_FILE_OPEN_ERROR) {
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a MaxMind database (", MMDB_strerror(rc), ")"));
  }
  db->path_ = path;
  const MMDB_s& m = db->handle_->mmdb;
  if (m.metadata.database_type != nullptr) {
    db->type_ = std::string(m.metadata.database_type).substr(0, kMaxGeoText);
  }
  db->build_epoch_ = m.metadata.build_epoch;
  return std::shared_ptr<const GeoIpDatabase>(std::move(db));
}

GeoIpDatabase::~GeoIpDatabase() {
  if (handle_) MMDB_close(&handle_->mmdb);
}

void GeoIpDatabase::Lookup(const IpAddress& address, GeoLocation* out) const {
  sockaddr_storage storage{};
  if (address.IsV4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, address.bytes.data() + 12, 4);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, address.bytes.data(), 16);
  }
  int error = MMDB_SUCCESS;
  MMDB_lookup_result_s result =
      MMDB_lookup_sockaddr(&handle_->mmdb, reinterpret_cast<const sockaddr*>(&storage), &error);
  // An IPv6 address in an IPv4-only database is an error, not a crash.
  if (error != MMDB_SUCCESS || !result.found_entry) return;
  MMDB_entry_s* e = &result.entry;
  // MaxMind's layout.
  static const char* const kIso[] = {"country", "iso_code", nullptr};
  static const char* const kCountryName[] = {"country", "names", "en", nullptr};
  static const char* const kCityName[] = {"city", "names", "en", nullptr};
  static const char* const kAsn[] = {"autonomous_system_number", nullptr};
  static const char* const kOrg[] = {"autonomous_system_organization", nullptr};
  // ip-location-db's flat layout.
  static const char* const kCountryCode[] = {"country_code", nullptr};
  static const char* const kCityFlat[] = {"city", nullptr};
  SetIfEmpty(&out->country_code, TextAt(e, kIso));
  SetIfEmpty(&out->country_code, TextAt(e, kCountryCode));
  SetIfEmpty(&out->country_name, TextAt(e, kCountryName));
  SetIfEmpty(&out->city, TextAt(e, kCityName));
  SetIfEmpty(&out->city, TextAt(e, kCityFlat));
  if (out->asn == 0) out->asn = NumberAt(e, kAsn);
  SetIfEmpty(&out->as_org, TextAt(e, kOrg));
}

GeoIp::GeoIp(GeoIpOptions options) : options_(std::move(options)) {}

std::unique_ptr<GeoIp> GeoIp::Start(GeoIpOptions options) {
  std::unique_ptr<GeoIp> geo(new GeoIp(std::move(options)));
  geo->Check(/*force=*/true);
  const bool any_given = std::any_of(geo->options_.files.begin(), geo->options_.files.end(),
                                    [](const std::string& f) { return !f.empty(); });
  if (!geo->has_database() && !any_given) {
    spdlog::info("GeoIP: no database found (searched {} for {}, {}, {}); locations off until one "
                 "appears there or is given with --geoip-country/--geoip-city/--geoip-asn",
                 absl::StrJoin(geo->options_.search_dirs, ", "),
                 GeoDbFileNames(GeoDbRole::kCountry)[0], GeoDbFileNames(GeoDbRole::kCity)[0],
                 GeoDbFileNames(GeoDbRole::kAsn)[0]);
  }
  if (geo->options_.check_interval > absl::ZeroDuration()) {
    geo->watcher_ = std::thread([g = geo.get()] { g->Watch(); });
  }
  return geo;
}

GeoIp::~GeoIp() {
  stop_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

void GeoIp::Watch() {
  while (!stop_.WaitForNotificationWithTimeout(options_.check_interval)) Check(/*force=*/false);
}

std::string GeoIp::Resolve(GeoDbRole role) const {
  const std::string& given = options_.files[static_cast<size_t>(role)];
  if (!given.empty()) return given;
  for (const std::string& dir : options_.search_dirs) {
    for (const std::string& name : GeoDbFileNames(role)) {
      std::string path = absl::StrCat(dir, "/", name);
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return path;
    }
  }
  return {};
}

bool GeoIp::Check(bool force) {
  absl::MutexLock check(&check_mu_);
  bool swapped = false;
  for (size_t r = 0; r < kGeoDbRoles; ++r) {
    const auto role = static_cast<GeoDbRole>(r);
    const std::string path = Resolve(role);
    if (path.empty()) continue;  // None (searched): nothing to say per role.
    FileId id;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      id = FileId{st.st_dev, st.st_ino, static_cast<int64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
    }
    Slot old;
    {
      absl::MutexLock lock(&mu_);
      old = slots_[r];
    }
    if (!force && old.path == path && old.id == id) continue;  // Unchanged (or failed before).
    if (!force && id.size < 0 && old.db) continue;  // Gone: keep using what is mapped.
    auto db = GeoIpDatabase::Open(path);
    absl::MutexLock lock(&mu_);
    Slot& slot = slots_[r];
    slot.path = path;
    slot.id = id;
    if (!db.ok()) {
      ++load_errors_;
      slot.failed = true;
      spdlog::error("GeoIP: {}; {}", std::string(db.status().message()),
                    slot.db ? absl::StrCat("still using the previous ", std::string(GeoDbRoleName(role)),
                                           " database")
                            : absl::StrCat("running without the ", std::string(GeoDbRoleName(role)),
                                           " database until the file is fixed"));
      continue;
    }
    if (first_check_done_ || slot.db) ++reloads_;
    slot.failed = false;
    {
      // Swapped and the cache emptied at once: a lookup that saw the old
      // database cannot store its answer after this (see Lookup).
      absl::MutexLock cache_lock(&cache_mu_);
      slot.db = std::move(*db);
      ClearCacheLocked();
    }
    swapped = true;
    spdlog::info("GeoIP: {} database {} ({}, built {})", GeoDbRoleName(role), path,
                 slot.db->type(),
                 absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(static_cast<int64_t>(
                                                  slot.db->build_epoch())),
                                  absl::UTCTimeZone()));
  }
  absl::MutexLock lock(&mu_);
  first_check_done_ = true;
  return swapped;
}

void GeoIp::ClearCacheLocked() {
  ++generation_;
  lru_.clear();
  index_.clear();
  text_bytes_ = 0;
}

bool GeoIp::has_database() const {
  absl::MutexLock lock(&mu_);
  for (const Slot& s : slots_) {
    if (s.db) return true;
  }
  return false;
}

std::shared_ptr<const GeoLocation> GeoIp::Compute(const IpAddress& address) const {
  auto loc = std::make_shared<GeoLocation>();
  loc->special = SpecialRangeName(address);
  if (!loc->special.empty()) return loc;
  std::array<std::shared_ptr<const GeoIpDatabase>, kGeoDbRoles> dbs;
  {
    absl::MutexLock lock(&mu_);
    for (size_t r = 0; r < kGeoDbRoles; ++r) dbs[r] = slots_[r].db;
  }
  // Country first (the country database is the authority for it), then the
  // city database (country too when there is no country database), then ASN.
  for (const auto& db : dbs) {
    if (db) db->Lookup(address, loc.get());
  }
  return loc;
}

std::shared_ptr<const GeoLocation> GeoIp::Lookup(const IpAddress& address) {
  uint64_t generation;
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = index_.find(address);
    if (it != index_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    ++misses_;
    generation = generation_;
  }
  std::shared_ptr<const GeoLocation> loc = Compute(address);
  if (options_.cache_entries == 0) return loc;
  absl::MutexLock lock(&cache_mu_);
  // A database swapped in meanwhile: this answer is from the old one.
  if (generation != generation_ || index_.contains(address)) return loc;
  lru_.emplace_front(address, loc);
  index_.emplace(address, lru_.begin());
  text_bytes_ += TextBytes(*loc);
  while (lru_.size() > options_.cache_entries) {
    text_bytes_ -= TextBytes(*lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
    ++evicted_;
  }
  return loc;
}

GeoIp::Stats GeoIp::stats() const {
  Stats s;
  {
    absl::MutexLock lock(&cache_mu_);
    s.hits = hits_;
    s.misses = misses_;
    s.evicted = evicted_;
    s.entries = lru_.size();
    // A list node (two pointers and the pair), a hash slot per entry (at
    // the map's capacity), the shared GeoLocation and its control block.
    constexpr size_t kNode = 2 * sizeof(void*) + sizeof(CacheList::value_type);
    constexpr size_t kSlot = sizeof(std::pair<IpAddress, CacheList::iterator>) + 1;
    s.memory_bytes = lru_.size() * (kNode + sizeof(GeoLocation) + 2 * sizeof(void*) + 8) +
                     index_.capacity() * kSlot + text_bytes_;
  }
  s.capacity = options_.cache_entries;
  absl::MutexLock lock(&mu_);
  s.reloads = reloads_;
  s.load_errors = load_errors_;
  for (size_t r = 0; r < kGeoDbRoles; ++r) {
    const Slot& slot = slots_[r];
    if (!slot.db) continue;
    s.databases.push_back(DbInfo{static_cast<GeoDbRole>(r), slot.db->path(), slot.db->type(),
                                 slot.db->build_epoch()});
  }
  return s;
}

}  // namespace rustnet
