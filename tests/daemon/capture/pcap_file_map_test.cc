// PcapFileMap, the in-place reader of classic pcap files: what it maps and
// what it leaves to libpcap, both byte orders and nanosecond files, and,
// for files cut at every byte, the same records and the same error as
// libpcap's own reader of the same file; lengths that lie; and PcapSource
// reading a mapped file to its damage.
#include "daemon/capture/pcap_file_map.h"

#include <pcap/pcap.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "daemon/capture/pcap_source.h"

namespace rustnet {
namespace {

using Bytes = std::vector<uint8_t>;

void Put32(Bytes& b, uint32_t v, bool big) {
  for (int i = 0; i < 4; ++i) {
    const int shift = big ? 24 - 8 * i : 8 * i;
    b.push_back(static_cast<uint8_t>(v >> shift));
  }
}
void Put16(Bytes& b, uint16_t v, bool big) {
  b.push_back(static_cast<uint8_t>(big ? v >> 8 : v));
  b.push_back(static_cast<uint8_t>(big ? v : v >> 8));
}

struct Rec {
  uint32_t sec, frac, caplen, len;
  uint8_t fill;
};

Bytes PcapFile(const std::vector<Rec>& recs, bool big, bool nanos, uint32_t snaplen = 65535,
               uint32_t magic = 0) {
  Bytes b;
  Put32(b, magic != 0 ? magic : nanos ? 0xa1b23c4d : 0xa1b2c3d4, big);
  Put16(b, 2, big);
  Put16(b, 4, big);
  Put32(b, 0, big);
  Put32(b, 0, big);
  Put32(b, snaplen, big);
  Put32(b, 1, big);  // Ethernet.
  for (const Rec& r : recs) {
    Put32(b, r.sec, big);
    Put32(b, r.frac, big);
    Put32(b, r.caplen, big);
    Put32(b, r.len, big);
    for (uint32_t i = 0; i < r.caplen; ++i) b.push_back(static_cast<uint8_t>(r.fill + i));
  }
  return b;
}

class TempFile {
 public:
  explicit TempFile(const Bytes& data) {
    char name[] = "/tmp/rn-pcap-map-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    path_ = name;
    REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Read {
  std::vector<PcapFileMap::Record> records;
  std::vector<Bytes> data;
  bool error = false;
  std::string message;
};

Read ReadMapped(const std::string& path, uint32_t snaplen = PcapFileMap::kMaxCaplen) {
  Read out;
  auto map = PcapFileMap::Open(path);
  REQUIRE(map != nullptr);
  map->SetLimits(snaplen, PcapFileMap::kMaxCaplen);
  PcapFileMap::Record r;
  for (;;) {
    const auto res = map->Next(&r);
    if (res == PcapFileMap::Result::kEnd) break;
    if (res == PcapFileMap::Result::kError) {
      out.error = true;
      out.message = map->error();
      CHECK(map->Next(&r) == PcapFileMap::Result::kError);  // It stays there.
      break;
    }
    out.records.push_back(r);
    out.data.emplace_back(r.data, r.data + r.caplen);
  }
  return out;
}

// libpcap's reading of the same file (header accepted: returns false if not).
bool ReadLibpcap(const std::string& path, Read* out) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO,
                                                      err);
  if (p == nullptr) return false;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    PcapFileMap::Record r;
    r.ts_sec = h->ts.tv_sec;
    r.ts_usec = h->ts.tv_usec;
    r.caplen = h->caplen;
    r.len = h->len;
    out->records.push_back(r);
    out->data.emplace_back(d, d + h->caplen);
  }
  if (rc == PCAP_ERROR) {
    out->error = true;
    out->message = pcap_geterr(p);
  }
  pcap_close(p);
  return true;
}

void RequireSame(const Read& a, const Read& b) {
  REQUIRE(a.records.size() == b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    CHECK(a.records[i].ts_sec == b.records[i].ts_sec);
    CHECK(a.records[i].ts_usec == b.records[i].ts_usec);
    CHECK(a.records[i].caplen == b.records[i].caplen);
    CHECK(a.records[i].len == b.records[i].len);
    CHECK(a.data[i] == b.data[i]);
  }
  CHECK(a.error == b.error);
  CHECK(a.message == b.message);
}

const std::vector<Rec> kRecs = {
    {1'700'000'000, 5, 60, 60, 1},
    {1'700'000'001, 999'999, 0, 0, 0},  // An empty record.
    {1'700'000'002, 123'456, 100, 1514, 7},
    {1'700'000'003, 42, 3, 3, 9},
};

TEST_CASE("pcap map: classic files in both byte orders read as libpcap reads them",
          "[pcap_map]") {
  for (const bool big : {false, true}) {
    TempFile f(PcapFile(kRecs, big, false));
    const Read mapped = ReadMapped(f.path());
    Read lib;
    REQUIRE(ReadLibpcap(f.path(), &lib));
    REQUIRE(mapped.records.size() == kRecs.size());
    CHECK_FALSE(mapped.error);
    CHECK(mapped.records[2].len == 1514);
    CHECK(mapped.data[2][0] == 7);
    RequireSame(mapped, lib);
  }
}

TEST_CASE("pcap map: nanosecond files give microseconds", "[pcap_map]") {
  for (const bool big : {false, true}) {
    TempFile f(PcapFile({{10, 999'999'999, 4, 4, 0}, {11, 1'500, 4, 4, 0}}, big, true));
    const Read mapped = ReadMapped(f.path());
    REQUIRE(mapped.records.size() == 2);
    CHECK(mapped.records[0].ts_usec == 999'999);
    CHECK(mapped.records[1].ts_usec == 1);
    Read lib;
    REQUIRE(ReadLibpcap(f.path(), &lib));
    RequireSame(mapped, lib);
  }
}

TEST_CASE("pcap map: a file cut at any byte reads as libpcap reads it", "[pcap_map]") {
  for (const bool big : {false, true}) {
    const Bytes whole = PcapFile(kRecs, big, false);
    for (size_t cut = PcapFileMap::kFileHeaderBytes; cut <= whole.size(); ++cut) {
      CAPTURE(big, cut);
      TempFile f(Bytes(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(cut)));
      const Read mapped = ReadMapped(f.path());
      Read lib;
      REQUIRE(ReadLibpcap(f.path(), &lib));
      RequireSame(mapped, lib);
      if (cut < whole.size()) {
        // Cut on a record's boundary: a clean end; inside one: an error.
        size_t boundary = PcapFileMap::kFileHeaderBytes;
        bool on_boundary = cut == boundary;
        for (const Rec& r : kRecs) {
          boundary += PcapFileMap::kRecordHeaderBytes + r.caplen;
          on_boundary = on_boundary || cut == boundary;
        }
        CHECK(mapped.error == !on_boundary);
        if (mapped.error) CHECK(mapped.message.find("truncated dump file") == 0);
      }
    }
  }
}

TEST_CASE("pcap map: captured lengths beyond the maximum or the snapshot", "[pcap_map]") {
  SECTION("beyond the link type's maximum: an error, as libpcap") {
    Bytes b = PcapFile({{1, 0, 8, 8, 0}}, false, false);
    // A second record whose captured length lies, with nothing after it.
    Put32(b, 2, false);
    Put32(b, 0, false);
    Put32(b, 0x7fffffff, false);
    Put32(b, 60, false);
    TempFile f(b);
    const Read mapped = ReadMapped(f.path(), 65535);
    CHECK(mapped.records.size() == 1);
    CHECK(mapped.error);
    CHECK(mapped.message ==
          "invalid packet capture length 2147483647, bigger than snaplen of 65535");
    Read lib;
    REQUIRE(ReadLibpcap(f.path(), &lib));
    RequireSame(mapped, lib);
  }
  SECTION("beyond the file's snapshot length: cut to it, the rest skipped") {
    TempFile f(PcapFile({{1, 0, 100, 100, 0}, {2, 0, 10, 10, 50}}, false, false, 64));
    const Read mapped = ReadMapped(f.path(), 64);
    REQUIRE(mapped.records.size() == 2);
    CHECK(mapped.records[0].caplen == 64);
    CHECK(mapped.records[0].len == 100);
    CHECK(mapped.data[1][0] == 50);  // The next record is where it lies.
    CHECK_FALSE(mapped.error);
    Read lib;
    REQUIRE(ReadLibpcap(f.path(), &lib));
    RequireSame(mapped, lib);
  }
}

TEST_CASE("pcap map: what it leaves to libpcap", "[pcap_map]") {
  CHECK(PcapFileMap::Open("/nonexistent/rn-no-such.pcap") == nullptr);
  {
    TempFile empty(Bytes{});
    CHECK(PcapFileMap::Open(empty.path()) == nullptr);
  }
  {
    const Bytes header = PcapFile({}, false, false);
    TempFile short_header(Bytes(header.begin(), header.begin() + 20));
    CHECK(PcapFileMap::Open(short_header.path()) == nullptr);
  }
  {
    // pcapng's section header block type.
    TempFile ng(PcapFile(kRecs, false, false, 65535, 0x0a0d0d0a));
    CHECK(PcapFileMap::Open(ng.path()) == nullptr);
  }
  {
    // Kuznetsov's modified pcap (longer record headers).
    TempFile modified(PcapFile(kRecs, false, false, 65535, 0xa1b2cd34));
    CHECK(PcapFileMap::Open(modified.path()) == nullptr);
  }
  {
    // Only a header: mapped, and at its end at once.
    TempFile header_only(PcapFile({}, true, false));
    const Read r = ReadMapped(header_only.path());
    CHECK(r.records.empty());
    CHECK_FALSE(r.error);
  }
}

// Pages given back are only this process's copy: the records still read
// the same (re-read from the file), before and after the release point.
TEST_CASE("pcap map: released pages read the same", "[pcap_map]") {
  std::vector<Rec> recs;
  for (uint32_t i = 0; i < 20000; ++i) recs.push_back({i, i, 1000, 1000, static_cast<uint8_t>(i)});
  TempFile f(PcapFile(recs, false, false));  // ~20 MB: past the release step.
  const Read whole = ReadMapped(f.path());
  REQUIRE(whole.records.size() == recs.size());
  auto map = PcapFileMap::Open(f.path());
  REQUIRE(map != nullptr);
  PcapFileMap::Record r;
  std::vector<const uint8_t*> seen;
  for (size_t i = 0; i < recs.size(); ++i) {
    REQUIRE(map->Next(&r) == PcapFileMap::Result::kRecord);
    seen.push_back(r.data);
    CHECK(Bytes(r.data, r.data + r.caplen) == whole.data[i]);
    if (i % 1000 == 999) map->Release(r.data);
  }
  CHECK(map->Next(&r) == PcapFileMap::Result::kEnd);
  map->Release(nullptr);  // Outside the map: ignored.
  // A released record, read again.
  CHECK(Bytes(seen[5], seen[5] + 1000) == whole.data[5]);
}

TEST_CASE("pcap map: PcapSource reads a mapped file up to its damage", "[pcap_map]") {
  const Bytes whole = PcapFile(kRecs, false, false);
  // Cut inside the third record's bytes.
  const size_t cut = PcapFileMap::kFileHeaderBytes + 2 * PcapFileMap::kRecordHeaderBytes + 60 +
                     PcapFileMap::kRecordHeaderBytes + 10;
  TempFile f(Bytes(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(cut)));
  auto source = PcapSource::OpenFile(f.path(), "");
  REQUIRE(source.ok());
  RawPacket raw;
  REQUIRE((*source)->Next(&raw) == NextResult::kPacket);
  CHECK(raw.timestamp_us == 1'700'000'000'000'005);
  CHECK(raw.data.size() == 60);
  CHECK(raw.data[0] == 1);
  REQUIRE((*source)->Next(&raw) == NextResult::kPacket);
  CHECK(raw.data.empty());
  CHECK((*source)->Next(&raw) == NextResult::kError);
}

TEST_CASE("pcap map: a file truncated while mapped reads as zeros and ends with an error",
          "[pcap_map]") {
  // 200 records of 1,500 bytes (~300 KB, many pages), cut to one page
  // after the first record was read: without the SIGBUS guard the next
  // read past the new end kills the process.
  std::vector<Rec> recs;
  for (uint32_t i = 0; i < 200; ++i) recs.push_back({i, 0, 1500, 1500, static_cast<uint8_t>(i)});
  TempFile f(PcapFile(recs, false, false));
  auto map = PcapFileMap::Open(f.path());
  REQUIRE(map != nullptr);
  PcapFileMap::Record first;
  REQUIRE(map->Next(&first) == PcapFileMap::Result::kRecord);
  CHECK_FALSE(map->faulted());
  REQUIRE(truncate(f.path().c_str(), 4096) == 0);
  PcapFileMap::Record r;
  size_t records = 1;
  PcapFileMap::Result res;
  while ((res = map->Next(&r)) == PcapFileMap::Result::kRecord) {
    // (A record read wholly before the page past the end was touched.)
    REQUIRE(++records <= 200);
  }
  CHECK(res == PcapFileMap::Result::kError);
  CHECK(map->faulted());
  CHECK(map->error().find("truncated or rewritten while being read") != std::string::npos);
  CHECK(records < 200);
  // A worker still holding a pointer past the end reads zeros, not a fault.
  const uint8_t* late = first.data + 100 * 1516;
  CHECK(late[0] == 0);
  CHECK(map->Next(&r) == PcapFileMap::Result::kError);

  // A second map of another file is guarded on its own: not faulted.
  TempFile g(PcapFile(recs, false, false));
  auto other = PcapFileMap::Open(g.path());
  REQUIRE(other != nullptr);
  CHECK_FALSE(other->faulted());
  size_t n = 0;
  while (other->Next(&r) == PcapFileMap::Result::kRecord) ++n;
  CHECK(n == 200);
  CHECK(other->error().empty());
}

}  // namespace
}  // namespace rustnet
