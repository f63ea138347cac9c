#include "daemon/dpi/tls.h"

#include <algorithm>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/crypto.h"
#include "daemon/dpi/stream_buffer.h"
#include "daemon/dpi/tls_certificate.h"
#include "daemon/dpi/tls_wire.h"

namespace rustnet {
namespace {

constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kContentApplicationData = 23;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtSignatureAlgorithms = 13;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtSupportedVersions = 43;
constexpr uint16_t kExtEch = 0xfe0d;
constexpr size_t kMaxAlpnKept = 8;
constexpr size_t kMaxSniBytes = 255;

// A ClientHello's lists of 16-bit values: inline up to a size real clients
// stay within (parsing one allocates nothing for them), on the heap beyond.
using U16List = absl::InlinedVector<uint16_t, 64>;

// RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa.
bool IsGrease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendHex4(uint16_t v, std::string* out) {
  const char digits[4] = {kHexDigits[v >> 12], kHexDigits[(v >> 8) & 0xf],
                          kHexDigits[(v >> 4) & 0xf], kHexDigits[v & 0xf]};
  out->append(digits, sizeof(digits));
}

std::string Hex4(uint16_t v) {
  std::string out;
  AppendHex4(v, &out);
  return out;
}

// "aaaa,bbbb,...": JA4's lists as hex (one allocation).
void AppendHexList(std::span<const uint16_t> values, std::string* out) {
  out->reserve(out->size() + values.size() * 5);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out->push_back(',');
    AppendHex4(values[i], out);
  }
}

// JA4's hashes: appends the first 12 hex digits of SHA-256 over the text
// (twelve zeros for no text; nothing if the digest failed).
void AppendSha256Prefix12(std::string_view text, std::string* out) {
  if (text.empty()) {
    out->append(12, '0');
    return;
  }
  uint8_t digest[32];
  if (!crypto::Sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                               text.size()),
                      digest)) {
    return;
  }
  for (size_t i = 0; i < 6; ++i) {
    out->push_back(kHexDigits[digest[i] >> 4]);
    out->push_back(kHexDigits[digest[i] & 0xf]);
  }
}

std::string_view Ja4Version(uint16_t v) {
  switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
  }
}

bool IsAlnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// JA4 (FoxIO's specification): a_b_c. See tls.h.
std::string Ja4(bool quic, uint16_t version, bool has_sni, std::span<const uint16_t> ciphers,
                std::span<const uint16_t> extensions, std::string_view first_alpn,
                std::span<const uint16_t> sigalgs) {
  std::string a;
  a.reserve(36);  // "t13d1516h2_" + 12 + "_" + 12: one allocation.
  a += quic ? 'q' : 't';
  a += Ja4Version(version);
  a += has_sni ? "d" : "i";
  auto two = [&a](size_t n) {
    n = std::min<size_t>(n, 99);
    a += static_cast<char>('0' + n / 10);
    a += static_cast<char>('0' + n % 10);
  };
  two(ciphers.size());
  two(extensions.size());
  if (first_alpn.empty()) {
    a += "00";
  } else {
    const auto first = static_cast<uint8_t>(first_alpn.front());
    const auto last = static_cast<uint8_t>(first_alpn.back());
    if (IsAlnum(first) && IsAlnum(last)) {
      a += static_cast<char>(first);
      a += static_cast<char>(last);
    } else {
      a += kHexDigits[first >> 4];  // First hex digit of the first byte,
      a += kHexDigits[last & 0xf];  // last of the last.
    }
  }
  a += '_';
  U16List sorted(ciphers.begin(), ciphers.end());
  std::sort(sorted.begin(), sorted.end());
  std::string text;
  text.reserve(5 * (ciphers.size() + extensions.size() + sigalgs.size()) + 1);
  AppendHexList(sorted, &text);
  AppendSha256Prefix12(text, &a);
  a += '_';

  sorted.clear();
  for (uint16_t v : extensions) {
    if (v != kExtServerName && v != kExtAlpn) sorted.push_back(v);
  }
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty()) {
    a.append(12, '0');
    return a;
  }
  text.clear();
  AppendHexList(sorted, &text);
  if (!sigalgs.empty()) {
    text += '_';
    AppendHexList(sigalgs, &text);
  }
  AppendSha256Prefix12(text, &a);
  return a;
}

constexpr size_t kRecordHeaderBytes = 5;

