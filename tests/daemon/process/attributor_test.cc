// The attribution thread end to end on this process's own sockets, and how
// answers merge.
#include "daemon/process/attributor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "catch2/catch.hpp"

namespace rustnet {
namespace {

std::shared_ptr<const ProcessRecord> Record(uint32_t pid, const std::string& name) {
  auto r = std::make_shared<ProcessRecord>();
  r->pid = pid;
  r->name = name;
  return r;
}

std::shared_ptr<const Attribution> Make(std::shared_ptr<const ProcessRecord> a,
                                        AttributionMethod ma,
                                        std::shared_ptr<const ProcessRecord> b = nullptr,
                                        AttributionMethod mb = AttributionMethod::kNone) {
  auto x = std::make_shared<Attribution>();
  x->side[0] = {std::move(a), ma};
  x->side[1] = {std::move(b), mb};
  return x;
}

TEST_CASE("MergeAttribution: better answers replace, worse ones do not", "[process][attributor]") {
  auto server = Record(10, "server");
  auto client = Record(20, "client");
  auto root_only = Record(0, "");
  auto listener = Make(nullptr, AttributionMethod::kNone, server, AttributionMethod::kListener);
  SECTION("first answer is taken whole") {
    CHECK(MergeAttribution(nullptr, listener) == listener);
  }
  SECTION("own socket beats the listener; client side added") {
    auto fresh = Make(client, AttributionMethod::kSocket, server, AttributionMethod::kSocket);
    auto m = MergeAttribution(listener, fresh);
    REQUIRE(m);
    CHECK(m->side[0].process == client);
    CHECK(m->side[1].method == AttributionMethod::kSocket);
  }
  SECTION("a refresh that finds nothing (process gone) keeps what was found") {
    auto empty = Make(nullptr, AttributionMethod::kNone);
    CHECK(MergeAttribution(listener, empty) == nullptr);
  }
  SECTION("only a user does not replace a process") {
    auto weak = Make(nullptr, AttributionMethod::kNone, root_only, AttributionMethod::kSocket);
    auto m = MergeAttribution(listener, weak);
    CHECK(m == nullptr);  // rank(user-only own socket) < rank(process via listener)
  }
  SECTION("the same answer again changes nothing") {
    CHECK(MergeAttribution(listener, Make(nullptr, AttributionMethod::kNone, server,
                                          AttributionMethod::kListener)) == nullptr);
  }
  SECTION("a different process on the own socket replaces (socket handed over)") {
    auto own = Make(nullptr, AttributionMethod::kNone, server, AttributionMethod::kSocket);
    auto other = Make(nullptr, AttributionMethod::kNone, client, AttributionMethod::kSocket);
    auto m = MergeAttribution(own, other);
    REQUIRE(m);
    CHECK(m->side[1].process == client);
  }
}

IpAddress Loopback() {
  const uint8_t lo[4] = {127, 0, 0, 1};
  return IpAddress::FromV4(lo);
}

uint16_t PortOf(int fd, bool peer) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  if (peer) {
    REQUIRE(getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  } else {
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  }
  return ntohs(a.sin_port);
}

TEST_CASE("Attributor: a loopback TCP connection of this process, both ends",
          "[process][attributor][live]") {
  // Server and client sockets in this process.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(listener, 4) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  const uint16_t client_port = PortOf(client, false);
  const uint16_t server_port = PortOf(client, true);

  bool a_is_client = false;
  const FlowKey key = MakeFlowKey(kIpProtoTcp, 4, Loopback(), client_port, Loopback(),
                                  server_port, &a_is_client);
  const int client_side = a_is_client ? 0 : 1;

  absl::Mutex mu;
  std::vector<AttributionResult> got;
  Attributor::Options options;
  options.deliver = [&](std::vector<AttributionResult>&& r) {
    absl::MutexLock lock(&mu);
    for (auto& x : r) got.push_back(std::move(x));
  };
  Attributor attributor(options);
  attributor.Start();

  SECTION("not yet accepted: client by its socket, server by its listener") {
    REQUIRE(attributor.Request(key));
    absl::MutexLock lock(&mu);
    REQUIRE(mu.AwaitWithTimeout(absl::Condition(+[](std::vector<AttributionResult>* v) {
                                  return !v->empty();
                                }, &got),
                                absl::Seconds(10)));
    REQUIRE(got.size() == 1);
    const Attribution& a = *got[0].attribution;
    REQUIRE(a.side[client_side].process);
    CHECK(a.side[client_side].process->pid == static_cast<uint32_t>(getpid()));
    CHECK(a.side[client_side].method == AttributionMethod::kSocket);
    REQUIRE(a.side[1 - client_side].process);
    CHECK(a.side[1 - client_side].method == AttributionMethod::kListener);
    CHECK(a.side[1 - client_side].process == a.side[client_side].process);
  }
  SECTION("accepted: both by their own sockets; stats count it") {
    const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(accepted >= 0);
    REQUIRE(attributor.Request(key));
    {
      absl::MutexLock lock(&mu);
      REQUIRE(mu.AwaitWithTimeout(absl::Condition(+[](std::vector<AttributionResult>* v) {
                                    return !v->empty();
                                  }, &got),
                                  absl::Seconds(10)));
      CHECK(got[0].attribution->side[1 - client_side].method == AttributionMethod::kSocket);
      CHECK(got[0].attribution->side[0].process->name == "rn_unit_tests");
    }
    const AttributorStats s = attributor.Stats();
    CHECK(s.requests == 1);
    CHECK(s.attributed == 1);
    CHECK(s.misses == 0);
    // One connection: answered by per-socket lookups, no table dump.
    CHECK(s.socket_lookup_batches >= 1);
    CHECK(s.socket_dumps == 0);
    CHECK(s.socket_source == "netlink");
    close(accepted);
  }
  SECTION("a connection nobody on this host owns is a miss, with no answer") {
    const uint8_t far[4] = {192, 0, 2, 1};
    bool ignored;
    const FlowKey other = MakeFlowKey(kIpProtoTcp, 4, IpAddress::FromV4(far), 1, Loopback(), 2,
                                      &ignored);
    REQUIRE(attributor.Request(other));
    for (int i = 0; i < 1000 && attributor.Stats().misses == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(attributor.Stats().misses == 1);
    absl::MutexLock lock(&mu);
    CHECK(got.empty());
  }
  attributor.Stop();
  close(client);
  close(listener);
}

TEST_CASE("Attributor: a full queue drops and counts", "[process][attributor]") {
  Attributor::Options options;
  options.max_pending = 3;
  Attributor attributor(options);  // Not started: nothing drains the queue.
  FlowKey k;
  k.protocol = kIpProtoUdp;
  for (int i = 0; i < 5; ++i) attributor.Request(k);
  CHECK(attributor.Stats().dropped == 2);
}

}  // namespace
}  // namespace rustnet
