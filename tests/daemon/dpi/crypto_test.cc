#include "daemon/dpi/crypto.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace rustnet {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

template <size_t N>
Bytes Out(const uint8_t (&a)[N]) {
  return Bytes(a, a + N);
}

TEST_CASE("crypto: SHA-256 (FIPS 180-4 examples)", "[dpi][crypto]") {
  uint8_t d[32];
  REQUIRE(crypto::Sha256(Text("abc"), d));
  CHECK(Out(d) == Hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  REQUIRE(crypto::Sha256({}, d));
  CHECK(Out(d) == Hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST_CASE("crypto: HMAC-SHA256 (RFC 4231 test cases 1, 2 and 6)", "[dpi][crypto]") {
  uint8_t m[32];
  REQUIRE(crypto::HmacSha256(Bytes(20, 0x0b), Text("Hi There"), m));
  CHECK(Out(m) == Hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
  REQUIRE(crypto::HmacSha256(Text("Jefe"), Text("what do ya want for nothing?"), m));
  CHECK(Out(m) == Hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  // A key longer than the block is hashed first; the context is re-keyed
  // after the shorter keys above.
  REQUIRE(crypto::HmacSha256(Bytes(131, 0xaa),
                             Text("Test Using Larger Than Block-Size Key - Hash Key First"), m));
  CHECK(Out(m) == Hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

TEST_CASE("crypto: AES-128 block (FIPS 197 C.1)", "[dpi][crypto]") {
  const Bytes key = Hex("000102030405060708090a0b0c0d0e0f");
  const Bytes in = Hex("00112233445566778899aabbccddeeff");
  uint8_t out[16];
  REQUIRE(crypto::Aes128EncryptBlock(key.data(), in.data(), out));
  CHECK(Out(out) == Hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
}

TEST_CASE("crypto: AES-128-GCM decrypts and rejects a bad tag", "[dpi][crypto]") {
  // NIST GCM test vectors (gcmEncryptExtIV128), Count 0 of Keylen 128,
  // IVlen 96, PTlen 128, AADlen 128.
  const Bytes key = Hex("c939cc13397c1d37de6ae0e1cb7c423c");
  const Bytes iv = Hex("b3d8cc017cbb89b39e0f67e2");
  const Bytes pt = Hex("c3b3c41f113a31b73d9a5cd432103069");
  const Bytes aad = Hex("24825602bd12a984e0092d3e448eda5f");
  const Bytes ct = Hex("93fe7d9e9bfd10348a5606e5cafa7354");
  Bytes tag = Hex("0032a1dc85f1c9786925a2e71d8272dd");
  Bytes plain(ct.size());
  REQUIRE(crypto::Aes128GcmDecrypt(key.data(), iv.data(), aad, ct, tag.data(), plain.data()));
  CHECK(plain == pt);
  tag[0] ^= 1;
  CHECK_FALSE(crypto::Aes128GcmDecrypt(key.data(), iv.data(), aad, ct, tag.data(), plain.data()));
  tag[0] ^= 1;  // The context is usable again after a failure.
  REQUIRE(crypto::Aes128GcmDecrypt(key.data(), iv.data(), aad, ct, tag.data(), plain.data()));
  CHECK(plain == pt);
}

TEST_CASE("crypto: each thread has its own contexts", "[dpi][crypto]") {
  const Bytes want = Hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  std::vector<std::thread> threads;
  std::vector<int> good(4, 0);
  for (size_t t = 0; t < good.size(); ++t) {
    threads.emplace_back([&want, &good, t] {
      for (int i = 0; i < 2000; ++i) {
        uint8_t m[32];
        uint8_t d[32];
        if (crypto::HmacSha256(Bytes(20, 0x0b), Text("Hi There"), m) && Out(m) == want &&
            crypto::Sha256(Text("abc"), d)) {
          ++good[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int g : good) CHECK(g == 2000);
}

}  // namespace
}  // namespace rustnet
