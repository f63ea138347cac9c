// bench_make_capture: writes a deterministic Ethernet pcap for the benchmarks.
//
// Usage:
//   bench_make_capture [--packets N] [--flows N] [--duration SEC] [--seed N]
//                      [--snaplen N] OUTPUT.pcap
//   bench_make_capture --distinct-flows N [--duration SEC] [--seed N] OUTPUT.pcap
//
// Mixed mode (the default) writes exactly --packets packets (default
// 1,000,000) in exactly --flows conversations (default 60,000), each with
// its own client endpoint, so every flow is one connection for the tracker:
//   * HTTP/1.1 over TCP (80, some 8080): handshake, 1-3 keep-alive requests
//     with Host and User-Agent, responses with Content-Length, FIN close;
//   * TLS over TCP (443, some 8443): ClientHello with SNI, ALPN,
//     supported_versions and key_share (TLS 1.3, some 1.2-only clients),
//     ServerHello (+ ChangeCipherSpec and encrypted records, or Certificate
//     for 1.2), application data records both ways, FIN close;
//   * SSH (22, some 2222): identification strings, cleartext KEXINIT both
//     ways, key exchange, then encrypted-looking packets;
//   * 15% of TLS and 40% of SSH connections are still open at the end;
//   * DNS over UDP: A or AAAA (some both on one socket) with answers (some
//     behind a CNAME, some NXDOMAIN); the answers are the addresses the
//     other flows then connect to, as a real host's lookups are;
//   * QUIC v1 on UDP/443: the client's Initial is really encrypted (RFC 9001
//     §5: Initial keys from the DCID, AES-128-GCM, header protection) and
//     carries a ClientHello with SNI; server Initial/Handshake and
//     short-header packets are random bytes behind valid headers;
//   * ICMP / ICMPv6 echo (3-5 pings a second apart) and NTP;
//   * about a fifth of every kind over IPv6.
// Packet counts are planned before anything is written: every flow has its
// protocol's fixed packets, and the rest of the budget is spread over the
// TCP and QUIC flows as bulk data (heavy-tailed, as real traffic: a few
// large downloads, many small exchanges), server to client mostly, with
// delayed ACKs and ~1% retransmissions. Flows start uniformly over
// --duration seconds (default 60), so closed TCP connections (10 s in
// TIME_WAIT) and ICMP leave the tracker's table during the file while
// established ones and UDP stay.
//
// Distinct mode (--distinct-flows N) writes N distinct flows of one or two
// packets each (TCP SYN, or SYN + SYN-ACK; DNS query, or query + response;
// a UDP datagram to a high port), 10% over IPv6, over --duration seconds
// (default 10: shorter than every timeout, so none expire before the end).
//
// Everything comes from --seed (default 1) through a counter-based
// generator of our own (std:: distributions differ between libraries), so
// a seed gives the same bytes on every machine (with the same libm: round-trip
// times are log-uniform through std::pow). Timestamps start at
// 2024-01-01 00:00:00 UTC. IPv4, TCP, UDP and ICMP checksums are valid.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int64_t kEpochSeconds = 1704067200;  // 2024-01-01T00:00:00Z
constexpr uint32_t kMssV4 = 1448;              // 1500 - 20 - 20 - 12 (timestamps)
constexpr uint32_t kMssV6 = 1428;              // 1500 - 40 - 20 - 12
constexpr size_t kPoolSize = 1 << 20;          // Random and text payload pools.

