#include "daemon/dpi/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace rustnet::crypto {
namespace {

// Fetched once from the default library context; null if unavailable.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return md;
}

EVP_MAC* HmacMac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
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
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// This thread's contexts, made on first use (null if OpenSSL failed).
EVP_MD_CTX* ThreadMdCtx() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// An HMAC context with its digest set once: EVP_MAC_init with only a key
// then re-keys it without another digest fetch.
EVP_MAC_CTX* ThreadHmacCtx() {
  thread_local const std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx([] {
    EVP_MAC* mac = HmacMac();
    EVP_MAC_CTX* c = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
    if (c == nullptr) return c;
    char digest[] = "SHA2-256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (EVP_MAC_CTX_set_params(c, params) != 1) {
      EVP_MAC_CTX_free(c);
      return static_cast<EVP_MAC_CTX*>(nullptr);
    }
    return c;
  }());
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
  EVP_MAC_CTX* ctx = ThreadHmacCtx();
  size_t len = 0;
  // HMAC keys may be empty (HKDF-Extract without salt); OpenSSL wants a
  // non-null pointer to mean "set this key".
  static constexpr uint8_t kNoKey = 0;
  const uint8_t* key_data = key.empty() ? &kNoKey : key.data();
  return ctx != nullptr && EVP_MAC_init(ctx, key_data, key.size(), nullptr) == 1 &&
         EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
         EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32;
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
