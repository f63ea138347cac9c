// HTTP/1.x (RFC 9112): the first request line and headers (method, target,
// Host, User-Agent) and the response status line, from stream bytes split
// anywhere.
#include "daemon/dpi/http.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "common/flow_key.h"

namespace rustnet {
namespace {

// Headers beyond this are not waited for (what was parsed is kept).
constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxPathKept = 256;
constexpr size_t kMaxValueKept = 256;

constexpr std::string_view kMethods[] = {"GET",     "POST",  "HEAD",  "PUT",   "DELETE",
                                         "OPTIONS", "PATCH", "TRACE", "CONNECT"};

bool StartsWithFolded(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string Clean(std::string_view v, size_t max) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  std::string out(v.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return out;
}

// True if `data` is a (possibly partial) request line start: "GET /".
bool LooksLikeRequest(std::string_view data) {
  for (std::string_view m : kMethods) {
    const size_t n = std::min(data.size(), m.size() + 1);
    std::string want(m);
    want += ' ';
    if (n > 0 && data.substr(0, n) == std::string_view(want).substr(0, n)) return true;
  }
  return false;
}

bool LooksLikeResponse(std::string_view data) {
  constexpr std::string_view kPrefix = "HTTP/1.";
  const size_t n = std::min(data.size(), kPrefix.size());
  return n > 0 && data.substr(0, n) == kPrefix.substr(0, n);
}

class HttpSession final : public Session {
 public:
  ParseState Feed(bool from_client, std::span<const uint8_t> data, AppRecord* record,
                  DpiAnomalies* anomalies) override {
    std::string& buf = from_client ? client_ : server_;
    bool& done = from_client ? request_done_ : response_done_;
    if (!done) {
      const size_t take = std::min(data.size(), kMaxHeaderBytes + 4 - std::min(buf.size(),
                                                                               kMaxHeaderBytes + 4));
      buf.append(reinterpret_cast<const char*>(data.data()), take);
      if (from_client) {
        if (!LooksLikeRequest(buf)) return request_seen_ ? ParseState::kDone : ParseState::kNotMine;
        ParseRequest(record, anomalies);
      } else {
        if (!LooksLikeResponse(buf)) {
          // Not HTTP from the server: keep what the request told us.
          return request_seen_ ? ParseState::kDone : ParseState::kNotMine;
        }
        ParseResponse(record);
      }
    }
    if (request_done_ && response_done_) return ParseState::kDone;
    return ParseState::kNeedMore;
  }
  size_t MemoryUsage() const override { return client_.capacity() + server_.capacity(); }

 private:
  void ParseRequest(AppRecord* record, DpiAnomalies* anomalies) {
    const size_t line_end = client_.find("\r\n");
    if (line_end == std::string::npos) {
      if (client_.size() > kMaxHeaderBytes) {
        CountAnomaly(anomalies, "http_request_line_too_long");
        request_done_ = true;
      }
      return;
    }
    if (!request_seen_) {
      // METHOD SP target SP HTTP/x.y
      const std::string_view line(client_.data(), line_end);
      const size_t sp1 = line.find(' ');
      const size_t sp2 = line.rfind(' ');
      if (sp1 == std::string_view::npos || sp2 == sp1) {
        CountAnomaly(anomalies, "http_bad_request_line");
        request_done_ = true;
        return;
      }
      request_seen_ = true;
      record->protocol = AppProtocol::kHttp;
      record->http.method = Clean(line.substr(0, sp1), 16);
      record->http.path = Clean(line.substr(sp1 + 1, sp2 - sp1 - 1), kMaxPathKept);
      record->http.version = Clean(line.substr(sp2 + 1), 16);
    }
    // Headers: parse every complete line; stop at the blank line.
    size_t pos = line_end + 2;
    while (true) {
      const size_t end = client_.find("\r\n", pos);
      if (end == std::string::npos) break;
      if (end == pos) {
        request_done_ = true;
        break;
      }
      const std::string_view h(client_.data() + pos, end - pos);
      if (StartsWithFolded(h, "host:")) {
        record->http.host = Clean(h.substr(5), kMaxValueKept);
      } else if (StartsWithFolded(h, "user-agent:")) {
        record->http.user_agent = Clean(h.substr(11), kMaxValueKept);
      }
      pos = end + 2;
    }
    if (!request_done_ && client_.size() > kMaxHeaderBytes) {
      CountAnomaly(anomalies, "http_headers_too_long");
      request_done_ = true;
    }
    if (request_done_) client_ = {};
  }

  void ParseResponse(AppRecord* record) {
    const size_t line_end = server_.find("\r\n");
    if (line_end == std::string::npos) {
      if (server_.size() > 512) response_done_ = true;
      return;
    }
    // HTTP/1.1 200 OK
    const std::string_view line(server_.data(), line_end);
    if (line.size() >= 12 && std::isdigit(static_cast<unsigned char>(line[9])) &&
        std::isdigit(static_cast<unsigned char>(line[10])) &&
        std::isdigit(static_cast<unsigned char>(line[11]))) {
      record->http.status = static_cast<uint16_t>((line[9] - '0') * 100 + (line[10] - '0') * 10 +
                                                  (line[11] - '0'));
      if (record->protocol == AppProtocol::kUnknown) record->protocol = AppProtocol::kHttp;
    }
    response_done_ = true;
    server_ = {};
  }

  std::string client_;
  std::string server_;
  bool request_seen_ = false;
  bool request_done_ = false;
  bool response_done_ = false;
};

class HttpDissector final : public Dissector {
 public:
  std::string_view name() const override { return "http"; }
  bool Probe(const FlowInfo& flow, bool from_client,
             std::span<const uint8_t> data) const override {
    if (flow.transport != kIpProtoTcp || data.empty()) return false;
    const std::string_view s(reinterpret_cast<const char*>(data.data()),
                             std::min<size_t>(data.size(), 16));
    return from_client ? LooksLikeRequest(s) : LooksLikeResponse(s);
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
