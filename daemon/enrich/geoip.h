// GeoIP and ASN: where a remote address is (country, city) and which
// network holds it (AS number and organisation), from MaxMind-format
// databases (GeoLite2/GeoIP2 Country, City and ASN as geoipupdate writes
// them, or the openly licensed ip-location-db ones) read with Debian's
// libmaxminddb.
//
// Where lookups run: not on the packet path. The API converts rows of a
// snapshot to rustnet.v1 messages (daemon/rpc/query.cc) and asks here for
// each row's addresses; a lookup is a memory-mapped tree walk (about a
// microsecond) behind a bounded LRU cache per address, so a page of rows
// costs a few cache hits and a full-table filter on `country:` a hash
// probe per row. Doing it in the workers instead would put libmaxminddb,
// a reload lock and a cache on every new flow of the capture path for rows
// nobody may ever look at.
//
// Databases are replaced without a restart: a background thread checks
// each file's inode, size and mtime every check_interval (geoipupdate
// renames a new file into place) and Reload() (SIGHUP) re-opens them all.
// A new database is opened beside the old one and swapped in as a
// shared_ptr, so lookups in flight finish on the old mapping; the cache is
// emptied at the swap. A file that is missing or not a MaxMind database
// gives one log line (once per version of the file) and the rest runs
// without it (the previous version stays in use when there was one).
// libmaxminddb maps the file: a file truncated in place (not replaced by a
// rename, as geoipupdate and the tests do) is undefined.
//
// Addresses in special ranges (private, loopback, CGNAT...; see
// special_ranges.h) are named without a lookup.
//
// Thread-safety: Lookup, Reload, CheckForChanges and stats from any thread;
// the watcher thread is the object's own (joined by the destructor).
#ifndef RUSTNET_DAEMON_ENRICH_GEOIP_H_
#define RUSTNET_DAEMON_ENRICH_GEOIP_H_

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/flow_key.h"

namespace rustnet {

// Longest text kept from a database field (names are short; a hostile
// file's are cut), control characters dropped.
inline constexpr size_t kMaxGeoText = 128;

struct GeoLocation {
  std::string country_code;  // ISO 3166-1 alpha-2 ("DE"); empty when unknown.
  std::string country_name;  // English name ("Germany").
  std::string city;          // English name; City databases only.
  uint32_t asn = 0;          // 0 when unknown.
  std::string as_org;        // "Deutsche Telekom AG".
  // The special range the address is in ("private", "loopback", "CGNAT");
  // then nothing else is set. Empty for a public address.
  std::string_view special;

  bool empty() const {
    return country_code.empty() && country_name.empty() && city.empty() && asn == 0 &&
           as_org.empty() && special.empty();
  }
};

// The kinds of database, by what they are used for.
enum class GeoDbRole : uint8_t { kCountry = 0, kCity = 1, kAsn = 2 };
inline constexpr size_t kGeoDbRoles = 3;
std::string_view GeoDbRoleName(GeoDbRole role);  // "country", "city", "asn"

// One open database file (immutable once open).
class GeoIpDatabase {
 public:
  // InvalidArgument / NotFound with one sentence naming the file.
  static absl::StatusOr<std::shared_ptr<const GeoIpDatabase>> Open(const std::string& path);
  ~GeoIpDatabase();
  GeoIpDatabase(const GeoIpDatabase&) = delete;
  GeoIpDatabase& operator=(const GeoIpDatabase&) = delete;

  // Fills the fields this database has for `address` (country, city, ASN:
  // MaxMind's keys and ip-location-db's); leaves the others alone.
  void Lookup(const IpAddress& address, GeoLocation* out) const;

  const std::string& path() const { return path_; }
  const std::string& type() const { return type_; }  // "GeoLite2-Country"
  uint64_t build_epoch() const { return build_epoch_; }

