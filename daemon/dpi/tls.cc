#include "daemon/dpi/tls.h"

#include <algorithm>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/crypto.h"

namespace rustnet {
namespace {

constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kContentApplicationData = 23;
constexpr uint8_t kClientHello = 1;
constexpr uint8_t kServerHello = 2;
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

std::string Printable(std::span<const uint8_t> bytes) {
  std::string s;
  s.reserve(bytes.size());
  for (uint8_t c : bytes) s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return s;
}

// Reassembles handshake messages of one direction from TLS records, which
// arrive as in-order stream bytes split anywhere.
class HandshakeStream {
 public:
  // Appends stream bytes; returns false once the stream is not TLS or is
  // over the cap.
  bool Append(std::span<const uint8_t> data, DpiAnomalies* anomalies) {
    if (failed_) return false;
    pending_.insert(pending_.end(), data.begin(), data.end());
    size_t pos = 0;
    while (pending_.size() - pos >= 5) {
      const uint8_t type = pending_[pos];
      const uint16_t len = static_cast<uint16_t>((pending_[pos + 3] << 8) | pending_[pos + 4]);
      if (pending_[pos + 1] != 3) {
        CountAnomaly(anomalies, "tls_bad_record_version");
        failed_ = true;
        return false;
      }
      if (type == kContentChangeCipherSpec || type == kContentApplicationData) {
        encrypted_ = true;
      }
      if (pending_.size() - pos < 5u + len) break;
      if (type == kContentHandshake && !encrypted_) {
        handshake_.insert(handshake_.end(), pending_.begin() + static_cast<ptrdiff_t>(pos + 5),
                          pending_.begin() + static_cast<ptrdiff_t>(pos + 5 + len));
        if (handshake_.size() > kMaxTlsHandshakeBytes) {
          CountAnomaly(anomalies, "tls_handshake_too_long");
          failed_ = true;
          return false;
        }
      }
      pos += 5u + len;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(pos));
    if (pending_.size() > kMaxTlsHandshakeBytes + 5) {
      CountAnomaly(anomalies, "tls_record_too_long");
      failed_ = true;
      return false;
    }
    return true;
  }
  // The next complete handshake message (type, body), consumed.
  bool Next(uint8_t* type, std::vector<uint8_t>* body) {
    if (handshake_.size() < 4) return false;
    const uint32_t len = (uint32_t{handshake_[1]} << 16) | (uint32_t{handshake_[2]} << 8) |
                         handshake_[3];
    if (handshake_.size() < 4u + len) return false;
    *type = handshake_[0];
    body->assign(handshake_.begin() + 4, handshake_.begin() + 4 + len);
    handshake_.erase(handshake_.begin(), handshake_.begin() + 4 + len);
    return true;
  }
  bool encrypted() const { return encrypted_; }
  bool failed() const { return failed_; }
  size_t size() const { return pending_.capacity() + handshake_.capacity(); }

 private:
  std::vector<uint8_t> pending_;    // Record bytes not yet complete.
  std::vector<uint8_t> handshake_;  // Handshake-layer bytes.
  bool encrypted_ = false;
  bool failed_ = false;
};

bool ParseServerHello(std::span<const uint8_t> body, TlsFacts* tls, DpiAnomalies* anomalies) {
  ByteReader r(body);
  auto legacy = r.U16();
  if (!legacy || !r.Skip(32)) {
    CountAnomaly(anomalies, "tls_server_hello_truncated");
    return false;
  }
  auto sid_len = r.U8();
  if (!sid_len || !r.Skip(*sid_len)) {
    CountAnomaly(anomalies, "tls_server_hello_truncated");
    return false;
  }
  auto cipher = r.U16();
  if (!cipher || !r.Skip(1)) {
    CountAnomaly(anomalies, "tls_server_hello_truncated");
    return false;
  }
  uint16_t version = *legacy;
  if (auto ext_len = r.U16()) {
    auto exts = r.Sub(*ext_len);
    while (exts && exts->remaining() >= 4) {
      const uint16_t type = *exts->U16();
      const uint16_t len = *exts->U16();
      auto data = exts->Sub(len);
      if (!data) {
        CountAnomaly(anomalies, "tls_extension_past_end");
        break;
      }
      if (type == kExtSupportedVersions && len == 2) version = *data->U16();
    }
  }
  tls->version = TlsVersionName(version);
  tls->cipher_suite = "0x" + Hex4(*cipher);
  return true;
}

class TlsSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    HandshakeStream& s = from_client ? client_ : server_;
    if (!s.Append(data, anomalies)) {
      return record->tls.client_hello_seen ? ParseState::kDone : ParseState::kNotMine;
    }
    uint8_t type = 0;
    std::vector<uint8_t> body;
    while (s.Next(&type, &body)) {
      if (from_client && type == kClientHello && !record->tls.client_hello_seen) {
        record->protocol = AppProtocol::kTls;
        if (!ParseClientHello(body, false, &record->tls, anomalies)) return ParseState::kNotMine;
      } else if (!from_client && type == kServerHello && record->tls.version.empty()) {
        ParseServerHello(body, &record->tls, anomalies);
      }
    }
    if (!record->tls.client_hello_seen && from_client && s.encrypted()) return ParseState::kNotMine;
    if (record->tls.client_hello_seen && !record->tls.version.empty()) return ParseState::kDone;
    if (record->tls.client_hello_seen && server_.encrypted()) return ParseState::kDone;
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return client_.size() + server_.size(); }

