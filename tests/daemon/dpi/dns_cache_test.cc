#include "daemon/dpi/dns_cache.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rustnet {
namespace {

IpAddress V4(uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return IpAddress::FromV4(b);
}

IpAddress V6(uint32_t v) {
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
  for (int i = 0; i < 4; ++i) b[12 + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  return IpAddress::FromV6(b);
}

std::shared_ptr<const std::string> Name(uint32_t i) {
  return std::make_shared<const std::string>("host-" + std::to_string(i) + ".flood.example");
}

TEST_CASE("dns_cache: a million distinct names and addresses stay within the capacity",
          "[dns_cache]") {
  DnsCache cache(4096);
  REQUIRE(cache.capacity() >= 4096);
  REQUIRE(cache.capacity() <= 4096 + 16);
  constexpr uint32_t kInserts = 1'000'000;
  int64_t now = 1'000'000;
  size_t max_size = 0;
  for (uint32_t i = 0; i < kInserts; ++i) {
    // Half IPv4, half IPv6; every answer a different name.
    cache.Insert(i % 2 ? V6(i) : V4(i), Name(i), ++now);
    if (i % 4096 == 0) max_size = std::max(max_size, cache.size());
  }
  max_size = std::max(max_size, cache.size());
  CHECK(max_size <= cache.capacity());
  CHECK(cache.size() > cache.capacity() * 3 / 4);  // Evicting per shard, not emptying.
  CHECK(cache.evicted() == kInserts - cache.size());
  // The latest answer is known, the first long gone.
  const auto last = cache.Lookup(V6(kInserts - 1), now);
  REQUIRE(last != nullptr);
  CHECK(*last == "host-999999.flood.example");
  CHECK(cache.Lookup(V4(0), now) == nullptr);
  CHECK(cache.Lookup(V6(1), now) == nullptr);
}

TEST_CASE("dns_cache: the same addresses answered again and again do not grow it",
          "[dns_cache]") {
  DnsCache cache(1024);
  int64_t now = 1'000'000;
  // 512 addresses, each answered 2000 times with a new name.
  for (uint32_t round = 0; round < 2000; ++round) {
    for (uint32_t a = 0; a < 512; ++a) cache.Insert(V4(a), Name(round), ++now);
  }
  CHECK(cache.size() == 512);
  CHECK(cache.evicted() == 0);
  const auto name = cache.Lookup(V4(7), now);
  REQUIRE(name != nullptr);
  CHECK(*name == "host-1999.flood.example");
}

TEST_CASE("dns_cache: entries expire after the TTL of packet time", "[dns_cache]") {
  DnsCache cache(64);
  cache.Insert(V4(1), Name(1), 1'000'000);
  CHECK(cache.Lookup(V4(1), 1'000'000 + DnsCache::kTtlUs) != nullptr);
  CHECK(cache.Lookup(V4(1), 1'000'001 + DnsCache::kTtlUs) == nullptr);
  // A clock near the top of the range does not overflow.
  cache.Insert(V4(2), Name(2), INT64_MAX - 5);
  CHECK(cache.Lookup(V4(2), INT64_MAX) != nullptr);
}

TEST_CASE("dns_cache: inserts and lookups from several threads", "[dns_cache]") {
  // Workers insert while others look up, as the pipeline's workers do (run
  // under ThreadSanitizer by scripts/test.sh).
  DnsCache cache(2048);
  std::atomic<uint64_t> found{0};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, &found, t] {
      for (uint32_t i = 0; i < 20'000; ++i) {
        const uint32_t a = t * 1'000'000 + i;
        cache.Insert(V4(a), Name(a), 1'000'000 + i);
        if (cache.Lookup(V4(a), 1'000'000 + i) != nullptr) found.fetch_add(1);
        (void)cache.Lookup(V4((t + 1) % 4 * 1'000'000 + i), 1'000'000 + i);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(cache.size() <= cache.capacity());
  CHECK(cache.evicted() == 80'000 - cache.size());
  // A thread's own insert is usually found right after (others may have
  // pushed it out of its shard in between).
  CHECK(found.load() > 0);
}

TEST_CASE("dns_cache: Learn maps a DNS exchange's binary addresses to its query",
          "[dns_cache]") {
  DnsCache cache;
  DnsFacts dns;
  dns.query = "www.example.com";
  dns.addresses = {V4(0xc0000207), V6(7)};
  // The text is not read when the addresses are there.
  dns.answers = {"www.cdn.example", "198.51.100.1"};
  cache.Learn(dns, 1'000'000);
  CHECK(cache.size() == 2);
  const auto v4 = cache.Lookup(V4(0xc0000207), 1'000'001);
  const auto v6 = cache.Lookup(V6(7), 1'000'001);
  REQUIRE(v4 != nullptr);
  CHECK(*v4 == "www.example.com");
  CHECK(v4 == v6);  // One shared name for the exchange.
  CHECK(cache.Lookup(V4(0xc6336401), 1'000'001) == nullptr);
}

TEST_CASE("dns_cache: Learn does not parse text answers (only the binary addresses count)",
          "[dns_cache]") {
  DnsCache cache;
  DnsFacts dns;
  dns.query = "www.example.com";
  dns.answers = {"www.cdn.example", "192.0.2.7", "2001:db8::7"};
  cache.Learn(dns, 1'000'000);
  CHECK(cache.size() == 0);
}

TEST_CASE("dns_cache: Learn ignores exchanges without a query or without addresses",
          "[dns_cache]") {
  DnsCache cache;
  DnsFacts no_query;
  no_query.addresses = {V4(1)};
  cache.Learn(no_query, 1);
  DnsFacts cname_only;
  cname_only.query = "a.example";
  cname_only.answers = {"b.example"};
  cache.Learn(cname_only, 1);
  CHECK(cache.size() == 0);
}

}  // namespace
}  // namespace rustnet