// RFC 8446 §5.1: type (1), legacy_record_version (2, major 3), length (2).
// The record's whole length; nullopt if the version is not SSL 3 / TLS.
std::optional<size_t> RecordFrameLength(ByteReader header) {
  auto type = header.U8();
  auto major = header.U8();
  auto minor = header.U8();
  auto length = header.U16();
  if (!type || !major || !minor || !length || *major != 3) return std::nullopt;
  return kRecordHeaderBytes + size_t{*length};
}

// One direction of a TLS stream: records cut from the TCP bytes and
// handshake messages cut from the records' payloads, each reassembled
// across any split in its own StreamBuffer (nothing copied when they
// arrive whole).
class TlsDirection {
 public:
  // Handshake messages longer than `max_handshake` (header included) fail
  // the direction, counted as `too_long`.
  TlsDirection(size_t max_handshake, DpiAnomaly too_long)
      : max_handshake_(max_handshake), too_long_(too_long) {}

  enum class Status : uint8_t {
    kOk,       // Fed; waiting for more.
    kStopped,  // A message callback had what it wanted; later bytes are ignored.
    kFailed,   // Not TLS, or over a limit (counted).
  };

  // Feeds stream bytes; on_message(const TlsHandshakeMessage&) gets each
  // whole handshake message sent before encryption began and returns false
  // to stop this direction.
  template <typename OnMessage>
  Status Feed(std::span<const uint8_t> data, DpiAnomalies* anomalies, OnMessage&& on_message) {
    if (status_ != Status::kOk) return status_;
    const FrameStatus records = ForEachFrame(
        records_, data, kRecordHeaderBytes, kRecordHeaderBytes + kMaxTlsRecordPayload,
        RecordFrameLength, [&](ByteReader record) {
          auto type = record.U8();
          if (!type || !record.Skip(kRecordHeaderBytes - 1)) return false;  // Framed: never.
          if (*type == kContentChangeCipherSpec || *type == kContentApplicationData) {
            encrypted_ = true;
          }
          if (*type != kContentHandshake || encrypted_) return true;
          const FrameStatus messages = ForEachFrame(
              handshake_, record.rest(), kTlsHandshakeHeaderBytes, max_handshake_,
              TlsHandshakeFrameLength, [&](ByteReader frame) {
                TlsHandshakeMessage m;
                return ReadTlsHandshakeMessage(frame, &m) == TlsHandshakeRead::kMessage &&
                       on_message(m);
              });
          switch (messages) {
            case FrameStatus::kNeedMore:
              return true;
            case FrameStatus::kStopped:
              if (status_ == Status::kOk) status_ = Status::kStopped;
              return false;
            case FrameStatus::kTooLong:
            case FrameStatus::kMalformed:  // A 4-byte header always has a length.
              CountAnomaly(anomalies, too_long_);
              status_ = Status::kFailed;
              return false;
          }
          return false;
        });
    switch (records) {
      case FrameStatus::kNeedMore:
      case FrameStatus::kStopped:  // status_ says why.
        break;
      case FrameStatus::kMalformed:
        CountAnomaly(anomalies, tls_anomaly::kBadRecordVersion);
        status_ = Status::kFailed;
        break;
      case FrameStatus::kTooLong:
        CountAnomaly(anomalies, tls_anomaly::kRecordTooLong);
        status_ = Status::kFailed;
        break;
    }
    if (status_ == Status::kStopped || status_ == Status::kFailed) {
      // Nothing more is read from this direction: give its buffers back.
      records_ = {};
      handshake_ = {};
    }
    return status_;
  }
  // A ChangeCipherSpec or application data record was seen.
  bool encrypted() const { return encrypted_; }
  size_t MemoryUsage() const { return records_.MemoryUsage() + handshake_.MemoryUsage(); }

 private:
  size_t max_handshake_;
  DpiAnomaly too_long_;
  StreamBuffer records_;    // An unfinished record.
  StreamBuffer handshake_;  // An unfinished handshake message.
  bool encrypted_ = false;
  Status status_ = Status::kOk;
};

struct ServerHello {
  uint16_t version = 0;  // Negotiated: supported_versions' if present.
  uint16_t cipher_suite = 0;
};

