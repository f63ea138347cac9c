// Builds client Initial packets protected as RFC 9001 §5 says (RFC 9369
// for v2), for the QUIC unit tests and the QUIC fuzzer: the fuzzer seals
// its input so that it reaches the frame walker and the CRYPTO reassembly,
// which random bytes never would (they fail the AEAD tag).
//
// Encryption uses OpenSSL's EVP directly, not daemon/dpi/crypto.h (which
// only decrypts): the two sides do not share code beyond key derivation,
// itself checked against RFC 9001/9369 Appendix A.
#ifndef RUSTNET_TESTS_DAEMON_DPI_QUIC_SEAL_H_
#define RUSTNET_TESTS_DAEMON_DPI_QUIC_SEAL_H_

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

#include "daemon/dpi/quic.h"

namespace rustnet::testing {

using QuicBytes = std::vector<uint8_t>;

// RFC 9001 Appendix A's DCID.
inline QuicBytes RfcDcid() {
  static constexpr uint8_t kDcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  return QuicBytes(std::begin(kDcid), std::end(kDcid));
}

struct InitialSpec {
  uint32_t version = 1;
  QuicBytes dcid = RfcDcid();
  QuicBytes scid;
  QuicBytes token;           // Echoed after a Retry (RFC 9000 §17.2.5.3).
  uint64_t pn = 0;
  size_t pn_len = 4;         // 1-4 bytes on the wire.
  size_t pad_to = 1100;      // PADDING frames appended up to this many bytes of frames.
  size_t length_bytes = 2;   // The Length field's varint size: 2, 4 or 8.
};

inline void PutVarint(QuicBytes& b, uint64_t v, size_t bytes) {
  const uint8_t prefix = bytes == 1 ? 0x00 : bytes == 2 ? 0x40 : bytes == 4 ? 0x80 : 0xc0;
  for (size_t i = 0; i < bytes; ++i) {
    b.push_back(static_cast<uint8_t>(v >> (8 * (bytes - 1 - i))));
  }
  b[b.size() - bytes] |= prefix;
}

// The Initial, or empty if the version has no keys or OpenSSL fails.
inline QuicBytes SealInitial(const InitialSpec& spec, QuicBytes frames) {
  const auto keys = DeriveClientInitialKeys(spec.version, spec.dcid);
  if (!keys || spec.pn_len < 1 || spec.pn_len > 4 || spec.dcid.size() > 255 ||
      spec.scid.size() > 255) {
    return {};
  }
  if (frames.size() < spec.pad_to) frames.resize(spec.pad_to, 0);  // PADDING.
  // The header protection sample needs 4 + 16 bytes after the packet
  // number's start (RFC 9001 §5.4.2).
  if (spec.pn_len + frames.size() + 16 < 20) frames.resize(20 - 16 - spec.pn_len, 0);
  const bool v2 = spec.version == 0x6b3343cf || spec.version == 0x709a50c4;
  QuicBytes header;
  header.push_back(static_cast<uint8_t>(0xc0u | (v2 ? 0x10u : 0u) | (spec.pn_len - 1)));
  for (int i = 3; i >= 0; --i) header.push_back(static_cast<uint8_t>(spec.version >> (8 * i)));
  header.push_back(static_cast<uint8_t>(spec.dcid.size()));
  header.insert(header.end(), spec.dcid.begin(), spec.dcid.end());
  header.push_back(static_cast<uint8_t>(spec.scid.size()));
  header.insert(header.end(), spec.scid.begin(), spec.scid.end());
  PutVarint(header, spec.token.size(), spec.token.size() < 64 ? 1 : 2);
  header.insert(header.end(), spec.token.begin(), spec.token.end());
  PutVarint(header, spec.pn_len + frames.size() + 16, spec.length_bytes);
  const size_t pn_offset = header.size();
  for (size_t i = 0; i < spec.pn_len; ++i) {
    header.push_back(static_cast<uint8_t>(spec.pn >> (8 * (spec.pn_len - 1 - i))));
  }

  uint8_t nonce[12];
  std::memcpy(nonce, keys->iv.data(), 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(spec.pn >> (8 * i));
  QuicBytes packet = header;
  packet.resize(header.size() + frames.size() + 16);
  uint8_t* cipher = packet.data() + header.size();
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, keys->key.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, header.data(), static_cast<int>(header.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len, frames.data(), static_cast<int>(frames.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, cipher + frames.size()) != 1) {
    return {};
  }
  // Header protection: AES-ECB of the sample 4 bytes after the packet
  // number's start (RFC 9001 §5.4.1, §5.4.3).
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ecb(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  uint8_t mask[32];
  if (!ecb || EVP_EncryptInit_ex(ecb.get(), EVP_aes_128_ecb(), nullptr, keys->hp.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ecb.get(), 0) != 1 ||
      EVP_EncryptUpdate(ecb.get(), mask, &len, packet.data() + pn_offset + 4, 16) != 1) {
    return {};
  }
  packet[0] ^= mask[0] & 0x0f;
  for (size_t i = 0; i < spec.pn_len; ++i) packet[pn_offset + i] ^= mask[1 + i];
  return packet;
}

// A CRYPTO frame (RFC 9000 §19.6) with 2-byte varints (offset and length
// below 16384).
inline QuicBytes CryptoFrameAt(uint64_t offset, const QuicBytes& data) {
  QuicBytes f = {0x06};
  PutVarint(f, offset, 2);
  PutVarint(f, data.size(), 2);
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_DAEMON_DPI_QUIC_SEAL_H_
