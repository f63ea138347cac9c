// HTTP/1.1 upgraded to HTTP/2 over cleartext (RFC 7540 §3.2): "Upgrade: h2c"
// with HTTP2-Settings, accepted by 101, makes the connection HTTP/2.
#include <catch2/catch.hpp>
#include <string>

#include "common/flow_key.h"
#include "daemon/dpi/http.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Split;
using testing::Text;

const FlowInfo kFlow{kIpProtoTcp, 41000, 8080};

const std::string kUpgradeRequest =
    "GET /index.html HTTP/1.1\r\nHost: h2c.example:8080\r\nUser-Agent: curl/7.88.1\r\n"
    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
const std::string kSwitching =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";

TEST_CASE("h2c: an accepted upgrade makes the connection HTTP/2, at any split", "[dpi][http]") {
  auto d = MakeHttpDissector();
  // The server's HTTP/2 SETTINGS frame follows the 101 in the same segment.
  std::string server = kSwitching;
  server.append(std::string("\0\0\0\4\0\0\0\0\0", 9));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    for (uint32_t seed = 1; seed <= (split == Split::kRandom ? 10u : 1u); ++seed) {
      AppRecord r;
      DpiAnomalies a;
      CHECK(testing::FeedSession(*d, kFlow, {{true, Text(kUpgradeRequest)}, {false, Text(server)}},
                                 split, &r, &a, seed) == ParseState::kDone);
      CHECK(r.protocol == AppProtocol::kHttp2);
      CHECK(r.http->host == "h2c.example:8080");
      CHECK(r.http->path == "/index.html");
      CHECK(r.http->status == 101);
      CHECK(r.Label() == "HTTP/2 · h2c.example");
      CHECK(a.empty());
    }
  }
}

TEST_CASE("h2c: the token among others and in any case", "[dpi][http]") {
  auto d = MakeHttpDissector();
  std::string request = kUpgradeRequest;
  request.replace(request.find("Upgrade: h2c"), 12, "upgrade: websocket ,  H2C");
  AppRecord r;
  DpiAnomalies a;
  (void)testing::FeedSession(*d, kFlow, {{true, Text(request)}, {false, Text(kSwitching)}},
                             Split::kWhole, &r, &a);
  CHECK(r.protocol == AppProtocol::kHttp2);
}

TEST_CASE("h2c: refused, not offered, or without HTTP2-Settings stays HTTP/1.1", "[dpi][http]") {
  auto d = MakeHttpDissector();
  auto run = [&](const std::string& request, const std::string& response) {
    AppRecord r;
    DpiAnomalies a;
    (void)testing::FeedSession(*d, kFlow, {{true, Text(request)}, {false, Text(response)}},
                               Split::kWhole, &r, &a);
    return r;
  };
  // The server ignores the offer: 200 over HTTP/1.1.
  AppRecord r = run(kUpgradeRequest, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(r.protocol == AppProtocol::kHttp);
  CHECK(r.http->status == 200);
  // A WebSocket upgrade is not HTTP/2.
  std::string ws = kUpgradeRequest;
  ws.replace(ws.find("Upgrade: h2c"), 12, "Upgrade: websocket");
  CHECK(run(ws, kSwitching).protocol == AppProtocol::kHttp);
  // RFC 7540 §3.2.1: an upgrade request must carry HTTP2-Settings.
  std::string no_settings = kUpgradeRequest;
  no_settings.erase(no_settings.find("HTTP2-Settings: "), 42);
  REQUIRE(no_settings.find("HTTP2-Settings:") == std::string::npos);
  CHECK(run(no_settings, kSwitching).protocol == AppProtocol::kHttp);
  // "h2c" as part of another token is not the token.
  std::string near = kUpgradeRequest;
  near.replace(near.find("Upgrade: h2c"), 12, "Upgrade: h2cx");
  CHECK(run(near, kSwitching).protocol == AppProtocol::kHttp);
}

}  // namespace
}  // namespace rustnet