// RFC 8446 §4.1.3 (and RFC 5246 §7.4.1.3). Nullopt if the message is
// malformed (counted): nothing half-read reaches the record.
std::optional<ServerHello> ParseServerHello(ByteReader r, DpiAnomalies* anomalies) {
  auto legacy = r.U16();
  const bool random = legacy && r.Skip(32);
  auto session_id = random ? r.PrefixedU8() : std::nullopt;
  auto cipher = session_id ? r.U16() : std::nullopt;
  if (!cipher || !r.Skip(1)) {  // The compression method after it.
    CountAnomaly(anomalies, tls_anomaly::kServerHelloTruncated);
    return std::nullopt;
  }
  ServerHello hello{*legacy, *cipher};
  bool versions_ok = true;
  const bool extensions_ok =
      ForEachTlsExtension(r, anomalies, [&](uint16_t type, ByteReader data) {
        if (type != kExtSupportedVersions) return;
        // RFC 8446 §4.2.1: the ServerHello carries one selected version.
        auto selected = data.U16();
        if (!selected || !data.empty()) {
          versions_ok = false;
          return;
        }
        hello.version = *selected;
      });
  if (!versions_ok) CountAnomaly(anomalies, tls_anomaly::kSupportedVersionsMalformed);
  if (!extensions_ok || !versions_ok) return std::nullopt;
  return hello;
}

class TlsSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    TlsDirection& side = from_client ? client_ : server_;
    const TlsDirection::Status status =
        side.Feed(data, anomalies, [&](const TlsHandshakeMessage& m) {
          if (from_client) {
            if (m.type != kTlsClientHello || record->tls->client_hello_seen) return true;
            record->protocol = AppProtocol::kTls;
            if (!ParseClientHello(m.body.rest(), false, &record->tls.mut(), anomalies)) {
              client_hello_failed_ = true;
            }
            return false;  // All the client's side has to tell.
          }
          if (m.type == kTlsCertificate && server_version_ != 0) {
            // TLS <= 1.2: the server's chain in the clear; its leaf's names.
            (void)ParseTlsCertificateMessage(m.body.rest(), &record->tls.mut(), anomalies);
            return false;  // All the server's side has to tell.
          }
          if (m.type == kTlsServerHelloDone) return false;  // No certificate (anonymous, PSK).
          if (m.type != kTlsServerHello || server_version_ != 0) return true;
          // A malformed ServerHello is counted and sets nothing; the
          // server's side has then told all it will.
          auto hello = ParseServerHello(m.body, anomalies);
          if (!hello) return false;
          if (record->tls->version.empty()) {
            record->tls->version = TlsVersionName(hello->version);
            record->tls->cipher_suite = "0x" + Hex4(hello->cipher_suite);
          }
          server_version_ = hello->version;
          // TLS 1.3 (and unknown versions) encrypt the rest; up to 1.2 the
          // Certificate follows in the clear.
          return hello->version >= 0x0300 && hello->version <= 0x0303;
        });
    if (client_hello_failed_) return ParseState::kNotMine;
    if (!from_client && status == TlsDirection::Status::kStopped) server_done_ = true;
    const bool hello = record->tls->client_hello_seen;
    if (status == TlsDirection::Status::kFailed) {
      return hello ? ParseState::kDone : ParseState::kNotMine;
    }
    if (!hello) {
      return from_client && client_.encrypted() ? ParseState::kNotMine : ParseState::kNeedMore;
    }
    // The server's side is over: its hello (and up to TLS 1.2 its
    // certificate) was read or failed, or it went encrypted.
    return server_done_ || server_.encrypted() ? ParseState::kDone : ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return client_.MemoryUsage() + server_.MemoryUsage(); }

 private:
  TlsDirection client_{kMaxTlsHandshakeBytes, tls_anomaly::kHandshakeTooLong};
  // The server's messages up to its Certificate: a chain over
  // kMaxTlsCertificateMessageBytes is given up (counted).
  TlsDirection server_{kMaxTlsCertificateMessageBytes,
                       tls_certificate_anomaly::kCertificateTooLong};
  uint16_t server_version_ = 0;  // The ServerHello's negotiated version, once read.
  bool client_hello_failed_ = false;
  bool server_done_ = false;
};

class TlsDissector final : public Dissector {
 public:
  std::string_view name() const override { return "tls"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client) return false;
    // As much of a record header and a ClientHello's type as has arrived.
    const ByteReader r(data);
    const auto type = r.PeekU8(0);
    const auto major = r.PeekU8(1);
    const auto message = r.PeekU8(kRecordHeaderBytes);
    return type == kContentHandshake && (!major || *major == 3) &&
           (!message || *message == kTlsClientHello);
  }
  bool PortHint(const FlowInfo& flow) const override {
    switch (flow.server_port) {
      case 443: case 8443: case 993: case 995: case 465: case 636: case 853: case 5061:
        return true;
      default:
        return false;
    }
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<TlsSession>();
  }
};

}  // namespace

