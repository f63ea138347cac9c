// HTTP/1.x (RFC 9112): the first request line and headers (method, target,
// Host, User-Agent) and the response status line, from stream bytes split
// anywhere. Lines are cut by the shared StreamBuffer (stream_buffer.h) and
// read through ByteReader.
#include "daemon/dpi/http.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "common/byte_reader.h"
#include "common/flow_key.h"
#include "daemon/dpi/stream_buffer.h"

namespace rustnet {
namespace {

// The request line and headers are read up to this many bytes in all (and
// a line may be that long); beyond, what was parsed is kept.
constexpr size_t kMaxHeaderBytes = 16 * 1024;
// A status line longer than this is not waited for.
constexpr size_t kMaxStatusLine = 512;
constexpr size_t kMaxPathKept = 256;
constexpr size_t kMaxValueKept = 256;
constexpr size_t kMaxTokenKept = 16;

constexpr std::string_view kMethods[] = {"GET",     "POST",  "HEAD",  "PUT",   "DELETE",
                                         "OPTIONS", "PATCH", "TRACE", "CONNECT"};
constexpr std::string_view kResponsePrefix = "HTTP/1.";
// Enough of a stream's start to tell a request or a response ("OPTIONS ").
constexpr size_t kPrefixBytes = 8;

bool EqualsFolded(uint8_t a, char b) {
  return std::tolower(a) == std::tolower(static_cast<unsigned char>(b));
}

// Consumes `prefix` from `r`, case-folded, if that is what comes next.
bool ConsumeFolded(ByteReader& r, std::string_view prefix) {
  ByteReader copy = r;
  auto bytes = copy.Bytes(prefix.size());
  if (!bytes || !std::equal(bytes->begin(), bytes->end(), prefix.begin(), EqualsFolded)) {
    return false;
  }
  r = copy;
  return true;
}

// A field as text: blanks (and a CR) trimmed, at most `max` bytes, controls
// and non-ASCII as '?'.
std::string Clean(std::span<const uint8_t> v, size_t max) {
  auto blank = [](uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!v.empty() && blank(v.front())) v = v.subspan(1);
  while (!v.empty() && blank(v.back())) v = v.first(v.size() - 1);
  v = v.first(std::min(v.size(), max));
  std::string out;
  out.reserve(v.size());
  for (uint8_t c : v) out.push_back(c < 0x20 || c >= 0x7f ? '?' : static_cast<char>(c));
  return out;
}

// True if `start` (the first bytes of a stream, maybe fewer than a method)
// could begin a request line: "GET /".
bool LooksLikeRequest(std::span<const uint8_t> start) {
  for (std::string_view m : kMethods) {
    const size_t n = std::min(start.size(), m.size() + 1);
    auto want = [&m](size_t i) { return i < m.size() ? m[i] : ' '; };
    bool match = n > 0;
    size_t i = 0;
    for (uint8_t c : start.first(n)) match = match && c == static_cast<uint8_t>(want(i++));
    if (match) return true;
  }
  return false;
}

bool LooksLikeResponse(std::span<const uint8_t> start) {
  const auto head = start.first(std::min(start.size(), kResponsePrefix.size()));
  return !head.empty() && std::equal(head.begin(), head.end(), kResponsePrefix.begin());
}

// True if the comma-separated header value `v` lists `token` (case-folded;
// "h2c" in "websocket, h2c").
bool HasToken(std::span<const uint8_t> v, std::string_view token) {
  ByteReader r(v);
  while (!r.empty()) {
    auto item = r.BytesUntil(',');
    std::span<const uint8_t> t = item ? *item : r.rest();
    if (!item) (void)r.Skip(r.remaining());
    auto blank = [](uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!t.empty() && blank(t.front())) t = t.subspan(1);
    while (!t.empty() && blank(t.back())) t = t.first(t.size() - 1);
    if (t.size() == token.size() && std::equal(t.begin(), t.end(), token.begin(), EqualsFolded)) {
      return true;
    }
  }
  return false;
}

// A stream's first kPrefixBytes, gathered across calls (for the checks above).
class StreamStart {
 public:
  void Add(std::span<const uint8_t> data) {
    ByteReader r(data);
    const size_t n = std::min(r.remaining(), bytes_.size() - size_);
    if (auto take = r.Bytes(n)) std::copy(take->begin(), take->end(), bytes_.begin() + size_);
    size_ += static_cast<uint8_t>(n);
  }
  std::span<const uint8_t> bytes() const { return std::span<const uint8_t>(bytes_).first(size_); }
  bool full() const { return size_ == bytes_.size(); }

 private:
  std::array<uint8_t, kPrefixBytes> bytes_{};
  uint8_t size_ = 0;
};

class HttpSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    if (from_client) {
      if (!request_done_) FeedRequest(data, record, anomalies);
      if (!request_ok_) return request_seen_ ? ParseState::kDone : ParseState::kNotMine;
    } else if (!response_done_) {
      if (!server_start_.full()) {
        server_start_.Add(data);
        // Not HTTP from the server: keep what the request told us.
        if (!LooksLikeResponse(server_start_.bytes())) {
          return request_seen_ ? ParseState::kDone : ParseState::kNotMine;
        }
      }
      FeedResponse(data, record, anomalies);
    }
    if (request_done_ && response_done_) return ParseState::kDone;
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return client_.MemoryUsage() + server_.MemoryUsage(); }

