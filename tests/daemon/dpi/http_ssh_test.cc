#include <catch2/catch.hpp>

#include "common/flow_key.h"
#include "daemon/dpi/http.h"
#include "daemon/dpi/ssh.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Chunk;
using testing::Split;
using testing::Text;

TEST_CASE("http: request and response at every split", "[dpi][http]") {
  auto d = MakeHttpDissector();
  const FlowInfo flow{kIpProtoTcp, 40000, 8888};  // Not a port HTTP is expected on.
  const std::vector<Chunk> chunks = {
      {true, Text("GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\n"
                  "User-Agent: curl/8.0\r\nAccept: */*\r\n\r\n")},
      {false, Text("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, flow, chunks, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kHttp);
    CHECK(r.http->method == "GET");
    CHECK(r.http->path == "/index.html?q=1");
    CHECK(r.http->host == "www.example.com");
    CHECK(r.http->user_agent == "curl/8.0");
    CHECK(r.http->version == "HTTP/1.1");
    CHECK(r.http->status == 404);
    CHECK(r.Label() == "HTTP \u00b7 www.example.com");
  }
}

TEST_CASE("http: header names fold case; a non-HTTP stream is not ours", "[dpi][http]") {
  auto d = MakeHttpDissector();
  const FlowInfo flow{kIpProtoTcp, 40000, 80};
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, flow, {{true, Text("POST / HTTP/1.0\r\nHOST: a.test\r\n\r\n")}},
                       Split::kWhole, &r, &a);
  CHECK(r.http->host == "a.test");
  AppRecord other;
  CHECK(testing::FeedSession(*d, flow, {{true, Text("SSH-2.0-x\r\n")}}, Split::kWhole, &other,
                             &a) == ParseState::kNotMine);
  CHECK(d->Probe(flow, true, Text("GE")));
  CHECK_FALSE(d->Probe(flow, true, Text("GX")));
  CHECK(d->Probe(flow, false, Text("HTTP/1.1 200")));
}

TEST_CASE("http: http_headers_too_long stops waiting but keeps what was read",
          "[dpi][http]") {
  auto d = MakeHttpDissector();
  std::string request = "GET / HTTP/1.1\r\nHost: big.test\r\n";
  for (int i = 0; i < 2000; ++i) request += "X-Filler: 0123456789\r\n";
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, FlowInfo{kIpProtoTcp, 1, 80}, {{true, Text(request)}},
                       Split::kRandom, &r, &a);
  CHECK(r.http->host == "big.test");
  CHECK(a["http_headers_too_long"] == 1);
}

TEST_CASE("ssh: both identification strings at every split", "[dpi][ssh]") {
  auto d = MakeSshDissector();
  const FlowInfo flow{kIpProtoTcp, 50000, 2222};
  const std::vector<Chunk> chunks = {
      {false, Text("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")},
      {true, Text("SSH-2.0-libssh_0.10\r\n")},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, flow, chunks, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kSsh);
    CHECK(r.ssh->server == "SSH-2.0-OpenSSH_9.2p1 Debian-2");
    CHECK(r.ssh->client == "SSH-2.0-libssh_0.10");
  }
}

TEST_CASE("ssh: identification strings split into protocol, software, comments",
          "[dpi][ssh]") {
  const SshIdentification a = SplitSshIdentification("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
  CHECK(a.protocol == "2.0");
  CHECK(a.software == "OpenSSH_9.2p1");
  CHECK(a.comments == "Debian-2+deb12u3");
  const SshIdentification b = SplitSshIdentification("SSH-1.99-dropbear_2022.83");
  CHECK(b.protocol == "1.99");
  CHECK(b.software == "dropbear_2022.83");
  CHECK(b.comments.empty());
  CHECK(SplitSshIdentification("SSH-2.0").software.empty());
  CHECK(SplitSshIdentification("HTTP/1.1 200").protocol.empty());
  CHECK(SplitSshIdentification("").protocol.empty());
}

TEST_CASE("ssh: a server may greet with other lines first; limits are counted",
          "[dpi][ssh]") {
  auto d = MakeSshDissector();
  const FlowInfo flow{kIpProtoTcp, 50000, 22};
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, flow, {{false, Text("Welcome\r\nSSH-2.0-srv\r\n")}}, Split::kWhole, &r,
                       &a);
  CHECK(r.ssh->server == "SSH-2.0-srv");
  AppRecord longline;
  testing::FeedSession(*d, flow, {{true, Text("SSH-" + std::string(300, 'x'))}}, Split::kWhole,
                       &longline, &a);
  CHECK(a["ssh_identification_too_long"] == 1);
}

TEST_CASE("http: malformed and overlong lines are counted by name", "[dpi][http]") {
  auto d = MakeHttpDissector();
  const FlowInfo flow{kIpProtoTcp, 40000, 80};
  struct Case {
    std::vector<Chunk> chunks;
    const char* anomaly;
  };
  const std::vector<Case> cases = {
      {{{true, Text("GET /only-one-space\r\n\r\n")}}, "http_bad_request_line"},
      {{{true, Text("GET /" + std::string(17000, 'a'))}}, "http_request_line_too_long"},
      {{{true, Text("GET / HTTP/1.1\r\n\r\n")}, {false, Text("HTTP/1.1 2x0 Odd\r\n")}},
       "http_bad_status_line"},
      {{{true, Text("GET / HTTP/1.1\r\n\r\n")}, {false, Text("HTTP/1.1 " + std::string(600, '9'))}},
       "http_status_line_too_long"},
  };
  for (const Case& c : cases) {
    for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
      INFO(c.anomaly);
      AppRecord r;
      DpiAnomalies a;
      testing::FeedSession(*d, flow, c.chunks, split, &r, &a);
      CHECK(a == DpiAnomalies{{c.anomaly, 1}});
      CHECK(r.http->status == 0);
    }
  }
}

TEST_CASE("http: lines may end in a bare LF (RFC 9112 §2.2)", "[dpi][http]") {
  auto d = MakeHttpDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, FlowInfo{kIpProtoTcp, 1, 80},
                             {{true, Text("GET /lf HTTP/1.0\nHost: lf.test\n\n")},
                              {false, Text("HTTP/1.0 200 OK\n\n")}},
                             Split::kRandom, &r, &a) == ParseState::kDone);
  CHECK(r.http->path == "/lf");
  CHECK(r.http->host == "lf.test");
  CHECK(r.http->version == "HTTP/1.0");
  CHECK(r.http->status == 200);
  CHECK(a.empty());
}

TEST_CASE("ssh: a client that opens with another line is ssh_no_identification", "[dpi][ssh]") {
  auto d = MakeSshDissector();
  for (Split split : {Split::kWhole, Split::kByteByByte}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, FlowInfo{kIpProtoTcp, 50000, 22},
                               {{true, Text("hello\r\nSSH-2.0-late\r\n")}}, split, &r,
                               &a) == ParseState::kNotMine);
    CHECK(a == DpiAnomalies{{"ssh_no_identification", 1}});
  }
}

}  // namespace
}  // namespace rustnet