// ---------------------------------------------------------------------------
// Deterministic randomness: SplitMix64 (Steele, Lea, Flood 2014).

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. Modulo bias is irrelevant at these sizes.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  uint32_t Range32(uint32_t lo, uint32_t hi) {
    return lo + static_cast<uint32_t>(Below(uint64_t{hi} - lo + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Log-uniform in [lo, hi]: round-trip times, think times.
  int64_t LogUniform(int64_t lo, int64_t hi) {
    const double l = static_cast<double>(lo);
    const double h = static_cast<double>(hi);
    return static_cast<int64_t>(l * std::pow(h / l, Unit()));
  }
  void Fill(uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(Next() >> 56);
  }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------
// Big-endian writer with length-prefixed blocks (TLS, SSH and DNS are built
// with it).

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}
  void U8(uint32_t v) { out_->push_back(static_cast<uint8_t>(v)); }
  void U16(uint32_t v) {
    U8(v >> 8);
    U8(v);
  }
  void U24(uint32_t v) {
    U8(v >> 16);
    U16(v);
  }
  void U32(uint32_t v) {
    U16(v >> 16);
    U16(v);
  }
  void Bytes(std::span<const uint8_t> b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Str(std::string_view s) { out_->insert(out_->end(), s.begin(), s.end()); }
  void Zeros(size_t n) { out_->insert(out_->end(), n, 0); }
  void Random(Rng& rng, size_t n) {
    const size_t at = out_->size();
    out_->resize(at + n);
    rng.Fill(out_->data() + at, n);
  }
  size_t size() const { return out_->size(); }
  // A length field of `bytes` bytes, patched by End().
  size_t Begin(int bytes) {
    const size_t at = out_->size();
    out_->insert(out_->end(), static_cast<size_t>(bytes), 0);
    return at;
  }
  void End(size_t at, int bytes) {
    const size_t len = out_->size() - at - static_cast<size_t>(bytes);
    for (int i = 0; i < bytes; ++i) {
      (*out_)[at + static_cast<size_t>(i)] =
          static_cast<uint8_t>(len >> (8 * (bytes - 1 - i)));
    }
  }

 private:
  std::vector<uint8_t>* out_;
};

// ---------------------------------------------------------------------------
// Hosts: clients on a LAN, servers with names and addresses on the internet.

struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> b{};  // IPv4 in the first 4 bytes.
};

Address V4(uint32_t a) {
  Address r;
  for (int i = 0; i < 4; ++i) r.b[static_cast<size_t>(i)] = static_cast<uint8_t>(a >> (24 - 8 * i));
  return r;
}

Address V6(uint64_t hi, uint64_t lo) {
  Address r;
  r.v6 = true;
  for (int i = 0; i < 8; ++i) {
    r.b[static_cast<size_t>(i)] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    r.b[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return r;
}

// Client i: 10.1.0.0/16 and fd00:0:0:1::/64.
Address ClientAddress(uint32_t i, bool v6) {
  if (v6) return V6(0xfd00000000000001ULL, Mix(i) | 1);
  return V4(0x0a010000u + 1 + i % 65534);
}

std::array<uint8_t, 6> ClientMac(uint32_t i) {
  return {0x02, 0x00, 0x5e, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
          static_cast<uint8_t>(i)};
}
constexpr std::array<uint8_t, 6> kGatewayMac = {0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};

// Server i's addresses, in a few well-populated prefixes.
Address ServerAddress(uint32_t i, bool v6) {
  const uint64_t h = Mix(0x5e4e + uint64_t{i});
  if (v6) {
    static constexpr uint64_t kPrefixes[] = {0x2606470000000000ULL, 0x2a00145040000000ULL,
                                             0x2620001ec0000000ULL, 0x2a04004e42000000ULL};
    return V6(kPrefixes[i % 4] | (h >> 40), Mix(h) | 1);
  }
  static constexpr uint32_t kPrefixes[] = {0x5db80000u, 0x97650000u, 0x68100000u,
                                           0x8efa0000u, 0x34000000u, 0xb9c70000u};
  static constexpr uint32_t kMasks[] = {0xffffu, 0xffffu, 0xfffffu, 0x1ffffu, 0x3fffffu, 0xffffu};
  const size_t k = i % 6;
  uint32_t host = static_cast<uint32_t>(h) & kMasks[k];
  if ((host & 0xff) == 0 || (host & 0xff) == 0xff) host ^= 0x11;
  return V4(kPrefixes[k] | host);
}

std::string ServerName(uint32_t i) {
  static constexpr std::string_view kSub[] = {"www", "api", "cdn", "static", "img",
                                              "login", "app", "media", "edge", "assets"};
  static constexpr std::string_view kSyl[] = {"ka", "lo", "mi", "ne", "ro", "ta", "vu", "zen",
                                              "bar", "co", "dex", "fi", "gra", "hub", "io",
                                              "lux", "mar", "nova", "pix", "qua", "sol", "tri"};
  static constexpr std::string_view kTld[] = {".com", ".net", ".org", ".io", ".de", ".co.uk"};
  uint64_t h = Mix(0xd0 + uint64_t{i});
  std::string name(kSub[h % 10]);
  name += '.';
  h /= 10;
  const int syllables = 2 + static_cast<int>(h % 2);
  h /= 2;
  for (int s = 0; s < syllables; ++s) {
    name += kSyl[h % 22];
    h /= 22;
  }
  name += std::to_string(i % 1000);
  name += kTld[h % 6];
  return name;
}

// Resolvers: the LAN's (10.0.0.53) and two public ones.
Address Resolver(uint32_t i, bool v6) {
  if (v6) {
    return i % 2 == 0 ? V6(0x2606470047000000ULL, 0x1111) : V6(0x2001486048600000ULL, 0x8888);
  }
  static constexpr uint32_t kResolvers[] = {0x0a000035u, 0x01010101u, 0x08080808u};
  return V4(kResolvers[i % 3]);
}

// ---------------------------------------------------------------------------
// Flow plans.

enum class Kind : uint8_t {
  kHttp,
  kTls,
  kSsh,
  kDns,
  kQuic,
  kIcmp,
  kNtp,
  // Distinct mode.
  kSyn,        // variant 0: SYN only; 1: SYN + SYN-ACK.
  kDnsSingle,  // variant 0: query only; 1: query + response.
  kUdpProbe,   // One datagram to a high port.
  kCount,
};
constexpr const char* kKindNames[] = {"http", "tls", "ssh", "dns", "quic", "icmp", "ntp",
                                      "tcp-syn", "dns", "udp"};

struct FlowSpec {
  int64_t start_us = 0;
  uint32_t extra = 0;   // Bulk packets (TCP, QUIC).
  uint32_t client = 0;
  uint32_t server = 0;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  Kind kind = Kind::kDns;
  uint8_t variant = 0;  // Kind-specific: requests, flight segments, queries, pings.
  bool v6 = false;
  bool upload = false;  // Bulk goes client -> server.
  bool tls12 = false;
  bool keep_open = false;  // TCP: still established at the end (no close).
};

// Packets a flow has besides its bulk.
uint32_t BasePackets(const FlowSpec& f) {
  const uint32_t close = f.keep_open ? 0 : 4;
  switch (f.kind) {
    case Kind::kHttp: return 3 + 3u * f.variant + close;  // handshake, requests, close
    case Kind::kTls: return 8u + f.variant + close;
    case Kind::kSsh: return 11 + close;
    case Kind::kDns: return 2u * f.variant;
    case Kind::kQuic: return 4;
    case Kind::kIcmp: return 2u * f.variant;
    case Kind::kNtp: return 2;
    case Kind::kSyn:
    case Kind::kDnsSingle: return 1u + f.variant;
    case Kind::kUdpProbe: return 1;
    case Kind::kCount: break;
  }
  return 0;
}

bool Adjustable(Kind k) {
  return k == Kind::kHttp || k == Kind::kTls || k == Kind::kSsh || k == Kind::kQuic;
}

// Hands out client ports so that no two flows share a client endpoint:
// client c's k-th port is a fixed permutation of 32768..60999.
class PortAllocator {
 public:
  explicit PortAllocator(size_t clients) : next_(clients, 0) {}
  // Returns 0 when client c has used every port.
  uint16_t Next(uint32_t c) {
    constexpr uint32_t kRange = 28232;  // 32768..60999
    const uint32_t k = next_[c]++;
    if (k >= kRange) return 0;
    const uint32_t offset = static_cast<uint32_t>(Mix(c) % kRange);
    return static_cast<uint16_t>(32768 + (uint64_t{k} * 2731 + offset) % kRange);
  }

 private:
  std::vector<uint32_t> next_;
};

// ---------------------------------------------------------------------------
// Scripts: the packets of one flow, made when it starts.

enum class Content : uint8_t {
  kNone,
  kBlob,        // Bytes made with the script (handshakes, requests, headers).
  kText,        // HTTP body text.
  kRandom,      // Encrypted-looking bytes.
  kTlsRecord,   // An application_data record header, then random bytes.
  kSshPacket,   // A 4-byte length, then random bytes.
  kQuicShort,   // Short header with the peer's connection id, then random.
  kRetransmit,  // Same sequence number and length as the direction's last data.
};

struct Step {
  int64_t ts = 0;
  uint32_t len = 0;     // Payload length.
  int32_t blob = -1;    // Index into Script::blobs for kBlob.
  uint8_t dir = 0;      // 0: client -> server, 1: server -> client.
  uint8_t flags = 0;    // TCP flags.
  Content content = Content::kNone;
};

struct Script {
  std::vector<Step> steps;
  std::vector<std::vector<uint8_t>> blobs;
};

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

class ScriptBuilder {
 public:
  ScriptBuilder(Script* s, int64_t start) : s_(s), t_(start) {}
  int64_t now() const { return t_; }
  void Wait(int64_t us) { t_ += std::max<int64_t>(us, 1); }
  void Add(uint8_t dir, uint8_t flags, Content content = Content::kNone, uint32_t len = 0) {
    Step st;
    st.ts = t_;
    st.dir = dir;
    st.flags = flags;
    st.content = content;
    st.len = len;
    s_->steps.push_back(st);
  }
  void AddBlob(uint8_t dir, uint8_t flags, std::vector<uint8_t> bytes) {
    Step st;
    st.ts = t_;
    st.dir = dir;
    st.flags = flags;
    st.content = Content::kBlob;
    st.len = static_cast<uint32_t>(bytes.size());
    st.blob = static_cast<int32_t>(s_->blobs.size());
    s_->blobs.push_back(std::move(bytes));
    s_->steps.push_back(st);
  }
  // Cuts `bytes` into segments of at most `mss`, `gap` apart.
  void AddSegments(uint8_t dir, const std::vector<uint8_t>& bytes, uint32_t mss, int64_t gap) {
    for (size_t at = 0; at < bytes.size(); at += mss) {
      const size_t n = std::min<size_t>(mss, bytes.size() - at);
      const auto first = bytes.begin() + static_cast<ptrdiff_t>(at);
      AddBlob(dir, kAck | kPsh, std::vector<uint8_t>(first, first + static_cast<ptrdiff_t>(n)));
      if (at + n < bytes.size()) Wait(gap);
    }
  }

 private:
  Script* s_;
  int64_t t_;
};

// ---------------------------------------------------------------------------
// Application payloads.

constexpr std::string_view kUserAgents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "curl/7.88.1",
    "Wget/1.21.3",
    "python-requests/2.28.1",
    "Debian APT-HTTP/1.3 (2.6.1)",
};

constexpr std::string_view kPaths[] = {"/", "/index.html", "/api/v1/items?page=2",
                                       "/static/app.js", "/images/logo.png",
                                       "/debian/dists/bookworm/InRelease", "/favicon.ico",
                                       "/assets/css/main.css", "/v2/search?q=network+monitor"};

std::vector<uint8_t> HttpRequest(Rng& rng, const std::string& host, uint16_t port) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w.Str("GET ");
  w.Str(kPaths[rng.Below(std::size(kPaths))]);
  w.Str(" HTTP/1.1\r\nHost: ");
  w.Str(host);
  if (port != 80) {
    w.Str(":");
    w.Str(std::to_string(port));
  }
  w.Str("\r\nUser-Agent: ");
  w.Str(kUserAgents[rng.Below(std::size(kUserAgents))]);
  w.Str("\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n");
  return out;
}

std::string HttpResponseHead(Rng& rng, uint64_t content_length) {
  // Text types only: the body is text.
  static constexpr std::string_view kTypes[] = {"text/html; charset=utf-8", "text/plain",
                                                "application/javascript", "text/css"};
  static constexpr std::string_view kServers[] = {"nginx/1.24.0", "Apache/2.4.57 (Debian)",
                                                  "cloudflare", "envoy"};
  std::string h = "HTTP/1.1 200 OK\r\nServer: ";
  h += kServers[rng.Below(std::size(kServers))];
  h += "\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: ";
  h += kTypes[rng.Below(std::size(kTypes))];
  h += "\r\nContent-Length: " + std::to_string(content_length);
  h += "\r\nCache-Control: max-age=3600\r\nConnection: keep-alive\r\n\r\n";
  return h;
}

// TLS ClientHello handshake message (RFC 8446 §4.1.2), without the record
// header; `quic_scid` non-empty adds QUIC transport parameters (RFC 9001
// §8.2) and offers only TLS 1.3 suites and h3.
std::vector<uint8_t> ClientHello(Rng& rng, const std::string& sni, bool tls12_only,
                                 std::span<const uint8_t> quic_scid) {
  const bool quic = !quic_scid.empty();
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U8(1);  // client_hello
  const size_t hs = w.Begin(3);
  w.U16(0x0303);
  w.Random(rng, 32);
  if (quic) {
    w.U8(0);
  } else {
    w.U8(32);
    w.Random(rng, 32);
  }
  static constexpr uint16_t kTls13Suites[] = {0x1301, 0x1302, 0x1303};
  static constexpr uint16_t kTls12Suites[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                              0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
                                              0x002f, 0x0035};
  size_t at = w.Begin(2);
  if (!tls12_only) {
    for (uint16_t s : kTls13Suites) w.U16(s);
  }
  if (!quic) {
    for (uint16_t s : kTls12Suites) w.U16(s);
  }
  w.End(at, 2);
  w.U8(1);  // compression methods: null
  w.U8(0);
  const size_t exts = w.Begin(2);
  // server_name (RFC 6066 §3).
  w.U16(0x0000);
  at = w.Begin(2);
  const size_t list = w.Begin(2);
  w.U8(0);
  w.U16(static_cast<uint32_t>(sni.size()));
  w.Str(sni);
  w.End(list, 2);
  w.End(at, 2);
  if (!quic) {
    w.U16(0x0017);  // extended_master_secret
    w.U16(0);
    w.U16(0xff01);  // renegotiation_info
    w.U16(1);
    w.U8(0);
  }
  w.U16(0x000a);  // supported_groups
  w.U16(8);
  w.U16(6);
  w.U16(0x001d);
  w.U16(0x0017);
  w.U16(0x0018);
  if (!quic) {
    w.U16(0x000b);  // ec_point_formats
    w.U16(2);
    w.U8(1);
    w.U8(0);
    w.U16(0x0023);  // session_ticket
    w.U16(0);
  }
  w.U16(0x0010);  // ALPN
  at = w.Begin(2);
  const size_t protos = w.Begin(2);
  if (quic) {
    w.U8(2);
    w.Str("h3");
  } else {
    w.U8(2);
    w.Str("h2");
    w.U8(8);
    w.Str("http/1.1");
  }
  w.End(protos, 2);
  w.End(at, 2);
  if (!quic) {
    w.U16(0x0005);  // status_request
    w.U16(5);
    w.U8(1);
    w.U16(0);
    w.U16(0);
  }
  w.U16(0x000d);  // signature_algorithms
  static constexpr uint16_t kSigAlgs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                          0x0805, 0x0501, 0x0806, 0x0601};
  w.U16(2 + 2 * std::size(kSigAlgs));
  w.U16(2 * std::size(kSigAlgs));
  for (uint16_t s : kSigAlgs) w.U16(s);
  if (!tls12_only) {
    w.U16(0x0033);  // key_share: x25519
    w.U16(38);
    w.U16(36);
    w.U16(0x001d);
    w.U16(32);
    w.Random(rng, 32);
    w.U16(0x002d);  // psk_key_exchange_modes: psk_dhe_ke
    w.U16(2);
    w.U8(1);
    w.U8(1);
    w.U16(0x002b);  // supported_versions
    if (quic) {
      w.U16(3);
      w.U8(2);
      w.U16(0x0304);
    } else {
      w.U16(5);
      w.U8(4);
      w.U16(0x0304);
      w.U16(0x0303);
    }
  }
  if (quic) {
    w.U16(0x0039);  // quic_transport_parameters
    at = w.Begin(2);
    w.U8(0x01);  // max_idle_timeout = 30000 ms
    w.U8(4);
    w.U32(0x80007530);
    w.U8(0x04);  // initial_max_data
    w.U8(4);
    w.U32(0x80f00000);
    w.U8(0x0f);  // initial_source_connection_id
    w.U8(static_cast<uint32_t>(quic_scid.size()));
    w.Bytes(quic_scid);
    w.End(at, 2);
  }
  w.End(exts, 2);
  w.End(hs, 3);
  return out;
}

