// Helpers for dissector tests: wire-byte builders and feeding a session
// whole, byte by byte, or at random split points (as Envoy's MultipleReads).
#ifndef RUSTNET_TESTS_DAEMON_DPI_DPI_TEST_UTIL_H_
#define RUSTNET_TESTS_DAEMON_DPI_DPI_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "daemon/dpi/dissector.h"
#include "tests/test_util.h"

namespace rustnet::testing {

// One direction's bytes.
struct Chunk {
  bool from_client;
  Bytes data;
};

enum class Split { kWhole, kByteByByte, kRandom };

// Feeds `chunks` to a fresh session of `d`, splitting each chunk as asked;
// returns the last state and fills *record.
inline ParseState FeedSession(const Dissector& d, const FlowInfo& flow,
                              const std::vector<Chunk>& chunks, Split split, AppRecord* record,
                              DpiAnomalies* anomalies, uint32_t seed = 1) {
  auto session = d.NewSession(flow);
  std::mt19937 rng(seed);
  ParseState state = ParseState::kNeedMore;
  for (const Chunk& c : chunks) {
    size_t pos = 0;
    while (pos < c.data.size()) {
      size_t n = c.data.size() - pos;
      if (split == Split::kByteByByte) n = 1;
      if (split == Split::kRandom) n = std::min<size_t>(n, 1 + rng() % 40);
      state = session->Feed(c.from_client,
                            std::span<const uint8_t>(c.data.data() + pos, n), record, anomalies);
      pos += n;
      if (state != ParseState::kNeedMore) return state;
    }
  }
  return state;
}

inline Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct HelloSpec {
  std::string sni = "example.com";
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::vector<uint16_t> versions = {0x0304, 0x0303};
  std::vector<uint16_t> ciphers = {0x1301, 0x1302, 0x1303, 0xc02f};
  bool ech = false;
  bool grease = true;
  size_t padding = 0;  // Bytes of a padding extension (21), to grow the hello.
};

// A ClientHello handshake message (type 1 + 3-byte length + body).
inline Bytes MakeClientHelloMessage(const HelloSpec& s) {
  Bytes body;
  Put16(body, 0x0303);
  body.insert(body.end(), 32, 0x11);  // random
  Put8(body, 32);
  body.insert(body.end(), 32, 0x22);  // session id
  Bytes suites;
  if (s.grease) Put16(suites, 0x0a0a);
  for (uint16_t c : s.ciphers) Put16(suites, c);
  Put16(body, static_cast<uint16_t>(suites.size()));
  PutBytes(body, suites);
  Put8(body, 1);
  Put8(body, 0);  // null compression
  Bytes ext;
  auto add = [&ext](uint16_t type, const Bytes& data) {
    Put16(ext, type);
    Put16(ext, static_cast<uint16_t>(data.size()));
    PutBytes(ext, data);
  };
  if (s.grease) add(0x1a1a, {});
  if (!s.sni.empty()) {
    Bytes sni;
    Put16(sni, static_cast<uint16_t>(s.sni.size() + 3));
    Put8(sni, 0);
    Put16(sni, static_cast<uint16_t>(s.sni.size()));
    PutBytes(sni, Text(s.sni));
    add(0x0000, sni);
  }
  if (!s.alpn.empty()) {
    Bytes list;
    for (const std::string& a : s.alpn) {
      Put8(list, static_cast<uint8_t>(a.size()));
      PutBytes(list, Text(a));
    }
    Bytes alpn;
    Put16(alpn, static_cast<uint16_t>(list.size()));
    PutBytes(alpn, list);
    add(0x0010, alpn);
  }
  Bytes sigalgs;
  Put16(sigalgs, 4);
  Put16(sigalgs, 0x0403);
  Put16(sigalgs, 0x0804);
  add(0x000d, sigalgs);
  if (!s.versions.empty()) {
    Bytes v;
    Put8(v, static_cast<uint8_t>(s.versions.size() * 2));
    for (uint16_t x : s.versions) Put16(v, x);
    add(0x002b, v);
  }
  if (s.ech) add(0xfe0d, Bytes(40, 0x33));
  if (s.padding > 0) add(0x0015, Bytes(s.padding, 0));
  Put16(body, static_cast<uint16_t>(ext.size()));
  PutBytes(body, ext);
  Bytes msg;
  Put8(msg, 1);
  Put8(msg, static_cast<uint8_t>(body.size() >> 16));
  Put16(msg, static_cast<uint16_t>(body.size()));
  PutBytes(msg, body);
  return msg;
}

// Wraps handshake bytes into TLS records of at most `record_size` bytes.
inline Bytes TlsRecords(const Bytes& handshake, size_t record_size = 16384, uint8_t type = 22) {
  Bytes out;
  for (size_t pos = 0; pos < handshake.size(); pos += record_size) {
    const size_t n = std::min(record_size, handshake.size() - pos);
    Put8(out, type);
    Put16(out, 0x0301);
    Put16(out, static_cast<uint16_t>(n));
    out.insert(out.end(), handshake.begin() + static_cast<ptrdiff_t>(pos),
               handshake.begin() + static_cast<ptrdiff_t>(pos + n));
  }
  return out;
}

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_DAEMON_DPI_DPI_TEST_UTIL_H_
