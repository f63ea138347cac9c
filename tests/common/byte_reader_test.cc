#include "common/byte_reader.h"

#include <catch2/catch.hpp>
#include <vector>

namespace rustnet {
namespace {

TEST_CASE("byte_reader reads big-endian integers and stops at the end") {
  const std::vector<uint8_t> data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  ByteReader r(data);
  CHECK(r.U8() == 0x01);
  CHECK(r.U16() == 0x0203);
  CHECK(r.U32() == 0x04050607u);
  CHECK(r.empty());
  CHECK_FALSE(r.U8().has_value());
}

TEST_CASE("byte_reader failed read does not move the cursor") {
  const std::vector<uint8_t> data = {0xaa, 0xbb, 0xcc};
  ByteReader r(data);
  CHECK_FALSE(r.U32().has_value());
  CHECK(r.position() == 0);
  CHECK(r.U24() == 0xaabbccu);
}

TEST_CASE("byte_reader sub reader is bounded by its length") {
  const std::vector<uint8_t> data = {3, 'a', 'b', 'c', 'd'};
  ByteReader r(data);
  auto len = r.U8();
  REQUIRE(len);
  auto sub = r.Sub(*len);
  REQUIRE(sub);
  CHECK(sub->remaining() == 3);
  CHECK_FALSE(sub->Bytes(4).has_value());
  CHECK(r.U8() == 'd');
}

TEST_CASE("byte_reader lying length prefix cannot reach past the parent") {
  const std::vector<uint8_t> data = {200, 'a', 'b'};
  ByteReader r(data);
  CHECK_FALSE(r.Sub(*r.U8()).has_value());
  CHECK(r.remaining() == 2);
}

TEST_CASE("byte_reader little-endian and peeks") {
  const std::vector<uint8_t> data = {0x02, 0x00, 0x00, 0x00};
  ByteReader r(data);
  CHECK(r.PeekU8() == 0x02);
  CHECK(r.PeekU16(2) == 0x0000);
  CHECK_FALSE(r.PeekU16(3).has_value());
  CHECK(r.U32Le() == 2u);
}

TEST_CASE("byte_reader length-prefixed children of 1, 2 and 3 bytes") {
  const std::vector<uint8_t> data = {2, 'a', 'b', 0, 1, 'c', 0, 0, 2, 'd', 'e', 9};
  ByteReader r(data);
  auto a = r.PrefixedU8();
  REQUIRE(a);
  CHECK(a->remaining() == 2);
  auto b = r.PrefixedU16();
  REQUIRE(b);
  CHECK(b->U8() == 'c');
  auto c = r.PrefixedU24();
  REQUIRE(c);
  CHECK(c->remaining() == 2);
  CHECK(r.U8() == 9);
  CHECK(r.empty());
}

TEST_CASE("byte_reader a prefix that lies leaves the cursor where it was") {
  const std::vector<uint8_t> data = {0, 5, 'a', 'b'};
  ByteReader r(data);
  CHECK_FALSE(r.PrefixedU16().has_value());
  CHECK(r.position() == 0);
  const std::vector<uint8_t> cut = {0, 0};  // Too short for a 3-byte prefix.
  ByteReader s(cut);
  CHECK_FALSE(s.PrefixedU24().has_value());
  CHECK(s.position() == 0);
  CHECK(s.PrefixedU16().has_value());  // An empty child is a child.
  CHECK(s.empty());
}

TEST_CASE("byte_reader BytesUntil, SkipPast and Seek") {
  const std::vector<uint8_t> data = {'a', 'b', '\n', 'c', 'X', 'Y', 'd'};
  ByteReader r(data);
  auto line = r.BytesUntil('\n');
  REQUIRE(line);
  CHECK(line->size() == 2);
  CHECK(r.position() == 3);
  CHECK_FALSE(r.BytesUntil('\n').has_value());
  CHECK(r.position() == 3);
  const std::vector<uint8_t> needle = {'X', 'Y'};
  CHECK(r.SkipPast(needle));
  CHECK(r.U8() == 'd');
  CHECK_FALSE(r.SkipPast(needle));
  CHECK(r.Seek(1));  // Backwards.
  CHECK(r.U8() == 'b');
  CHECK(r.Seek(data.size()));
  CHECK(r.empty());
  CHECK_FALSE(r.Seek(data.size() + 1));
  CHECK(r.position() == data.size());
}

TEST_CASE("byte_reader PeekSub, PeekU32 and U16Le do what they say") {
  const std::vector<uint8_t> data = {0x01, 0x02, 0x03, 0x04, 0x05};
  ByteReader r(data);
  auto peek = r.PeekSub(2);
  REQUIRE(peek);
  CHECK(peek->remaining() == 2);
  CHECK(r.position() == 0);
  CHECK_FALSE(r.PeekSub(6).has_value());
  CHECK(r.PeekU32(1) == 0x02030405u);
  CHECK_FALSE(r.PeekU32(2).has_value());
  CHECK(r.U16Le() == 0x0201);
}

TEST_CASE("byte_reader ForEachItem stops at a cut-off item and at one that reads nothing") {
  const std::vector<uint8_t> data = {1, 'a', 2, 'b', 'c', 5, 'd'};
  int items = 0;
  CHECK_FALSE(ForEachPrefixedU8(ByteReader(data), [&items](ByteReader) { ++items; }));
  CHECK(items == 2);
  const std::vector<uint8_t> whole = {1, 'a', 0};
  items = 0;
  CHECK(ForEachPrefixedU8(ByteReader(whole), [&items](ByteReader) { ++items; }));
  CHECK(items == 2);
  // A reader of items that claims success without reading cannot loop.
  CHECK_FALSE(ForEachItem(ByteReader(data), [](ByteReader&) { return true; }));
  CHECK(ForEachItem(ByteReader(), [](ByteReader&) { return false; }));
}

TEST_CASE("byte_reader ForEachU16 visits every value and refuses an odd byte") {
  const std::vector<uint8_t> data = {0x13, 0x01, 0x13, 0x02, 0xff};
  std::vector<uint16_t> seen;
  CHECK_FALSE(ForEachU16(ByteReader(data), [&seen](uint16_t v) { seen.push_back(v); }));
  CHECK(seen == std::vector<uint16_t>{0x1301, 0x1302});
  seen.clear();
  CHECK(ForEachU16(ByteReader(std::span<const uint8_t>(data).first(4)),
                   [&seen](uint16_t v) { seen.push_back(v); }));
  CHECK(seen.size() == 2);
}

}  // namespace
}  // namespace rustnet