// A TLS record around `body`.
void Record(Writer& w, uint8_t type, std::span<const uint8_t> body, uint16_t version = 0x0303) {
  w.U8(type);
  w.U16(version);
  w.U16(static_cast<uint32_t>(body.size()));
  w.Bytes(body);
}

// DER (X.690) for a plausible X.509 certificate (RFC 5280 §4.1): ECDSA
// P-256, the host in subjectAltName, and a private extension of `pad`
// random bytes that sets its size.
std::vector<uint8_t> Der(uint8_t tag, std::span<const uint8_t> content) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U8(tag);
  const size_t n = content.size();
  if (n < 0x80) {
    w.U8(static_cast<uint32_t>(n));
  } else if (n < 0x100) {
    w.U8(0x81);
    w.U8(static_cast<uint32_t>(n));
  } else if (n < 0x10000) {
    w.U8(0x82);
    w.U16(static_cast<uint32_t>(n));
  } else {
    w.U8(0x83);
    w.U24(static_cast<uint32_t>(n));
  }
  w.Bytes(content);
  return out;
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<uint8_t> DerBytes(std::initializer_list<uint8_t> b) { return std::vector<uint8_t>(b); }

std::vector<uint8_t> DerString(uint8_t tag, std::string_view s) {
  return Der(tag, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

std::vector<uint8_t> DerPositive(Rng& rng, size_t n) {
  std::vector<uint8_t> v(n);
  rng.Fill(v.data(), n);
  v[0] = static_cast<uint8_t>((v[0] & 0x7f) | 0x01);
  return Der(0x02, v);
}

std::vector<uint8_t> DerName(std::string_view cn, std::string_view org) {
  const auto cn_oid = DerBytes({0x06, 0x03, 0x55, 0x04, 0x03});
  const auto o_oid = DerBytes({0x06, 0x03, 0x55, 0x04, 0x0a});
  std::vector<uint8_t> rdns;
  if (!org.empty()) {
    const auto o = Der(0x31, Der(0x30, Cat({o_oid, DerString(0x0c, org)})));
    rdns.insert(rdns.end(), o.begin(), o.end());
  }
  const auto c = Der(0x31, Der(0x30, Cat({cn_oid, DerString(0x0c, cn)})));
  rdns.insert(rdns.end(), c.begin(), c.end());
  return Der(0x30, rdns);
}

std::vector<uint8_t> Certificate(Rng& rng, std::string_view host, size_t pad) {
  const auto ecdsa_sha256 = Der(0x30, DerBytes({0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
                                                0x03, 0x02}));
  std::vector<uint8_t> point(66);
  rng.Fill(point.data(), point.size());
  point[0] = 0;  // BIT STRING: no unused bits
  point[1] = 4;  // uncompressed point
  const auto spki = Der(
      0x30, Cat({Der(0x30, DerBytes({0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                                     0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})),
                 Der(0x03, point)}));
  const auto validity =
      Der(0x30, Cat({DerString(0x17, "231201000000Z"), DerString(0x17, "240301000000Z")}));
  const auto san = Der(0x30, Cat({DerBytes({0x06, 0x03, 0x55, 0x1d, 0x11}),
                                  Der(0x04, Der(0x30, DerString(0x82, host)))}));
  // The filler is a UTF8String of letters (dissectors BER-decode unknown
  // extensions' values).
  std::string noise(pad, 'a');
  for (char& c : noise) c = static_cast<char>('a' + rng.Below(26));
  const auto filler = Der(0x30, Cat({DerBytes({0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x86,
                                               0x8d, 0x1f, 0x01}),
                                     Der(0x04, DerString(0x0c, noise))}));
  const auto extensions = Der(0xa3, Der(0x30, Cat({san, filler})));
  const auto tbs = Der(
      0x30, Cat({DerBytes({0xa0, 0x03, 0x02, 0x01, 0x02}), DerPositive(rng, 16), ecdsa_sha256,
                 DerName("Example Issuing CA E1", "Example Trust"), validity, DerName(host, ""),
                 spki, extensions}));
  std::vector<uint8_t> sig = {0};
  const auto rs = Der(0x30, Cat({DerPositive(rng, 32), DerPositive(rng, 32)}));
  sig.insert(sig.end(), rs.begin(), rs.end());
  return Der(0x30, Cat({tbs, ecdsa_sha256, Der(0x03, sig)}));
}

// The server's first flight, about `target` bytes long (TLS 1.3: exactly;
// TLS 1.2: within a few bytes under): ServerHello, then for TLS 1.3
// ChangeCipherSpec and one encrypted record; for TLS 1.2 a Certificate,
// ServerKeyExchange (ECDHE x25519) and ServerHelloDone.
std::vector<uint8_t> ServerFlight(Rng& rng, bool tls12, std::string_view host, size_t target) {
  std::vector<uint8_t> hello;
  Writer h(&hello);
  h.U8(2);  // server_hello
  const size_t hs = h.Begin(3);
  h.U16(0x0303);
  h.Random(rng, 32);
  h.U8(32);
  h.Random(rng, 32);
  h.U16(tls12 ? 0xc02f : 0x1301);
  h.U8(0);
  const size_t exts = h.Begin(2);
  if (tls12) {
    h.U16(0xff01);
    h.U16(1);
    h.U8(0);
    h.U16(0x000b);
    h.U16(2);
    h.U8(1);
    h.U8(0);
    h.U16(0x0010);  // ALPN: h2
    h.U16(5);
    h.U16(3);
    h.U8(2);
    h.Str("h2");
  } else {
    h.U16(0x002b);
    h.U16(2);
    h.U16(0x0304);
    h.U16(0x0033);
    h.U16(36);
    h.U16(0x001d);
    h.U16(32);
    h.Random(rng, 32);
  }
  h.End(exts, 2);
  h.End(hs, 3);

  std::vector<uint8_t> out;
  Writer w(&out);
  if (tls12) {
    // One handshake record: ServerHello, Certificate, ServerKeyExchange,
    // ServerHelloDone; the certificate's filler extension takes up the slack.
    constexpr size_t kSke = 4 + 1 + 2 + 1 + 32 + 2 + 2 + 256;
    constexpr size_t kDone = 4;
    const size_t fixed = 5 + hello.size() + 4 + 3 + 3 + kSke + kDone;
    const size_t want = target > fixed + 400 ? target - fixed : 400;
    std::vector<uint8_t> cert = Certificate(rng, host, 0);
    if (want > cert.size()) {
      // DER lengths grow with the content: aim a few bytes low.
      const size_t pad = want - cert.size() - std::min<size_t>(want - cert.size(), 16);
      cert = Certificate(rng, host, pad);
    }
    std::vector<uint8_t> body = hello;
    Writer b(&body);
    b.U8(11);  // certificate
    b.U24(static_cast<uint32_t>(cert.size() + 3 + 3));
    b.U24(static_cast<uint32_t>(cert.size() + 3));
    b.U24(static_cast<uint32_t>(cert.size()));
    b.Bytes(cert);
    b.U8(12);  // server_key_exchange
    b.U24(static_cast<uint32_t>(kSke - 4));
    b.U8(3);  // named_curve
    b.U16(0x001d);
    b.U8(32);
    b.Random(rng, 32);
    b.U16(0x0804);  // rsa_pss_rsae_sha256
    b.U16(256);
    b.Random(rng, 256);
    b.U8(14);  // server_hello_done
    b.U24(0);
    Record(w, 22, body);
  } else {
    Record(w, 22, hello);
    static constexpr uint8_t kCcs[] = {1};
    Record(w, 20, kCcs);
    const size_t used = w.size() + 5;
    std::vector<uint8_t> enc(target > used + 64 ? target - used : 64);
    rng.Fill(enc.data(), enc.size());
    Record(w, 23, enc);
  }
  return out;
}

// SSH (RFC 4253 §4.2, §7.1).
constexpr std::string_view kSshClients[] = {
    "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "SSH-2.0-OpenSSH_9.6", "SSH-2.0-PuTTY_Release_0.80",
    "SSH-2.0-libssh2_1.10.0", "SSH-2.0-paramiko_3.4.0", "SSH-2.0-Go"};
constexpr std::string_view kSshServers[] = {
    "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
    "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3", "SSH-2.0-dropbear_2022.83"};

std::vector<uint8_t> SshBanner(std::string_view id) {
  std::vector<uint8_t> out(id.begin(), id.end());
  out.push_back('\r');
  out.push_back('\n');
  return out;
}

// A binary packet: length, padding length, payload, padding (cleartext).
std::vector<uint8_t> SshPacket(Rng& rng, const std::vector<uint8_t>& payload) {
  size_t padding = 8 - (payload.size() + 5) % 8;
  if (padding < 4) padding += 8;
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U32(static_cast<uint32_t>(1 + payload.size() + padding));
  w.U8(static_cast<uint32_t>(padding));
  w.Bytes(payload);
  w.Random(rng, padding);
  return out;
}

std::vector<uint8_t> SshKexInit(Rng& rng, bool server) {
  std::vector<uint8_t> p;
  Writer w(&p);
  w.U8(20);  // SSH_MSG_KEXINIT
  w.Random(rng, 16);
  const std::string_view lists[] = {
      server ? "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
               "diffie-hellman-group16-sha512"
             : "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
               "ecdh-sha2-nistp256,ecdh-sha2-nistp384,diffie-hellman-group-exchange-sha256,"
               "ext-info-c,kex-strict-c-v00@openssh.com",
      "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
      "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
      "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
      "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
      "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
      "none,zlib@openssh.com",
      "none,zlib@openssh.com",
      "",
      ""};
  for (std::string_view l : lists) {
    w.U32(static_cast<uint32_t>(l.size()));
    w.Str(l);
  }
  w.U8(0);   // first_kex_packet_follows
  w.U32(0);  // reserved
  return SshPacket(rng, p);
}

void SshString(Writer& w, std::string_view s) {
  w.U32(static_cast<uint32_t>(s.size()));
  w.Str(s);
}

// SSH_MSG_KEX_ECDH_INIT (RFC 5656 §4): the client's x25519 key.
std::vector<uint8_t> SshEcdhInit(Rng& rng) {
  std::vector<uint8_t> p;
  Writer w(&p);
  w.U8(30);
  w.U32(32);
  w.Random(rng, 32);
  return SshPacket(rng, p);
}

// SSH_MSG_KEX_ECDH_REPLY (ed25519 host key, x25519), then SSH_MSG_NEWKEYS.
std::vector<uint8_t> SshEcdhReply(Rng& rng) {
  std::vector<uint8_t> p;
  Writer w(&p);
  w.U8(31);
  w.U32(4 + 11 + 4 + 32);
  SshString(w, "ssh-ed25519");
  w.U32(32);
  w.Random(rng, 32);
  w.U32(32);
  w.Random(rng, 32);
  w.U32(4 + 11 + 4 + 64);
  SshString(w, "ssh-ed25519");
  w.U32(64);
  w.Random(rng, 64);
  std::vector<uint8_t> out = SshPacket(rng, p);
  const auto newkeys = SshPacket(rng, {21});
  out.insert(out.end(), newkeys.begin(), newkeys.end());
  return out;
}

// SSH_MSG_NEWKEYS (client) and/or `encrypted` bytes of the first
// encrypted packets.
std::vector<uint8_t> SshNewKeys(Rng& rng, bool newkeys, size_t encrypted) {
  std::vector<uint8_t> out;
  if (newkeys) out = SshPacket(rng, {21});
  Writer w(&out);
  w.Random(rng, encrypted);
  return out;
}

// DNS (RFC 1035 §4.1).
void DnsName(Writer& w, std::string_view name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    w.U8(static_cast<uint32_t>(dot - start));
    w.Str(name.substr(start, dot - start));
    start = dot + 1;
  }
  w.U8(0);
}

void DnsOpt(Writer& w) {
  w.U8(0);         // root
  w.U16(41);       // OPT
  w.U16(1232);     // UDP payload size
  w.U32(0);        // extended rcode, version, flags
  w.U16(0);
}

std::vector<uint8_t> DnsQuery(uint16_t id, std::string_view name, uint16_t qtype) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U16(id);
  w.U16(0x0100);  // RD
  w.U16(1);
  w.U16(0);
  w.U16(0);
  w.U16(1);
  DnsName(w, name);
  w.U16(qtype);
  w.U16(1);
  DnsOpt(w);
  return out;
}

