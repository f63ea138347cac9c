// The few OpenSSL (libcrypto 3) primitives DPI needs: SHA-256 for JA4,
// HMAC-SHA256 (HKDF, RFC 5869) and AES-128 ECB / GCM for QUIC Initial
// packets (RFC 9001 §5).
//
// OpenSSL 3 looks an algorithm up in its provider store every time a
// legacy handle (EVP_sha256(), EVP_aes_128_gcm()) is initialised, and the
// one-shot HMAC() fetches the MAC and the digest again on every call, then
// builds and frees a context. Here each algorithm is fetched once (a
// function-local static: thread-safe initialisation, never freed) and each
// thread keeps its own contexts, re-keyed per call. HMAC is RFC 2104 over
// that digest context: EVP_MAC's re-keying costs as much again.
//
// Thread-safety: any thread; the contexts are thread_local (one set per
// worker), the fetched algorithms immutable and shared.
#ifndef RUSTNET_DAEMON_DPI_CRYPTO_H_
#define RUSTNET_DAEMON_DPI_CRYPTO_H_

#include <cstdint>
#include <span>

namespace rustnet::crypto {

// Each returns false when OpenSSL fails (no default provider, say); the
// outputs are then unspecified.

bool Sha256(std::span<const uint8_t> data, uint8_t out[32]);

bool HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data, uint8_t out[32]);

// One AES-128 block, encrypted (ECB, no padding): QUIC's header protection
// mask (RFC 9001 §5.4.3).
bool Aes128EncryptBlock(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]);

// AEAD_AES_128_GCM (RFC 5116) with a 12-byte nonce and a 16-byte tag:
// decrypts `ciphertext` into `plain` (ciphertext.size() bytes) and checks
// the tag over `aad` and the ciphertext. False on a wrong tag too.
bool Aes128GcmDecrypt(const uint8_t key[16], const uint8_t nonce[12], std::span<const uint8_t> aad,
                      std::span<const uint8_t> ciphertext, const uint8_t tag[16], uint8_t* plain);

}  // namespace rustnet::crypto

#endif  // RUSTNET_DAEMON_DPI_CRYPTO_H_