 private:
  void FeedRequest(std::span<const uint8_t> data, AppRecord* record, DpiAnomalies* anomalies) {
    if (!client_start_.full()) {
      client_start_.Add(data);
      if (!LooksLikeRequest(client_start_.bytes())) {
        request_ok_ = false;
        request_done_ = true;
        return;
      }
    }
    const FrameStatus status = ForEachLine(client_, data, kMaxHeaderBytes, [&](ByteReader line) {
      header_bytes_ += line.remaining() + 1;
      if (!request_seen_) return RequestLine(line, record, anomalies);
      // Headers up to the blank line.
      if (line.empty() || (line.remaining() == 1 && line.PeekU8() == uint8_t{'\r'})) {
        request_done_ = true;
        return false;
      }
      if (ConsumeFolded(line, "host:")) {
        record->http->host = Clean(line.rest(), kMaxValueKept);
      } else if (ConsumeFolded(line, "user-agent:")) {
        record->http->user_agent = Clean(line.rest(), kMaxValueKept);
      } else if (ConsumeFolded(line, "upgrade:")) {
        upgrade_h2c_ = HasToken(line.rest(), "h2c");
      } else if (ConsumeFolded(line, "http2-settings:")) {
        http2_settings_ = true;
      }
      return header_bytes_ <= kMaxHeaderBytes;
    });
    if (!request_done_ && (status == FrameStatus::kTooLong ||
                           (status == FrameStatus::kNeedMore && header_bytes_ + client_.size() >
                                                                    kMaxHeaderBytes) ||
                           status == FrameStatus::kStopped)) {
      CountAnomaly(anomalies, request_seen_ ? http_anomaly::kHeadersTooLong
                                            : http_anomaly::kRequestLineTooLong);
      request_done_ = true;
    }
    if (request_done_) client_ = {};
  }

  // METHOD SP request-target SP HTTP-version (RFC 9112 §3). False to stop.
  bool RequestLine(ByteReader line, AppRecord* record, DpiAnomalies* anomalies) {
    auto method = line.BytesUntil(' ');
    auto target = method ? line.BytesUntil(' ') : std::nullopt;
    if (!target) {
      CountAnomaly(anomalies, http_anomaly::kBadRequestLine);
      request_done_ = true;
      return false;
    }
    // RTSP and SIP share the request line's shape, not its version.
    constexpr std::string_view kVersionPrefix = "HTTP/";
    const auto version = line.PeekSub(kVersionPrefix.size());
    if (!version || !std::equal(kVersionPrefix.begin(), kVersionPrefix.end(),
                                version->rest().begin())) {
      request_ok_ = false;
      request_done_ = true;
      return false;
    }
    request_seen_ = true;
    record->protocol = AppProtocol::kHttp;
    record->http->method = Clean(*method, kMaxTokenKept);
    record->http->path = Clean(*target, kMaxPathKept);
    record->http->version = Clean(line.rest(), kMaxTokenKept);
    return true;
  }

  // HTTP-version SP status-code SP [reason-phrase] (RFC 9112 §4).
  void FeedResponse(std::span<const uint8_t> data, AppRecord* record, DpiAnomalies* anomalies) {
    const FrameStatus status = ForEachLine(server_, data, kMaxStatusLine, [&](ByteReader line) {
      auto version = line.Bytes(kResponsePrefix.size() + 2);  // "HTTP/1.1 "
      auto digits = version ? line.Bytes(3) : std::nullopt;
      auto digit = [](uint8_t c) { return c >= '0' && c <= '9'; };
      if (!digits || !std::all_of(digits->begin(), digits->end(), digit)) {
        CountAnomaly(anomalies, http_anomaly::kBadStatusLine);
        return false;
      }
      uint16_t code = 0;
      for (uint8_t c : *digits) code = static_cast<uint16_t>(code * 10 + (c - '0'));
      record->http->status = code;
      if (record->protocol == AppProtocol::kUnknown) record->protocol = AppProtocol::kHttp;
      // RFC 7540 §3.2: "Upgrade: h2c" with HTTP2-Settings, accepted with
      // 101: the connection speaks HTTP/2 from here on.
      if (code == 101 && upgrade_h2c_ && http2_settings_) record->protocol = AppProtocol::kHttp2;
      return false;
    });
    if (status == FrameStatus::kTooLong) CountAnomaly(anomalies, http_anomaly::kStatusLineTooLong);
    if (status != FrameStatus::kNeedMore) {
      response_done_ = true;
      server_ = {};
    }
  }

  StreamBuffer client_;
  StreamBuffer server_;
  StreamStart client_start_;
  StreamStart server_start_;
  size_t header_bytes_ = 0;  // Request line and headers read so far.
  bool request_ok_ = true;   // False once the client's bytes are not a request.
  bool request_seen_ = false;
  bool request_done_ = false;
  bool response_done_ = false;
  bool upgrade_h2c_ = false;     // The request's Upgrade header offers h2c.
  bool http2_settings_ = false;  // ... and it carries HTTP2-Settings.
};

class HttpDissector final : public Dissector {
 public:
  std::string_view name() const override { return "http"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || data.empty()) return false;
    ByteReader r(data);
    auto start = r.Bytes(std::min(r.remaining(), kPrefixBytes));
    return start && (from_client ? LooksLikeRequest(*start) : LooksLikeResponse(*start));
  }
  bool PortHint(const FlowInfo& flow) const override {
    return flow.server_port == 80 || flow.server_port == 8080 || flow.server_port == 8000 ||
           flow.server_port == 3128;
  }
  std::unique_ptr<Session> NewSession(const FlowInfo&) const override {
    return std::make_unique<HttpSession>();
  }
};

}  // namespace

std::unique_ptr<Dissector> MakeHttpDissector() { return std::make_unique<HttpDissector>(); }

}  // namespace rustnet