// `addresses`: 4 or 16 bytes each, of the query's type. `cname` non-empty
// puts a CNAME first and the addresses behind it. No addresses: NXDOMAIN.
std::vector<uint8_t> DnsResponse(Rng& rng, uint16_t id, std::string_view name, uint16_t qtype,
                                 const std::vector<Address>& addresses, std::string_view cname) {
  std::vector<uint8_t> out;
  Writer w(&out);
  const bool nx = addresses.empty();
  w.U16(id);
  w.U16(nx ? 0x8183 : 0x8180);
  w.U16(1);
  w.U16(static_cast<uint32_t>(nx ? 0 : addresses.size() + (cname.empty() ? 0 : 1)));
  w.U16(0);
  w.U16(1);
  DnsName(w, name);
  w.U16(qtype);
  w.U16(1);
  uint32_t owner = 0xc00c;  // Pointer to the question's name.
  const uint32_t ttl = rng.Range32(30, 3600);
  if (!nx && !cname.empty()) {
    w.U16(0xc00c);
    w.U16(5);
    w.U16(1);
    w.U32(ttl);
    const size_t at = w.Begin(2);
    owner = 0xc000 | static_cast<uint32_t>(w.size());
    DnsName(w, cname);
    w.End(at, 2);
  }
  if (!nx) {
    for (const Address& a : addresses) {
      w.U16(owner);
      w.U16(qtype);
      w.U16(1);
      w.U32(ttl);
      const size_t n = a.v6 ? 16 : 4;
      w.U16(static_cast<uint32_t>(n));
      w.Bytes(std::span<const uint8_t>(a.b.data(), n));
    }
  }
  DnsOpt(w);
  return out;
}

std::vector<uint8_t> NtpPacket(Rng& rng, bool server) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U8(server ? 0x24 : 0x23);  // LI 0, version 4, mode 4 / 3
  w.U8(server ? 2 : 0);        // stratum
  w.U8(6);
  w.U8(server ? 0xe9 : 0x20);
  if (server) {
    w.U32(0x00000120);
    w.U32(0x00000400);
    w.U32(0xc0a80101);
    w.Random(rng, 32);
  } else {
    w.Zeros(36);
    w.Random(rng, 8);  // transmit timestamp
  }
  return out;
}

// QUIC Initial protection (RFC 9001 §5.2): HKDF over HMAC-SHA256.
bool Hmac256(std::span<const uint8_t> key, std::span<const uint8_t> data, uint8_t out[32]) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
              out, &len) != nullptr;
}

void ExpandLabel(const uint8_t secret[32], std::string_view label, size_t length, uint8_t* out) {
  std::vector<uint8_t> info;
  Writer w(&info);
  w.U16(static_cast<uint32_t>(length));
  const std::string full = "tls13 " + std::string(label);
  w.U8(static_cast<uint32_t>(full.size()));
  w.Str(full);
  w.U8(0);
  w.U8(1);  // HKDF-Expand's T(1)
  uint8_t block[32];
  Hmac256(std::span<const uint8_t>(secret, 32), info, block);
  std::memcpy(out, block, length);
}