 private:
  HandshakeStream client_;
  HandshakeStream server_;
};

class TlsDissector final : public Dissector {
 public:
  std::string_view name() const override { return "tls"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || !from_client || data.empty()) return false;
    if (data[0] != kContentHandshake) return false;
    if (data.size() >= 2 && data[1] != 3) return false;
    if (data.size() >= 6 && data[5] != kClientHello) return false;
    return true;
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
    CountAnomaly(anomalies, "tls_client_hello_truncated");
    return false;
  }
  auto sid_len = r.U8();
  if (!sid_len || *sid_len > 32 || !r.Skip(*sid_len)) {
    CountAnomaly(anomalies, "tls_client_hello_bad_session_id");
    return false;
  }
  auto cs_len = r.U16();
  auto suites = cs_len ? r.Sub(*cs_len) : std::nullopt;
  if (!suites || *cs_len % 2 != 0) {
    CountAnomaly(anomalies, "tls_client_hello_bad_cipher_suites");
    return false;
  }
  U16List ciphers;
  while (auto c = suites->U16()) {
    if (!IsGrease(*c)) ciphers.push_back(*c);
  }
  auto comp_len = r.U8();
  if (!comp_len || !r.Skip(*comp_len)) {
    CountAnomaly(anomalies, "tls_client_hello_truncated");
    return false;
  }
  tls->client_hello_seen = true;
  U16List extensions;
  U16List sigalgs;
  U16List versions;
  std::string first_alpn;
  bool has_sni = false;
  if (auto ext_len = r.U16()) {
    auto exts = r.Sub(*ext_len);
    if (!exts) {
      CountAnomaly(anomalies, "tls_extensions_past_end");
      exts = ByteReader(r.rest());
    }
    while (exts->remaining() >= 4) {
      const uint16_t type = *exts->U16();
      const uint16_t len = *exts->U16();
      auto data = exts->Sub(len);
      if (!data) {
        CountAnomaly(anomalies, "tls_extension_past_end");
        break;
      }
      if (!IsGrease(type)) extensions.push_back(type);
      if (type == kExtServerName) has_sni = true;  // JA4: the extension, even if empty.
      switch (type) {
        case kExtServerName: {
          // RFC 6066 §3: list of (type, name); host_name is type 0.
          auto list_len = data->U16();
          auto list = list_len ? data->Sub(*list_len) : std::nullopt;
          while (list && list->remaining() >= 3) {
            const uint8_t name_type = *list->U8();
            auto name_len = list->U16();
            auto name = name_len ? list->Bytes(*name_len) : std::nullopt;
            if (!name) {
              CountAnomaly(anomalies, "tls_sni_length_past_extension");
              break;
            }
            if (name_type == 0 && tls->sni.empty()) {
              tls->sni = Printable(name->subspan(0, std::min(name->size(), kMaxSniBytes)));
            }
          }
          break;
        }
        case kExtAlpn: {
          // RFC 7301 §3.1.
          auto list_len = data->U16();
          auto list = list_len ? data->Sub(*list_len) : std::nullopt;
          while (list && !list->empty()) {
            auto n = list->U8();
            auto proto = n ? list->Bytes(*n) : std::nullopt;
            if (!proto) {
              CountAnomaly(anomalies, "tls_alpn_length_past_extension");
              break;
            }
            if (first_alpn.empty()) first_alpn.assign(proto->begin(), proto->end());
            if (tls->alpn.size() < kMaxAlpnKept) tls->alpn.push_back(Printable(*proto));
          }
          break;
        }
        case kExtSupportedVersions: {
          auto n = data->U8();
          auto list = n ? data->Sub(*n) : std::nullopt;
          while (list) {
            auto v = list->U16();
            if (!v) break;
            if (!IsGrease(*v)) versions.push_back(*v);
          }
          break;
        }
        case kExtSignatureAlgorithms: {
          auto n = data->U16();
          auto list = n ? data->Sub(*n) : std::nullopt;
          while (list) {
            auto v = list->U16();
            if (!v) break;
            sigalgs.push_back(*v);
          }
          break;
        }
        case kExtEch:
          tls->ech_offered = true;
          break;
        default:
          break;
      }
    }
  }
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
