// The metrics HTTP server over a real loopback socket: HEAD gets the
// headers a GET gets (Content-Length the body's length) and no body.
#include "daemon/export/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include <cctype>

namespace rustnet {
namespace {

// One request on a new connection ("Connection: close"); everything the
// server sent until it closed.
std::string Exchange(uint16_t port, const std::string& method, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{30, 0};  // Only so that a broken server fails the test instead of hanging it.
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string request = method;
  request.append(" ").append(path).append(
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

struct Response {
  std::string status_line;
  std::string content_length;  // Empty: no such header.
  std::string body;            // All that followed the headers.
};

Response Parse(const std::string& raw) {
  Response r;
  const size_t end = raw.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  r.body = raw.substr(end + 4);
  size_t start = 0;
  bool first = true;
  while (start < end) {
    size_t eol = raw.find("\r\n", start);
    if (eol == std::string::npos || eol > end) eol = end;
    const std::string line = raw.substr(start, eol - start);
    start = eol + 2;
    if (first) {
      r.status_line = line;
      first = false;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name != "content-length") continue;
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    r.content_length = line.substr(v);
  }
  return r;
}

TEST_CASE("metrics server: HEAD sends the Content-Length a GET would, and no body",
          "[metrics]") {
  // A body of its own length (not a size libmicrohttpd would pick).
  std::string exposition = "# HELP x X.\n# TYPE x gauge\nx";
  exposition.append(12'345, 'a');
  exposition.append(" 1\n");
  MetricsServerOptions o;
  o.listen = "127.0.0.1:0";
  o.render = [&exposition](ExpositionFormat) { return exposition; };
  auto server = MetricsServer::Start(std::move(o));
  REQUIRE(server.ok());
  const uint16_t port = (*server)->port();
  REQUIRE(port != 0);

  const Response get = Parse(Exchange(port, "GET", "/metrics"));
  CHECK(get.status_line == "HTTP/1.1 200 OK");
  CHECK(get.content_length == std::to_string(exposition.size()));
  CHECK(get.body == exposition);

  const Response head = Parse(Exchange(port, "HEAD", "/metrics"));
  CHECK(head.status_line == "HTTP/1.1 200 OK");
  CHECK(head.content_length == std::to_string(exposition.size()));
  CHECK(head.body.empty());

  // The index page and a 404 too: HEAD's length is GET's.
  for (const char* path : {"/", "/nope"}) {
    INFO(path);
    const Response g = Parse(Exchange(port, "GET", path));
    const Response h = Parse(Exchange(port, "HEAD", path));
    CHECK(h.status_line == g.status_line);
    CHECK(!g.body.empty());
    CHECK(g.content_length == std::to_string(g.body.size()));
    CHECK(h.content_length == g.content_length);
    CHECK(h.body.empty());
  }
  const MetricsServer::Stats st = (*server)->stats();
  CHECK(st.scrapes == 2);  // GET and HEAD of /metrics.
  CHECK(st.errors == 2);   // The two requests for /nope.
}

}  // namespace
}  // namespace rustnet