 private:
  GeoIpDatabase() = default;
  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::string path_;
  std::string type_;
  uint64_t build_epoch_ = 0;
};

struct GeoIpOptions {
  // Files given by the user (--geoip-country/--geoip-city/--geoip-asn),
  // indexed by GeoDbRole; an empty one is searched for in search_dirs.
  std::array<std::string, kGeoDbRoles> files;
  std::vector<std::string> search_dirs = {"/usr/share/GeoIP", "/var/lib/GeoIP",
                                          "/var/lib/rustnet/geoip"};
  size_t cache_entries = 65'536;
  // How often the watcher checks the files; zero: no watcher thread (tests
  // call CheckForChanges).
  absl::Duration check_interval = absl::Seconds(5);
};

// The names searched for per role, first found wins (MaxMind's, then
// ip-location-db's as scripts/setup.sh fetches them).
const std::vector<std::string>& GeoDbFileNames(GeoDbRole role);

class GeoIp {
 public:
  struct DbInfo {
    GeoDbRole role;
    std::string path;
    std::string type;
    uint64_t build_epoch = 0;
  };
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evicted = 0;
    uint64_t reloads = 0;       // Databases (re)opened after the first load.
    uint64_t load_errors = 0;   // Files that could not be opened.
    size_t entries = 0;
    size_t capacity = 0;
    size_t memory_bytes = 0;    // The cache's estimate: entries and their text.
    std::vector<DbInfo> databases;  // Loaded now.
  };

  // Loads what it finds (logging one line per database, and one when there
  // is none) and starts the watcher. Never fails: without databases,
  // lookups name special ranges only.
  static std::unique_ptr<GeoIp> Start(GeoIpOptions options);
  ~GeoIp();
  GeoIp(const GeoIp&) = delete;
  GeoIp& operator=(const GeoIp&) = delete;

  // The location of `address`, from the cache or the databases; never null.
  std::shared_ptr<const GeoLocation> Lookup(const IpAddress& address);

  // Re-resolves and re-opens every database (SIGHUP).
  void Reload() { Check(/*force=*/true); }
  // Re-opens the databases whose file changed (the watcher's pass); true
  // if one was swapped.
  bool CheckForChanges() { return Check(/*force=*/false); }

  Stats stats() const;
  bool has_database() const;

 private:
  explicit GeoIp(GeoIpOptions options);
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t size = -1;
    int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
  };
  struct Slot {
    std::string path;       // Resolved; empty when none found.
    FileId id;              // Of the file when it was opened (or failed).
    bool failed = false;    // The file at `id` could not be opened (logged).
    std::shared_ptr<const GeoIpDatabase> db;
  };
  using CacheList = std::list<std::pair<IpAddress, std::shared_ptr<const GeoLocation>>>;

  bool Check(bool force);
  std::string Resolve(GeoDbRole role) const;
  void Watch();
  void ClearCacheLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cache_mu_);
  std::shared_ptr<const GeoLocation> Compute(const IpAddress& address) const;

  const GeoIpOptions options_;
  absl::Mutex check_mu_;  // One Check at a time (watcher and SIGHUP).
  // Lock order: mu_, then cache_mu_ (a swap empties the cache under both).
  mutable absl::Mutex mu_;
  std::array<Slot, kGeoDbRoles> slots_ ABSL_GUARDED_BY(mu_);
  uint64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t load_errors_ ABSL_GUARDED_BY(mu_) = 0;
  bool first_check_done_ ABSL_GUARDED_BY(mu_) = false;

  mutable absl::Mutex cache_mu_;
  CacheList lru_ ABSL_GUARDED_BY(cache_mu_);  // Most recent first.
  absl::flat_hash_map<IpAddress, CacheList::iterator> index_ ABSL_GUARDED_BY(cache_mu_);
  uint64_t generation_ ABSL_GUARDED_BY(cache_mu_) = 0;  // Bumped at each swap.
  uint64_t hits_ ABSL_GUARDED_BY(cache_mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(cache_mu_) = 0;
  uint64_t evicted_ ABSL_GUARDED_BY(cache_mu_) = 0;
  size_t text_bytes_ ABSL_GUARDED_BY(cache_mu_) = 0;

  absl::Notification stop_;
  std::thread watcher_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_ENRICH_GEOIP_H_
