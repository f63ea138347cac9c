#include "daemon/dpi/crypto.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace rustnet::crypto {
namespace {

// Fetched once from the default library context; null if unavailable.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return md;
}

const EVP_CIPHER* Aes128Ecb() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  return cipher;
}

const EVP_CIPHER* Aes128Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return cipher;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// This thread's contexts, made on first use (null if OpenSSL failed).
EVP_MD_CTX* ThreadMdCtx() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

EVP_CIPHER_CTX* ThreadEcbCtx() {
  thread_local const std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

EVP_CIPHER_CTX* ThreadGcmCtx() {
  thread_local const std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

}  // namespace

bool Sha256(std::span<const uint8_t> data, uint8_t out[32]) {
  EVP_MD_CTX* ctx = ThreadMdCtx();
  const EVP_MD* md = Sha256Md();
  unsigned int len = 0;
  return ctx != nullptr && md != nullptr && EVP_DigestInit_ex2(ctx, md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
}

bool HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data, uint8_t out[32]) {
  // RFC 2104 over two plain digests: H((K ^ opad) || H((K ^ ipad) || data)).
  // EVP_MAC_init re-keys through three digest contexts and a parameter
  // parse each time, twice the work for the short inputs HKDF feeds it.
  constexpr size_t kBlock = 64;
  uint8_t k0[kBlock] = {};
  if (key.size() > kBlock) {
    if (!Sha256(key, k0)) return false;
  } else if (!key.empty()) {
    std::memcpy(k0, key.data(), key.size());
  }
  uint8_t pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k0[i] ^ 0x36;
  EVP_MD_CTX* ctx = ThreadMdCtx();
  const EVP_MD* md = Sha256Md();
  uint8_t inner[32];
  unsigned int len = 0;
  if (ctx == nullptr || md == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, pad, kBlock) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, inner, &len) != 1 || len != 32) {
    return false;
  }
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k0[i] ^ 0x5c;
  return EVP_DigestInit_ex2(ctx, md, nullptr) == 1 && EVP_DigestUpdate(ctx, pad, kBlock) == 1 &&
         EVP_DigestUpdate(ctx, inner, sizeof(inner)) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
}

bool Aes128EncryptBlock(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]) {
  EVP_CIPHER_CTX* ctx = ThreadEcbCtx();
  const EVP_CIPHER* cipher = Aes128Ecb();
  int len = 0;
  return ctx != nullptr && cipher != nullptr &&
         EVP_EncryptInit_ex2(ctx, cipher, key, nullptr, nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
         EVP_EncryptUpdate(ctx, out, &len, in, 16) == 1 && len == 16;
}

bool Aes128GcmDecrypt(const uint8_t key[16], const uint8_t nonce[12], std::span<const uint8_t> aad,
                      std::span<const uint8_t> ciphertext, const uint8_t tag[16], uint8_t* plain) {
  EVP_CIPHER_CTX* ctx = ThreadGcmCtx();
  const EVP_CIPHER* cipher = Aes128Gcm();
  int len = 0;
  int final_len = 0;
  // 12 bytes is GCM's default IV length, so key and nonce go in one call.
  return ctx != nullptr && cipher != nullptr &&
         EVP_DecryptInit_ex2(ctx, cipher, key, nonce, nullptr) == 1 &&
         EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx, plain, &len, ciphertext.data(),
                           static_cast<int>(ciphertext.size())) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<uint8_t*>(tag)) == 1 &&
         EVP_DecryptFinal_ex(ctx, plain + len, &final_len) == 1;
}

}  // namespace rustnet::crypto