std::string TlsVersionName(uint16_t version) {
  switch (version) {
    case 0x0304: return "TLS 1.3";
    case 0x0303: return "TLS 1.2";
    case 0x0302: return "TLS 1.1";
    case 0x0301: return "TLS 1.0";
    case 0x0300: return "SSL 3.0";
    default: return "0x" + Hex4(version);
  }
}

bool ParseClientHello(std::span<const uint8_t> body, bool quic, TlsFacts* tls,
                      DpiAnomalies* anomalies) {
  // RFC 8446 §4.1.2.
  ByteReader r(body);
  auto legacy = r.U16();
  if (!legacy || !r.Skip(32)) {
    CountAnomaly(anomalies, tls_anomaly::kClientHelloTruncated);
    return false;
  }
  auto session_id = r.PrefixedU8();
  if (!session_id || session_id->remaining() > 32) {
    CountAnomaly(anomalies, tls_anomaly::kClientHelloBadSessionId);
    return false;
  }
  U16List ciphers;
  auto suites = r.PrefixedU16();
  if (!suites || !ForEachU16(*suites, [&ciphers](uint16_t c) {
        if (!IsGrease(c)) ciphers.push_back(c);
      })) {
    CountAnomaly(anomalies, tls_anomaly::kClientHelloBadCipherSuites);
    return false;
  }
  if (!r.PrefixedU8()) {  // compression_methods
    CountAnomaly(anomalies, tls_anomaly::kClientHelloTruncated);
    return false;
  }
  tls->client_hello_seen = true;
  U16List extensions;
  U16List sigalgs;
  U16List versions;
  std::string first_alpn;
  bool has_sni = false;
  // A malformed extension block is counted; what could be read is kept.
  (void)ForEachTlsExtension(r, anomalies, [&](uint16_t type, ByteReader data) {
    if (!IsGrease(type)) extensions.push_back(type);
    switch (type) {
      case kExtServerName: {
        has_sni = true;  // JA4: the extension, even if empty.
        // RFC 6066 §3: a list of (name_type, name); host_name is type 0.
        auto list = data.PrefixedU16();
        if (!list || !ForEachItem(*list, [tls](ByteReader& entry) {
              auto name_type = entry.U8();
              auto name = name_type ? entry.PrefixedU16() : std::nullopt;
              if (!name) return false;
              if (*name_type == 0 && tls->sni.empty()) {
                tls->sni = TlsPrintable(name->rest(), kMaxSniBytes);
              }
              return true;
            })) {
          CountAnomaly(anomalies, tls_anomaly::kSniLengthPastExtension);
        }
        break;
      }
      case kExtAlpn: {
        // RFC 7301 §3.1: a list of 1-byte-length protocol names.
        auto list = data.PrefixedU16();
        if (!list || !ForEachPrefixedU8(*list, [&](ByteReader proto) {
              if (first_alpn.empty()) first_alpn.assign(proto.rest().begin(), proto.rest().end());
              if (tls->alpn.size() < kMaxAlpnKept) tls->alpn.push_back(TlsPrintable(proto.rest()));
            })) {
          CountAnomaly(anomalies, tls_anomaly::kAlpnLengthPastExtension);
        }
        break;
      }
      case kExtSupportedVersions: {
        // RFC 8446 §4.2.1: a 1-byte-length list of versions.
        auto list = data.PrefixedU8();
        if (!list || !ForEachU16(*list, [&versions](uint16_t v) {
              if (!IsGrease(v)) versions.push_back(v);
            })) {
          CountAnomaly(anomalies, tls_anomaly::kSupportedVersionsMalformed);
        }
        break;
      }
      case kExtSignatureAlgorithms: {
        // RFC 8446 §4.2.3: a 2-byte-length list of schemes.
        auto list = data.PrefixedU16();
        if (!list || !ForEachU16(*list, [&sigalgs](uint16_t v) { sigalgs.push_back(v); })) {
          CountAnomaly(anomalies, tls_anomaly::kSignatureAlgorithmsMalformed);
        }
        break;
      }
      case kExtEch:
        tls->ech_offered = true;
        break;
      default:
        break;
    }
  });
  uint16_t best = *legacy;
  tls->offered_versions.clear();
  if (!versions.empty()) {
    best = *std::max_element(versions.begin(), versions.end());
    for (uint16_t v : versions) tls->offered_versions.push_back(TlsVersionName(v));
  } else {
    tls->offered_versions.push_back(TlsVersionName(*legacy));
  }
  tls->ja4 = Ja4(quic, best, has_sni, ciphers, extensions, first_alpn, sigalgs);
  return true;
}

std::unique_ptr<Dissector> MakeTlsDissector() { return std::make_unique<TlsDissector>(); }

}  // namespace rustnet