// QUIC v1 client Initial (RFC 9000 §17.2.2, RFC 9001 §5), really encrypted,
// padded to 1200 bytes (RFC 9000 §14.1).
std::vector<uint8_t> QuicClientInitial(std::span<const uint8_t> dcid,
                                       std::span<const uint8_t> scid, uint32_t pn,
                                       const std::vector<uint8_t>& client_hello) {
  static constexpr uint8_t kSalt[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                        0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                        0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
  uint8_t initial[32], client[32], key[16], iv[12], hp[16];
  Hmac256(kSalt, dcid, initial);
  ExpandLabel(initial, "client in", 32, client);
  ExpandLabel(client, "quic key", 16, key);
  ExpandLabel(client, "quic iv", 12, iv);
  ExpandLabel(client, "quic hp", 16, hp);

  constexpr size_t kDatagram = 1200;
  constexpr size_t kPnLen = 4;
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U8(0xc0 | (kPnLen - 1));
  w.U32(1);
  w.U8(static_cast<uint32_t>(dcid.size()));
  w.Bytes(dcid);
  w.U8(static_cast<uint32_t>(scid.size()));
  w.Bytes(scid);
  w.U8(0);  // token length
  const size_t length_at = w.size();
  w.U16(0);  // 2-byte varint, patched below
  const size_t pn_offset = w.size();
  w.U32(pn);
  const size_t payload_len = kDatagram - pn_offset - kPnLen - 16;
  const size_t length = kPnLen + payload_len + 16;
  out[length_at] = static_cast<uint8_t>(0x40 | (length >> 8));
  out[length_at + 1] = static_cast<uint8_t>(length);

  // CRYPTO frame at offset 0, then PADDING.
  std::vector<uint8_t> plain;
  Writer p(&plain);
  p.U8(0x06);
  p.U8(0);
  p.U16(0x4000 | static_cast<uint32_t>(client_hello.size()));
  p.Bytes(client_hello);
  plain.resize(payload_len, 0);

  uint8_t nonce[12];
  std::memcpy(nonce, iv, 12);
  for (int i = 0; i < 4; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  std::vector<uint8_t> sealed(payload_len + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_EncryptInit_ex(ctx, nullptr, nullptr, key, nonce);
  EVP_EncryptUpdate(ctx, nullptr, &n, out.data(), static_cast<int>(out.size()));
  EVP_EncryptUpdate(ctx, sealed.data(), &n, plain.data(), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, sealed.data() + n, &n);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed.data() + payload_len);
  EVP_CIPHER_CTX_free(ctx);
  out.insert(out.end(), sealed.begin(), sealed.end());

  // Header protection (RFC 9001 §5.4): sample 4 bytes past the packet number.
  uint8_t mask[16];
  ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, hp, nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EVP_EncryptUpdate(ctx, mask, &n, out.data() + pn_offset + 4, 16);
  EVP_CIPHER_CTX_free(ctx);
  out[0] = static_cast<uint8_t>(out[0] ^ (mask[0] & 0x0f));
  for (size_t i = 0; i < kPnLen; ++i) {
    out[pn_offset + i] = static_cast<uint8_t>(out[pn_offset + i] ^ mask[1 + i]);
  }
  return out;
}

// A long-header packet (type 0 Initial, 2 Handshake) with a random body.
std::vector<uint8_t> QuicLongRandom(Rng& rng, uint8_t type, std::span<const uint8_t> dcid,
                                    std::span<const uint8_t> scid, size_t total) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w.U8(0xc0u | (uint32_t{type} << 4) | 1u);
  w.U32(1);
  w.U8(static_cast<uint32_t>(dcid.size()));
  w.Bytes(dcid);
  w.U8(static_cast<uint32_t>(scid.size()));
  w.Bytes(scid);
  if (type == 0) w.U8(0);
  const size_t rest = total - w.size() - 2;
  w.U16(0x4000 | static_cast<uint32_t>(rest));
  w.Random(rng, rest);
  return out;
}

// ---------------------------------------------------------------------------
// The generator.

// Bulk: `extra` packets of data from the sender with a delayed ACK every
// two segments, ~1% retransmissions (TCP), window-limited bursts an RTT
// apart. Planned apart from the script so HTTP can announce the exact
// Content-Length before the body.
struct BulkStep {
  enum What : uint8_t { kData, kPureAck, kRetransmit } what;
  uint32_t len;
  int64_t wait;  // Before this packet.
};

std::vector<BulkStep> PlanBulk(Rng rng, const FlowSpec& s, bool tcp, int64_t rtt, uint32_t mss) {
  std::vector<BulkStep> out;
  out.reserve(s.extra);
  const int64_t gap = rng.LogUniform(15, 400);
  // Bursts: at most ~60 round trips however large the transfer.
  const uint32_t window = std::max<uint32_t>(16, s.extra / 60);
  uint32_t in_window = 0;
  uint32_t last_len = 0;
  for (uint32_t i = 0; i < s.extra; ++i) {
    if (i % 3 == 2) {
      out.push_back({BulkStep::kPureAck, tcp ? 0 : rng.Range32(30, 60), rng.Range(5, 40)});
      continue;
    }
    int64_t wait = gap;
    if (++in_window >= window) {
      wait += rtt;
      in_window = 0;
    }
    if (tcp && last_len > 0 && rng.Chance(0.01)) {
      out.push_back({BulkStep::kRetransmit, last_len, wait});
      continue;
    }
    last_len = rng.Chance(0.7) ? mss : rng.Range32(100, mss);
    out.push_back({BulkStep::kData, last_len, wait});
  }
  return out;
}

struct Options {
  uint64_t packets = 1'000'000;
  uint64_t flows = 60'000;
  uint64_t distinct = 0;
  double duration_s = -1;  // Default depends on the mode.
  uint64_t seed = 1;
  uint32_t snaplen = 262144;
  std::string output;
};

struct ActiveFlow {
  const FlowSpec* spec = nullptr;
  uint64_t ordinal = 0;
  Script script;
  size_t next = 0;
  Rng rng{0};
  uint32_t seq[2] = {0, 0};       // TCP: next sequence number per direction.
  uint32_t last_seq[2] = {0, 0};  // TCP: the last data segment's.
  uint32_t tsval[2] = {0, 0};
  uint16_t ip_id[2] = {0, 0};
  uint16_t icmp_seq = 0;
  uint8_t ttl = 64;
  uint32_t flow_label = 0;
  std::array<uint8_t, 8> cid[2]{};  // QUIC connection ids: client's, server's.
};

class Generator {
 public:
  explicit Generator(const Options& o) : o_(o), rng_(Mix(o.seed)) {
    random_pool_.resize(kPoolSize + 2048);
    rng_.Fill(random_pool_.data(), random_pool_.size());
    static constexpr std::string_view kWords[] = {
        "<div class=\"item\">", "network", "monitor", "connection", "</div>\n", "packet",
        "the", "and", "<p>", "</p>\n", "latency", "bytes", "stream", "server", "client"};
    while (text_pool_.size() < kPoolSize + 2048) {
      const std::string_view wd = kWords[rng_.Below(std::size(kWords))];
      text_pool_.insert(text_pool_.end(), wd.begin(), wd.end());
      text_pool_.push_back(' ');
    }
  }

  bool Plan();
  bool Write();

 private:
  void PlanMixed();
  void PlanDistinct();
  void BuildScript(ActiveFlow& f);
  void BuildTcp(ActiveFlow& f, ScriptBuilder& b);
  std::vector<BulkStep> PlanFor(ActiveFlow& f, int64_t rtt);
  void Bulk(ActiveFlow& f, ScriptBuilder& b, const std::vector<BulkStep>& plan);
  void Emit(ActiveFlow& f, const Step& s);
  void WriteRecord(int64_t ts, const std::vector<uint8_t>& frame);
  uint32_t Mss(const FlowSpec& s) const { return s.v6 ? kMssV6 : kMssV4; }

  Options o_;
  Rng rng_;
  std::vector<FlowSpec> specs_;
  std::vector<uint8_t> random_pool_;
  std::vector<uint8_t> text_pool_;
  uint32_t servers_ = 5000;
  uint32_t clients_ = 1000;
  std::FILE* out_ = nullptr;
  std::vector<uint8_t> frame_;
  uint64_t written_ = 0;
  uint64_t bytes_ = 0;
  uint64_t counts_[static_cast<size_t>(Kind::kCount)] = {};
  uint64_t v6_flows_ = 0;
  int64_t last_ts_ = 0;
  uint64_t planned_ = 0;
};

bool Generator::Plan() {
  if (o_.distinct > 0) {
    if (o_.duration_s < 0) o_.duration_s = 10;
    PlanDistinct();
  } else {
    if (o_.duration_s < 0) o_.duration_s = 60;
    PlanMixed();
  }
  uint64_t total = 0;
  for (const FlowSpec& f : specs_) total += BasePackets(f) + f.extra;
  planned_ = total;
  if (o_.distinct == 0 && total != o_.packets) {
    std::fprintf(stderr,
                 "bench_make_capture: --packets %llu is too few for --flows %llu (they need at "
                 "least %llu)\n",
                 static_cast<unsigned long long>(o_.packets),
                 static_cast<unsigned long long>(o_.flows),
                 static_cast<unsigned long long>(total));
    return false;
  }
  return true;
}

void Generator::PlanMixed() {
  // Share of flows per kind, in per mille.
  struct Share {
    Kind kind;
    uint32_t per_mille;
  };
  static constexpr Share kMix[] = {{Kind::kDns, 330}, {Kind::kTls, 300}, {Kind::kHttp, 120},
                                   {Kind::kQuic, 120}, {Kind::kSsh, 40},  {Kind::kIcmp, 60},
                                   {Kind::kNtp, 30}};
  clients_ = static_cast<uint32_t>(std::clamp<uint64_t>(o_.flows / 60, 16, 60000));
  servers_ = static_cast<uint32_t>(std::clamp<uint64_t>(o_.flows / 12, 16, 1'000'000));
  PortAllocator ports(clients_);
  const auto span_us = static_cast<int64_t>(o_.duration_s * 0.95 * 1e6);
  specs_.resize(o_.flows);
  for (uint64_t i = 0; i < o_.flows; ++i) {
    FlowSpec& f = specs_[i];
    uint64_t pick = rng_.Below(1000);
    for (const Share& s : kMix) {
      if (pick < s.per_mille) {
        f.kind = s.kind;
        break;
      }
      pick -= s.per_mille;
    }
    f.start_us = rng_.Range(0, span_us);
    f.v6 = rng_.Chance(0.2);
    for (int tries = 0; tries < 100 && f.client_port == 0; ++tries) {
      f.client = static_cast<uint32_t>(rng_.Below(clients_));
      f.client_port = ports.Next(f.client);
    }
    f.server = static_cast<uint32_t>(rng_.Below(servers_));
    switch (f.kind) {
      case Kind::kHttp:
        f.server_port = rng_.Chance(0.1) ? 8080 : 80;
        f.variant = static_cast<uint8_t>(rng_.Chance(0.7) ? 1 : rng_.Range(2, 3));
        break;
      case Kind::kTls:
        f.server_port = rng_.Chance(0.05) ? 8443 : 443;
        f.variant = static_cast<uint8_t>(rng_.Range(1, 3));  // Server flight segments.
        f.tls12 = rng_.Chance(0.15);
        f.upload = rng_.Chance(0.15);
        f.keep_open = rng_.Chance(0.15);
        break;
      case Kind::kSsh:
        f.server_port = rng_.Chance(0.1) ? 2222 : 22;
        f.upload = rng_.Chance(0.3);
        f.keep_open = rng_.Chance(0.4);
        break;
      case Kind::kDns:
        f.server_port = 53;
        f.variant = static_cast<uint8_t>(rng_.Chance(0.25) ? 2 : 1);  // A and AAAA
        break;
      case Kind::kQuic:
        f.server_port = 443;
        f.upload = rng_.Chance(0.1);
        break;
      case Kind::kIcmp:
        f.variant = static_cast<uint8_t>(rng_.Range(3, 5));
        break;
      case Kind::kNtp:
        f.server_port = 123;
        break;
      default:
        break;
    }
    if (f.kind == Kind::kIcmp) f.server_port = 0;
  }
  // Spread what the fixed packets leave over the bulk flows, heavy-tailed
  // (Pareto, alpha 1.2, capped), then one by one to land exactly.
  uint64_t base = 0;
  std::vector<size_t> adjustable;
  for (size_t i = 0; i < specs_.size(); ++i) {
    base += BasePackets(specs_[i]);
    if (Adjustable(specs_[i].kind)) adjustable.push_back(i);
  }
  if (base > o_.packets || adjustable.empty()) return;  // Plan() reports it.
  const uint64_t budget = o_.packets - base;
  std::vector<double> weight(adjustable.size());
  double sum = 0;
  for (double& w : weight) {
    w = std::min(std::pow(1.0 - rng_.Unit(), -1.0 / 1.2), 2000.0);
    sum += w;
  }
  uint64_t given = 0;
  for (size_t k = 0; k < adjustable.size(); ++k) {
    const auto e = static_cast<uint64_t>(static_cast<double>(budget) * weight[k] / sum);
    specs_[adjustable[k]].extra = static_cast<uint32_t>(e);
    given += e;
  }
  for (; given < budget; ++given) specs_[adjustable[rng_.Below(adjustable.size())]].extra++;
}

void Generator::PlanDistinct() {
  clients_ = static_cast<uint32_t>(std::clamp<uint64_t>(o_.distinct / 16, 16, 65534));
  servers_ = 5000;
  PortAllocator ports(clients_);
  const auto span_us = static_cast<int64_t>(o_.duration_s * 1e6);
  specs_.resize(o_.distinct);
  for (uint64_t i = 0; i < o_.distinct; ++i) {
    FlowSpec& f = specs_[i];
    f.start_us = static_cast<int64_t>(i) * span_us / static_cast<int64_t>(o_.distinct);
    f.v6 = rng_.Chance(0.1);
    f.client = static_cast<uint32_t>(i % clients_);
    f.client_port = ports.Next(f.client);
    f.server = static_cast<uint32_t>(rng_.Below(servers_));
    const uint64_t pick = rng_.Below(100);
    if (pick < 40) {
      f.kind = Kind::kSyn;
      f.variant = pick < 25 ? 0 : 1;
      static constexpr uint16_t kPorts[] = {443, 443, 80, 22, 8080, 3389};
      f.server_port = kPorts[rng_.Below(std::size(kPorts))];
    } else if (pick < 85) {
      f.kind = Kind::kDnsSingle;
      f.variant = pick < 60 ? 0 : 1;
      f.server_port = 53;
    } else {
      f.kind = Kind::kUdpProbe;
      f.server_port = static_cast<uint16_t>(rng_.Range(1024, 65535));
    }
  }
}

void Generator::Bulk(ActiveFlow& f, ScriptBuilder& b, const std::vector<BulkStep>& plan) {
  const FlowSpec& s = *f.spec;
  const bool tcp = s.kind != Kind::kQuic;
  const uint8_t from = s.upload ? 0 : 1;
  const auto to = static_cast<uint8_t>(1 - from);
  const Content data = s.kind == Kind::kHttp  ? Content::kText
                       : s.kind == Kind::kTls ? Content::kTlsRecord
                       : s.kind == Kind::kSsh ? Content::kSshPacket
                                              : Content::kQuicShort;
  for (const BulkStep& st : plan) {
    b.Wait(st.wait);
    switch (st.what) {
      case BulkStep::kPureAck:
        if (tcp) {
          b.Add(to, kAck);
        } else {
          b.Add(to, 0, Content::kQuicShort, st.len);
        }
        break;
      case BulkStep::kRetransmit:
        b.Add(from, kAck, Content::kRetransmit, st.len);
        break;
      case BulkStep::kData:
        b.Add(from, tcp ? (kAck | kPsh) : 0, data, st.len);
        break;
    }
  }
}

std::vector<BulkStep> Generator::PlanFor(ActiveFlow& f, int64_t rtt) {
  const FlowSpec& s = *f.spec;
  const bool tcp = s.kind != Kind::kQuic;
  const uint32_t mss = tcp ? Mss(s) : (s.v6 ? 1232 : 1252);
  return PlanBulk(Rng(f.rng.Next()), s, tcp, rtt, mss);
}

void Generator::BuildTcp(ActiveFlow& f, ScriptBuilder& b) {
  const FlowSpec& s = *f.spec;
  const int64_t rtt = f.rng.LogUniform(1'000, 150'000);
  const uint32_t mss = Mss(s);
  const std::string host = ServerName(s.server);
  // Handshake, as seen near the client.
  b.Add(0, kSyn);
  b.Wait(rtt);
  b.Add(1, kSyn | kAck);
  b.Wait(f.rng.Range(10, 80));
  b.Add(0, kAck);
  b.Wait(f.rng.Range(20, 2000));

  switch (s.kind) {
    case Kind::kHttp: {
      for (int r = 0; r < s.variant; ++r) {
        const bool last = r + 1 == s.variant;
        b.AddBlob(0, kAck | kPsh, HttpRequest(f.rng, host, s.server_port));
        b.Wait(rtt + f.rng.LogUniform(100, 30'000));
        // The response's first segment has the head and the start of the
        // body; the last response's bulk carries the rest.
        const uint32_t first_body = f.rng.Range32(50, 900);
        std::vector<BulkStep> bulk;
        if (last) bulk = PlanFor(f, rtt);
        uint64_t body = first_body;
        for (const BulkStep& st : bulk) {
          if (st.what == BulkStep::kData) body += st.len;
        }
        const std::string head = HttpResponseHead(f.rng, body);
        std::vector<uint8_t> seg(head.begin(), head.end());
        const size_t at = f.rng.Below(kPoolSize);
        seg.insert(seg.end(), text_pool_.begin() + static_cast<ptrdiff_t>(at),
                   text_pool_.begin() + static_cast<ptrdiff_t>(at + first_body));
        b.AddBlob(1, kAck | kPsh, std::move(seg));
        b.Wait(f.rng.Range(10, 200));
        b.Add(0, kAck);
        Bulk(f, b, bulk);
        b.Wait(f.rng.LogUniform(200, 500'000));
      }
      break;
    }
    case Kind::kTls: {
      b.Wait(f.rng.Range(10, 500));
      std::vector<uint8_t> hello;
      Writer w(&hello);
      Record(w, 22, ClientHello(f.rng, host, s.tls12, {}), 0x0301);
      b.AddBlob(0, kAck | kPsh, std::move(hello));
      b.Wait(rtt + f.rng.LogUniform(200, 10'000));
      const size_t target = (s.variant - 1u) * mss + f.rng.Range32(300, mss);
      // (Draws in sequence: argument evaluation order is unspecified.)
      const std::vector<uint8_t> flight = ServerFlight(f.rng, s.tls12, host, target);
      b.AddSegments(1, flight, mss, f.rng.Range(15, 200));
      b.Wait(f.rng.Range(10, 100));
      b.Add(0, kAck);
      b.Wait(f.rng.Range(200, 3000));
      {
        std::vector<uint8_t> fin;
        Writer c(&fin);
        if (s.tls12) {
          std::vector<uint8_t> cke(37);
          f.rng.Fill(cke.data(), cke.size());
          cke[0] = 16;  // client_key_exchange
          cke[1] = 0;
          cke[2] = 0;
          cke[3] = 33;
          Record(c, 22, cke);
        }
        static constexpr uint8_t kCcs[] = {1};
        Record(c, 20, kCcs);
        std::vector<uint8_t> enc(f.rng.Range32(53, 80));
        f.rng.Fill(enc.data(), enc.size());
        Record(c, s.tls12 ? 22 : 23, enc);
        enc.resize(f.rng.Range32(100, 700));
        f.rng.Fill(enc.data(), enc.size());
        Record(c, 23, enc);
        b.AddBlob(0, kAck | kPsh, std::move(fin));
      }
      b.Wait(rtt + f.rng.LogUniform(100, 50'000));
      {
        std::vector<uint8_t> resp;
        Writer r(&resp);
        if (s.tls12) {
          static constexpr uint8_t kCcs[] = {1};
          Record(r, 20, kCcs);
          std::vector<uint8_t> enc(40);
          f.rng.Fill(enc.data(), enc.size());
          Record(r, 22, enc);
        }
        std::vector<uint8_t> enc(f.rng.Range32(100, mss - 100));
        f.rng.Fill(enc.data(), enc.size());
        Record(r, 23, enc);
        b.AddBlob(1, kAck | kPsh, std::move(resp));
      }
      b.Wait(f.rng.Range(10, 200));
      b.Add(0, kAck);
      Bulk(f, b, PlanFor(f, rtt));
      break;
    }
    case Kind::kSsh: {
      // Both sides send their identification at once; the server's is
      // usually first to arrive after the handshake.
      b.AddBlob(1, kAck | kPsh, SshBanner(kSshServers[f.rng.Below(std::size(kSshServers))]));
      b.Wait(f.rng.Range(50, 500));
      b.AddBlob(0, kAck | kPsh, SshBanner(kSshClients[f.rng.Below(std::size(kSshClients))]));
      b.Wait(f.rng.Range(50, 500));
      b.AddBlob(0, kAck | kPsh, SshKexInit(f.rng, false));
      b.Wait(rtt);
      b.AddBlob(1, kAck | kPsh, SshKexInit(f.rng, true));
      b.Wait(f.rng.Range(100, 2000));
      b.AddBlob(0, kAck | kPsh, SshEcdhInit(f.rng));
      b.Wait(rtt + f.rng.Range(500, 5000));
      b.AddBlob(1, kAck | kPsh, SshEcdhReply(f.rng));
      b.Wait(f.rng.Range(100, 2000));
      b.AddBlob(0, kAck | kPsh, SshNewKeys(f.rng, true, f.rng.Range32(40, 120)));
      b.Wait(rtt);
      b.AddBlob(1, kAck | kPsh, SshNewKeys(f.rng, false, f.rng.Range32(40, 120)));
      Bulk(f, b, PlanFor(f, rtt));
      break;
    }
    default:
      break;
  }
  // Close: usually the client first; FIN, ACK, FIN, ACK.
  if (s.keep_open) return;
  b.Wait(f.rng.LogUniform(100, 2'000'000));
  const uint8_t closer = f.rng.Chance(0.7) ? 0 : 1;
  const auto other = static_cast<uint8_t>(1 - closer);
  b.Add(closer, kFin | kAck);
  b.Wait(closer == 0 ? rtt : f.rng.Range(20, 200));
  b.Add(other, kAck);
  b.Wait(f.rng.Range(20, 5000));
  b.Add(other, kFin | kAck);
  b.Wait(closer == 0 ? f.rng.Range(20, 200) : rtt);
  b.Add(closer, kAck);
}

void Generator::BuildScript(ActiveFlow& f) {
  const FlowSpec& s = *f.spec;
  ScriptBuilder b(&f.script, s.start_us);
  f.ttl = static_cast<uint8_t>(f.rng.Range(44, 60));
  f.flow_label = static_cast<uint32_t>(f.rng.Below(1u << 20));
  for (auto& id : f.ip_id) id = static_cast<uint16_t>(f.rng.Below(65536));
  for (auto& cid : f.cid) f.rng.Fill(cid.data(), cid.size());
  switch (s.kind) {
    case Kind::kHttp:
    case Kind::kTls:
    case Kind::kSsh:
      for (auto& q : f.seq) q = static_cast<uint32_t>(f.rng.Next());
      BuildTcp(f, b);
      break;
    case Kind::kDns: {
      const std::string name = ServerName(s.server);
      const bool nx = f.rng.Chance(0.05);
      const bool cname = f.rng.Chance(0.3);
      const std::string target = "edge-" + std::to_string(s.server % 97) + ".cdn.example.net";
      for (int q = 0; q < s.variant; ++q) {
        // One query: the family the client uses; two: A then AAAA.
        const bool aaaa = s.variant == 2 ? q == 1 : s.v6;
        const auto id = static_cast<uint16_t>(f.rng.Below(65536));
        const uint16_t qtype = aaaa ? 28 : 1;
        if (q > 0) b.Wait(f.rng.Range(20, 300));
        b.AddBlob(0, 0, DnsQuery(id, name, qtype));
        b.Wait(f.rng.LogUniform(300, 80'000));
        std::vector<Address> answers;
        if (!nx) {
          answers.push_back(ServerAddress(s.server, aaaa));
          if (f.rng.Chance(0.3)) answers.push_back(ServerAddress(s.server + 7919, aaaa));
        }
        b.AddBlob(1, 0, DnsResponse(f.rng, id, name, qtype, answers, cname ? target : ""));
      }
      break;
    }
    case Kind::kQuic: {
      const int64_t rtt = f.rng.LogUniform(2'000, 120'000);
      const std::string host = ServerName(s.server);
      // The client's DCID for the Initial is random (RFC 9000 §7.2);
      // afterwards each side addresses the other by its own id.
      std::array<uint8_t, 8> odcid{};
      f.rng.Fill(odcid.data(), odcid.size());
      const auto hello = ClientHello(f.rng, host, false, f.cid[0]);
      b.AddBlob(0, 0, QuicClientInitial(odcid, f.cid[0], 0, hello));
      b.Wait(rtt);
      b.AddBlob(1, 0, QuicLongRandom(f.rng, 0, f.cid[0], f.cid[1], 1200));
      b.Wait(f.rng.Range(20, 300));
      b.AddBlob(1, 0, QuicLongRandom(f.rng, 2, f.cid[0], f.cid[1], f.rng.Range32(900, 1200)));
      b.Wait(f.rng.Range(100, 2000));
      b.AddBlob(0, 0, QuicLongRandom(f.rng, 2, f.cid[1], f.cid[0], f.rng.Range32(80, 120)));
      b.Wait(f.rng.Range(100, 5000));
      Bulk(f, b, PlanFor(f, rtt));
      break;
    }
    case Kind::kIcmp:
      for (int p = 0; p < s.variant; ++p) {
        if (p > 0) b.Wait(1'000'000 + f.rng.Range(-2000, 2000));
        b.Add(0, 0, Content::kRandom, 56);
        const int64_t rtt = f.rng.LogUniform(300, 100'000);
        b.Wait(rtt);
        b.Add(1, 0, Content::kRandom, 56);
        b.Wait(-rtt);  // The next request is a second after this one.
      }
      break;
    case Kind::kNtp:
      b.AddBlob(0, 0, NtpPacket(f.rng, false));
      b.Wait(f.rng.LogUniform(1'000, 80'000));
      b.AddBlob(1, 0, NtpPacket(f.rng, true));
      break;
    case Kind::kSyn:
      for (auto& q : f.seq) q = static_cast<uint32_t>(f.rng.Next());
      b.Add(0, kSyn);
      if (s.variant == 1) {
        b.Wait(f.rng.LogUniform(200, 20'000));
        b.Add(1, kSyn | kAck);
      }
      break;
    case Kind::kDnsSingle: {
      const std::string name = ServerName(s.server);
      const auto id = static_cast<uint16_t>(f.rng.Below(65536));
      const uint16_t qtype = s.v6 ? 28 : 1;
      b.AddBlob(0, 0, DnsQuery(id, name, qtype));
      if (s.variant == 1) {
        b.Wait(f.rng.LogUniform(200, 20'000));
        b.AddBlob(1, 0, DnsResponse(f.rng, id, name, qtype, {ServerAddress(s.server, s.v6)}, ""));
      }
      break;
    }
    case Kind::kUdpProbe:
      b.Add(0, 0, Content::kRandom, f.rng.Range32(20, 200));
      break;
    case Kind::kCount:
      break;
  }
}

uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n % 2 != 0) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void Generator::Emit(ActiveFlow& f, const Step& s) {
  const FlowSpec& spec = *f.spec;
  const uint8_t dir = s.dir;
  const uint8_t other = static_cast<uint8_t>(1 - dir);
  const bool v6 = spec.v6;
  const bool tcp = spec.kind == Kind::kHttp || spec.kind == Kind::kTls ||
                   spec.kind == Kind::kSsh || spec.kind == Kind::kSyn;
  const bool icmp = spec.kind == Kind::kIcmp;
  const bool dns = spec.kind == Kind::kDns || spec.kind == Kind::kDnsSingle;
  const uint8_t proto = tcp ? 6 : icmp ? (v6 ? 58 : 1) : 17;
  const Address client = ClientAddress(spec.client, v6);
  const Address server = dns ? Resolver(spec.server, v6) : ServerAddress(spec.server, v6);
  const Address& src = dir == 0 ? client : server;
  const Address& dst = dir == 0 ? server : client;
  const uint16_t sport = dir == 0 ? spec.client_port : spec.server_port;
  const uint16_t dport = dir == 0 ? spec.server_port : spec.client_port;

  std::vector<uint8_t>& fr = frame_;
  fr.clear();
  Writer w(&fr);
  const auto client_mac = ClientMac(spec.client);
  w.Bytes(dir == 0 ? kGatewayMac : client_mac);
  w.Bytes(dir == 0 ? client_mac : kGatewayMac);
  w.U16(v6 ? 0x86dd : 0x0800);
  const size_t ip_at = fr.size();
  const size_t ip_len = v6 ? 40 : 20;
  w.Zeros(ip_len);
  const size_t l4_at = fr.size();

  // Transport header.
  uint32_t seq = 0;
  if (tcp) {
    uint32_t len = s.len;
    if ((s.flags & kSyn) != 0) {
      seq = f.seq[dir]++;
    } else if (s.content == Content::kRetransmit) {
      seq = f.last_seq[dir];
    } else {
      seq = f.seq[dir];
      if (len > 0) f.last_seq[dir] = seq;
      f.seq[dir] += len;
      if ((s.flags & kFin) != 0) f.seq[dir]++;
    }
    f.tsval[dir] += static_cast<uint32_t>(f.rng.Range(1, 3));
    w.U16(sport);
    w.U16(dport);
    w.U32(seq);
    w.U32((s.flags & kAck) != 0 ? f.seq[other] : 0);
    const bool syn = (s.flags & kSyn) != 0;
    w.U8(syn ? 0xa0 : 0x80);  // data offset: 40 or 32 bytes
    w.U8(s.flags);
    w.U16(syn ? 64240 : 501 + (f.tsval[dir] & 0x3ff));
    w.U16(0);  // checksum
    w.U16(0);  // urgent
    if (syn) {
      w.U8(2);  // MSS
      w.U8(4);
      w.U16(v6 ? 1440 : 1460);
      w.U8(4);  // SACK permitted
      w.U8(2);
    } else {
      w.U8(1);
      w.U8(1);
    }
    w.U8(8);  // timestamps
    w.U8(10);
    w.U32(f.tsval[dir]);
    w.U32(f.tsval[other]);
    if (syn) {
      w.U8(1);
      w.U8(3);  // window scale 7
      w.U8(3);
      w.U8(7);
    }
  } else if (icmp) {
    w.U8(v6 ? (dir == 0 ? 128 : 129) : (dir == 0 ? 8 : 0));
    w.U8(0);
    w.U16(0);
    w.U16(spec.client_port);  // identifier
    if (dir == 0) ++f.icmp_seq;
    w.U16(f.icmp_seq);
  } else {
    w.U16(sport);
    w.U16(dport);
    w.U16(0);
    w.U16(0);
  }

  // Payload.
  const size_t payload_at = fr.size();
  switch (s.content) {
    case Content::kNone:
      break;
    case Content::kBlob:
      w.Bytes(f.script.blobs[static_cast<size_t>(s.blob)]);
      break;
    case Content::kText: {
      const size_t at = f.rng.Below(kPoolSize);
      w.Bytes(std::span<const uint8_t>(text_pool_.data() + at, s.len));
      break;
    }
    case Content::kRandom:
    case Content::kRetransmit:
    case Content::kTlsRecord:
    case Content::kSshPacket:
    case Content::kQuicShort: {
      const size_t at = f.rng.Below(kPoolSize);
      w.Bytes(std::span<const uint8_t>(random_pool_.data() + at, s.len));
      uint8_t* p = fr.data() + payload_at;
      if (s.content == Content::kTlsRecord && s.len >= 5) {
        p[0] = 23;
        p[1] = 3;
        p[2] = 3;
        p[3] = static_cast<uint8_t>((s.len - 5) >> 8);
        p[4] = static_cast<uint8_t>(s.len - 5);
      } else if (s.content == Content::kSshPacket && s.len >= 4) {
        p[0] = 0;
        p[1] = 0;
        p[2] = static_cast<uint8_t>((s.len - 4) >> 8);
        p[3] = static_cast<uint8_t>(s.len - 4);
      } else if (s.content == Content::kQuicShort && s.len >= 9) {
        p[0] = static_cast<uint8_t>(0x40 | (p[0] & 0x1f));  // fixed bit, short header
        std::memcpy(p + 1, f.cid[other].data(), 8);
      }
      break;
    }
  }
  const size_t l4_len = fr.size() - l4_at;

  // IP header.
  uint8_t* ip = fr.data() + ip_at;
  const uint8_t ttl = dir == 0 ? 64 : f.ttl;
  if (v6) {
    const uint32_t first = (6u << 28) | f.flow_label;
    for (int i = 0; i < 4; ++i) ip[i] = static_cast<uint8_t>(first >> (24 - 8 * i));
    ip[4] = static_cast<uint8_t>(l4_len >> 8);
    ip[5] = static_cast<uint8_t>(l4_len);
    ip[6] = proto;
    ip[7] = ttl;
    std::memcpy(ip + 8, src.b.data(), 16);
    std::memcpy(ip + 24, dst.b.data(), 16);
  } else {
    const size_t total = 20 + l4_len;
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    const uint16_t id = f.ip_id[dir]++;
    ip[4] = static_cast<uint8_t>(id >> 8);
    ip[5] = static_cast<uint8_t>(id);
    ip[6] = tcp ? 0x40 : 0;  // DF
    ip[7] = 0;
    ip[8] = ttl;
    ip[9] = proto;
    std::memcpy(ip + 12, src.b.data(), 4);
    std::memcpy(ip + 16, dst.b.data(), 4);
    const uint16_t c = Fold(Sum16(ip, 20));
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
  }

  // Transport checksum (pseudo-header: RFC 768, RFC 9293 §3.1, RFC 8200
  // §8.1; ICMPv4 has none).
  uint8_t* l4 = fr.data() + l4_at;
  if (!tcp && !icmp) {
    l4[4] = static_cast<uint8_t>(l4_len >> 8);
    l4[5] = static_cast<uint8_t>(l4_len);
  }
  uint32_t sum = 0;
  if (!(icmp && !v6)) {
    const size_t alen = v6 ? 16 : 4;
    sum = Sum16(src.b.data(), alen, sum);
    sum = Sum16(dst.b.data(), alen, sum);
    sum += proto;
    sum += static_cast<uint32_t>(l4_len);
  }
  uint16_t c = Fold(Sum16(l4, l4_len, sum));
  if (!tcp && !icmp && c == 0) c = 0xffff;  // UDP: zero means "no checksum".
  const size_t at = tcp ? 16 : icmp ? 2 : 6;
  l4[at] = static_cast<uint8_t>(c >> 8);
  l4[at + 1] = static_cast<uint8_t>(c);
  WriteRecord(s.ts, fr);
}

void Generator::WriteRecord(int64_t ts, const std::vector<uint8_t>& frame) {
  const int64_t abs_us = kEpochSeconds * 1'000'000 + ts;
  const auto incl = static_cast<uint32_t>(std::min<size_t>(frame.size(), o_.snaplen));
  uint32_t header[4] = {static_cast<uint32_t>(abs_us / 1'000'000),
                        static_cast<uint32_t>(abs_us % 1'000'000), incl,
                        static_cast<uint32_t>(frame.size())};
  std::fwrite(header, sizeof(header), 1, out_);
  std::fwrite(frame.data(), 1, incl, out_);
  ++written_;
  bytes_ += frame.size();
  last_ts_ = ts;
}

bool Generator::Write() {
  out_ = std::fopen(o_.output.c_str(), "wb");
  if (out_ == nullptr) {
    std::fprintf(stderr, "bench_make_capture: cannot write %s: %s\n", o_.output.c_str(),
                 std::strerror(errno));
    return false;
  }
  static char buffer[1 << 22];
  std::setvbuf(out_, buffer, _IOFBF, sizeof(buffer));
  // pcap file header (microsecond timestamps, host byte order), Ethernet.
  const uint32_t magic = 0xa1b2c3d4;
  const uint16_t version[2] = {2, 4};
  const uint32_t rest[4] = {0, 0, o_.snaplen, 1};
  std::fwrite(&magic, 4, 1, out_);
  std::fwrite(version, 2, 2, out_);
  std::fwrite(rest, 4, 4, out_);

  std::vector<uint32_t> order(specs_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) {
    return specs_[a].start_us < specs_[b].start_us;
  });

  // Flows in progress; the heap holds (next packet time, ordinal, slot).
  struct Entry {
    int64_t ts;
    uint64_t ordinal;
    uint32_t slot;
    bool operator>(const Entry& o) const {
      return ts != o.ts ? ts > o.ts : ordinal > o.ordinal;
    }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  std::vector<std::unique_ptr<ActiveFlow>> slots;
  std::vector<uint32_t> free_slots;
  size_t next_start = 0;
  while (next_start < order.size() || !heap.empty()) {
    if (next_start < order.size() &&
        (heap.empty() || specs_[order[next_start]].start_us <= heap.top().ts)) {
      const uint32_t idx = order[next_start++];
      uint32_t slot;
      if (free_slots.empty()) {
        slot = static_cast<uint32_t>(slots.size());
        slots.push_back(std::make_unique<ActiveFlow>());
      } else {
        slot = free_slots.back();
        free_slots.pop_back();
        *slots[slot] = ActiveFlow();
      }
      ActiveFlow& f = *slots[slot];
      f.spec = &specs_[idx];
      f.ordinal = idx;
      f.rng = Rng(Mix(o_.seed * 0x100000001b3ULL + idx));
      BuildScript(f);
      ++counts_[static_cast<size_t>(f.spec->kind)];
      if (f.spec->v6) ++v6_flows_;
      heap.push({f.script.steps.front().ts, idx, slot});
      continue;
    }
    const Entry e = heap.top();
    heap.pop();
    ActiveFlow& f = *slots[e.slot];
    Emit(f, f.script.steps[f.next]);
    if (++f.next < f.script.steps.size()) {
      heap.push({f.script.steps[f.next].ts, e.ordinal, e.slot});
    } else {
      f.script = Script();
      free_slots.push_back(e.slot);
    }
  }
  const bool ok = std::fflush(out_) == 0 && !std::ferror(out_);
  std::fclose(out_);
  if (!ok) {
    std::fprintf(stderr, "bench_make_capture: writing %s failed\n", o_.output.c_str());
    return false;
  }
  if (written_ != planned_) {
    // A script disagrees with BasePackets(): a bug here, not in the input.
    std::fprintf(stderr, "bench_make_capture: wrote %llu packets, planned %llu\n",
                 static_cast<unsigned long long>(written_),
                 static_cast<unsigned long long>(planned_));
    return false;
  }
  std::printf("wrote %s: %llu packets, %zu flows (%llu IPv6), %.1f MB on the wire, %.1f s\n",
              o_.output.c_str(), static_cast<unsigned long long>(written_), specs_.size(),
              static_cast<unsigned long long>(v6_flows_), static_cast<double>(bytes_) / 1e6,
              static_cast<double>(last_ts_) / 1e6);
  std::printf("flows by kind:");
  for (size_t k = 0; k < static_cast<size_t>(Kind::kCount); ++k) {
    if (counts_[k] > 0) {
      std::printf(" %s %llu", kKindNames[k], static_cast<unsigned long long>(counts_[k]));
    }
  }
  std::printf("\n");
  return true;
}

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "bench_make_capture: %s\n", why);
  std::fprintf(stderr,
               "usage: bench_make_capture [--packets N] [--flows N] [--duration SEC] [--seed N] "
               "[--snaplen N] OUTPUT.pcap\n"
               "       bench_make_capture --distinct-flows N [--duration SEC] [--seed N] "
               "OUTPUT.pcap\n");
  return 2;
}

bool ParseU64(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "-h" || a == "--help") {
      Usage(nullptr);
      return 0;
    }
    if (a.substr(0, 2) != "--") {
      if (!o.output.empty()) return Usage("one output file only");
      o.output = std::string(a);
      continue;
    }
    if (i + 1 >= args.size()) return Usage("a flag is missing its value");
    const char* v = argv[i + 2];
    ++i;
    uint64_t n = 0;
    if (a == "--duration") {
      char* end = nullptr;
      o.duration_s = std::strtod(v, &end);
      if (end == v || *end != '\0' || !(o.duration_s > 0)) return Usage("bad --duration");
      continue;
    }
    if (!ParseU64(v, &n)) return Usage("expected a whole number");
    if (a == "--packets") {
      o.packets = n;
    } else if (a == "--flows") {
      o.flows = n;
    } else if (a == "--distinct-flows") {
      o.distinct = n;
    } else if (a == "--seed") {
      o.seed = n;
    } else if (a == "--snaplen") {
      if (n < 64 || n > 262144) return Usage("--snaplen must be 64 to 262144");
      o.snaplen = static_cast<uint32_t>(n);
    } else {
      return Usage("unknown flag");
    }
  }
  if (o.output.empty()) return Usage("no output file");
  if (o.distinct == 0 && o.flows == 0) return Usage("--flows must be at least 1");
  const auto start = std::chrono::steady_clock::now();
  Generator g(o);
  if (!g.Plan() || !g.Write()) return 1;
  std::printf("generated in %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
