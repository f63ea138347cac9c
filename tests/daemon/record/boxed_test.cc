#include "daemon/record/boxed.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "daemon/record/app_record.h"

namespace rustnet {
namespace {

// Strings are assigned as std::string("...") here, not from the literal:
// GCC 12 at -O3 warns falsely (-Wrestrict, a 2^63-byte overlap) on
// assign(const char*) into a string it has just seen constructed empty.

struct Pair {
  std::string a;
  int b = 0;
  bool operator==(const Pair&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const Pair& p) {
    return H::combine(std::move(h), p.a, p.b);
  }
};

TEST_CASE("boxed_reads_empty_without_allocating", "[boxed]") {
  const Boxed<Pair> box;
  CHECK(box->a.empty());
  CHECK(box->b == 0);
  CHECK(box.BoxBytes() == 0);  // A const read allocated nothing.
  CHECK_FALSE(box.set());
}

TEST_CASE("boxed_write_allocates_and_copies_deep", "[boxed]") {
  Boxed<Pair> box;
  box->a = std::string("x");
  box->b = 7;
  CHECK(box.set());
  CHECK(box.BoxBytes() == sizeof(Pair));
  Boxed<Pair> copy = box;
  copy->a = std::string("y");
  CHECK(box->a == "x");  // The copy has its own value.
  CHECK(copy->a == "y");
  copy = box;
  CHECK(copy->a == "x");
  Boxed<Pair> moved = std::move(copy);
  CHECK(moved->b == 7);
}

TEST_CASE("boxed_unset_equals_empty_and_hashes_alike", "[boxed]") {
  Boxed<Pair> unset;
  Boxed<Pair> empty;
  empty.mut();  // Allocated, but holds an empty Pair.
  CHECK(empty.BoxBytes() == sizeof(Pair));
  CHECK(unset == empty);
  CHECK(absl::Hash<Boxed<Pair>>{}(unset) == absl::Hash<Boxed<Pair>>{}(empty));
  // A copy keeps only what is set: the empty allocation is dropped.
  const Boxed<Pair> copy = empty;
  CHECK(copy.BoxBytes() == 0);
  Boxed<Pair> assigned;
  assigned->a = std::string("z");
  assigned = empty;
  CHECK(assigned.BoxBytes() == 0);
  CHECK(assigned == unset);
  Boxed<Pair> set;
  set->b = 1;
  CHECK_FALSE(set == unset);
}

TEST_CASE("boxed_passes_as_reference_and_assigns_from_value", "[boxed]") {
  Boxed<Pair> box;
  auto fill = [](Pair* p) { p->a = std::string("filled"); };
  fill(&box.mut());
  const Pair& read = box;
  CHECK(read.a == "filled");
  box = Pair{"assigned", 3};
  CHECK(box->a == "assigned");
  CHECK(box->b == 3);
}

TEST_CASE("app_record_pays_only_for_its_protocol", "[boxed]") {
  // Every published record is kept per distinct content (DpiEngine shares
  // equal ones): the facts of other protocols must cost a pointer each.
  STATIC_REQUIRE(sizeof(AppRecord) <= 192);
  AppRecord dns;
  dns.protocol = AppProtocol::kDns;
  dns.dns->query = std::string("example.org");
  dns.dns->query_type = std::string("A");
  const AppRecord copy = dns;
  CHECK(copy.dns.BoxBytes() == sizeof(DnsFacts));
  CHECK(copy.tls.BoxBytes() == 0);
  CHECK(copy.http.BoxBytes() == 0);
  CHECK(copy.tls->sni.empty());  // Unset reads as empty.
  CHECK(copy.Hostname() == "example.org");
  // A record whose other facts were touched but left empty is the same
  // record: equal, same hash, and its copy drops the empty boxes.
  AppRecord touched = dns;
  touched.tls.mut();
  touched.http.mut();
  CHECK(touched == dns);
  CHECK(absl::Hash<AppRecord>{}(touched) == absl::Hash<AppRecord>{}(dns));
  const AppRecord compact = touched;
  CHECK(compact.tls.BoxBytes() == 0);
  CHECK(compact.http.BoxBytes() == 0);
  CHECK(compact == dns);
}

}  // namespace
}  // namespace rustnet
