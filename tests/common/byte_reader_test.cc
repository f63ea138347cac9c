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

}  // namespace
}  // namespace rustnet
