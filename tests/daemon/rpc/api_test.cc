// The Monitor service in-process, over a real Unix socket: a Pipeline
// replays a fixture capture, the ApiServer serves it, and a generated stub
// calls it through the socket.
#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon/capture/pcap_source.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/rpc/monitor_service.h"
#include "daemon/rpc/server.h"
#include "rustnet/v1/monitor.grpc.pb.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;

// A daemon in a box: pipeline over a fixture, service, server.
struct Daemon {
  explicit Daemon(int max_streams = 8, const std::string& fixture = "http.pcap") {
    auto source = PcapSource::OpenFile(std::string(RUSTNET_FIXTURES_DIR) + "/" + fixture, "");
    REQUIRE(source.ok());
    PipelineOptions p;
    p.workers = 2;
    p.events = &events;
    pipeline = std::make_unique<Pipeline>(p, std::move(*source));
    pipeline->Start();
    pipeline->Join();  // The file is small: serve the final table.
    MonitorServiceOptions so;
    so.version = "test";
    so.max_streams = max_streams;
    so.workers = 2;
    service = std::make_unique<MonitorService>(so, pipeline.get(), &events);
    ApiServerOptions ao;
    ao.socket_path = dir + "/s.sock";
    ao.max_streams = max_streams;
    auto started = ApiServer::Start(ao, service.get());
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    server = std::move(*started);
    stub = v1::Monitor::NewStub(
        grpc::CreateChannel("unix:" + ao.socket_path, grpc::InsecureChannelCredentials()));
  }
  ~Daemon() {
    stub.reset();
    server.reset();
  }
  size_t Connections() const {
    size_t n = 0;
    pipeline->ForEachConnection([&n](const Connection&) { ++n; });
    return n;
  }

  testing::TempDir tmp{"rn-api-test"};  // Removed last: the socket is in it.
  std::string dir = tmp.path();
  EventHub events;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<MonitorService> service;
  std::unique_ptr<ApiServer> server;
  std::unique_ptr<v1::Monitor::Stub> stub;
};

grpc::Status List(Daemon& d, const v1::ListConnectionsRequest& req,
                  v1::ListConnectionsResponse* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return d.stub->ListConnections(&ctx, req, resp);
}

TEST_CASE("api: ListConnections returns the whole table", "[api]") {
  Daemon d;
  v1::ListConnectionsResponse resp;
  REQUIRE(List(d, {}, &resp).ok());
  CHECK(resp.total() == d.Connections());
  CHECK(resp.matched() == resp.total());
  CHECK(static_cast<size_t>(resp.connections_size()) == d.Connections());
  CHECK(resp.snapshot_time().seconds() > 1'600'000'000);
  // Default order: first seen, oldest first.
  for (int i = 1; i < resp.connections_size(); ++i) {
    const auto& a = resp.connections(i - 1).first_seen();
    const auto& b = resp.connections(i).first_seen();
    CHECK((a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() <= b.nanos())));
  }
}

TEST_CASE("api: filters select exactly the matching rows", "[api]") {
  Daemon d;
  v1::ListConnectionsResponse all;
  REQUIRE(List(d, {}, &all).ok());
  std::map<v1::Protocol, uint64_t> by_proto;
  uint64_t port8080 = 0;
  for (const auto& c : all.connections()) {
    ++by_proto[c.protocol()];
    if (c.local().port() == 8080 || c.remote().port() == 8080) ++port8080;
  }
  REQUIRE(by_proto[v1::PROTOCOL_TCP] > 0);

  v1::ListConnectionsRequest req;
  req.set_filter("proto:tcp");
  v1::ListConnectionsResponse tcp;
  REQUIRE(List(d, req, &tcp).ok());
  CHECK(tcp.matched() == by_proto[v1::PROTOCOL_TCP]);
  CHECK(tcp.total() == all.total());
  for (const auto& c : tcp.connections()) CHECK(c.protocol() == v1::PROTOCOL_TCP);

  req.set_filter("port:8080 -proto:udp");
  v1::ListConnectionsResponse port;
  REQUIRE(List(d, req, &port).ok());
  CHECK(port.matched() == port8080);

  req.set_filter("proto:arp");
  v1::ListConnectionsResponse arp;
  REQUIRE(List(d, req, &arp).ok());
  CHECK(arp.matched() == by_proto[v1::PROTOCOL_ARP]);
}

TEST_CASE("api: sort and pages concatenate to the full order", "[api]") {
  Daemon d;
  v1::ListConnectionsRequest req;
  req.set_sort(v1::SORT_FIELD_BYTES_TOTAL);
  req.set_order(v1::SORT_ORDER_DESCENDING);
  v1::ListConnectionsResponse full;
  REQUIRE(List(d, req, &full).ok());
  REQUIRE(full.connections_size() >= 4);
  auto total = [](const v1::Connection& c) { return c.sent().bytes() + c.received().bytes(); };
  for (int i = 1; i < full.connections_size(); ++i) {
    CHECK(total(full.connections(i - 1)) >= total(full.connections(i)));
  }
  std::vector<uint64_t> paged;
  for (uint32_t offset = 0; offset < full.matched(); offset += 3) {
    req.set_offset(offset);
    req.set_limit(3);
    v1::ListConnectionsResponse page;
    REQUIRE(List(d, req, &page).ok());
    CHECK(page.offset() == offset);
    CHECK(page.matched() == full.matched());
    for (const auto& c : page.connections()) paged.push_back(c.id());
  }
  std::vector<uint64_t> expected;
  for (const auto& c : full.connections()) expected.push_back(c.id());
  CHECK(paged == expected);

  req.set_offset(10'000);
  v1::ListConnectionsResponse past;
  REQUIRE(List(d, req, &past).ok());
  CHECK(past.connections_size() == 0);
  CHECK(past.matched() == full.matched());
}

TEST_CASE("api: a bad filter or enum is INVALID_ARGUMENT with the column", "[api]") {
  Daemon d;
  v1::ListConnectionsRequest req;
  req.set_filter("proto:tcp prot:udp");
  v1::ListConnectionsResponse resp;
  grpc::Status s = List(d, req, &resp);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("column 11") != std::string::npos);

  v1::ListConnectionsRequest bad_sort;
  bad_sort.set_sort(static_cast<v1::SortField>(99));
  s = List(d, bad_sort, &resp);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("api: a 3 MB request is refused and the server keeps answering", "[api]") {
  Daemon d;
  v1::ListConnectionsRequest req;
  req.set_filter(std::string(3 << 20, 'a'));
  v1::ListConnectionsResponse resp;
  CHECK(List(d, req, &resp).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(List(d, {}, &resp).ok());
}

TEST_CASE("api: WatchConnections streams numbered updates", "[api]") {
  Daemon d;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchConnectionsRequest req;
  req.set_interval_ms(10);  // Raised to the 100 ms floor.
  req.set_limit(2);
  auto reader = d.stub->WatchConnections(&ctx, req);
  v1::ConnectionsUpdate u;
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(reader->Read(&u));
  CHECK(u.sequence() == 1);
  CHECK(u.page().connections_size() == 2);
  REQUIRE(reader->Read(&u));
  CHECK(u.sequence() == 2);
  REQUIRE(reader->Read(&u));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(190));
  ctx.TryCancel();
  while (reader->Read(&u)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("api: streams past the limit get RESOURCE_EXHAUSTED, slots come back", "[api]") {
  Daemon d(/*max_streams=*/2);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ConnectionsUpdate>>> readers;
  v1::WatchConnectionsRequest req;
  req.set_interval_ms(100);
  // Each stream is open (its first update read) before the next starts: the
  // server sees three calls in a known order. A deadline on every call bounds
  // every Read and Finish, so a wrong answer fails instead of waiting.
  v1::ConnectionsUpdate u;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    readers.push_back(d.stub->WatchConnections(contexts.back().get(), req));
    if (i < 2) CHECK(readers.back()->Read(&u));
  }
  CHECK_FALSE(readers[2]->Read(&u));
  CHECK(readers[2]->Finish().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  for (size_t i = 0; i < 2; ++i) {
    contexts[i]->TryCancel();
    while (readers[i]->Read(&u)) {
    }
    readers[i]->Finish();
  }
  for (int i = 0; i < 50 && d.service->active_streams() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(d.service->active_streams() == 0);
  grpc::ClientContext again;
  again.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = d.stub->WatchConnections(&again, req);
  CHECK(reader->Read(&u));
  again.TryCancel();
  while (reader->Read(&u)) {
  }
  reader->Finish();
}

TEST_CASE("api: GetStats agrees with the table and the file", "[api]") {
  Daemon d;
  grpc::ClientContext ctx;
  v1::Stats stats;
  REQUIRE(d.stub->GetStats(&ctx, v1::GetStatsRequest(), &stats).ok());
  CHECK(stats.version() == "test");
  REQUIRE(stats.captures_size() == 1);
  CHECK(stats.captures(0).name().find("http.pcap") != std::string::npos);
  CHECK_FALSE(stats.captures(0).live());
  CHECK(stats.captures(0).link_type() == "ethernet");
  CHECK(stats.captures(0).finished());
  CHECK(stats.captures(0).received() == stats.pipeline().packets());
  CHECK(stats.pipeline().packets() > 0);
  CHECK(stats.connections().current() == d.Connections());
  uint64_t sum = 0;
  for (const auto& [proto, n] : stats.connections().by_protocol()) sum += n;
  CHECK(sum == d.Connections());
  CHECK(stats.connections().by_protocol().at("tcp") > 0);
  CHECK(stats.api().max_streams() == 8);
}

TEST_CASE("api: socket is 0660; a second server on it is refused; shutdown removes it",
          "[api]") {
  auto d = std::make_unique<Daemon>();
  const std::string path = d->dir + "/s.sock";
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);

  ApiServerOptions ao;
  ao.socket_path = "unix:" + path;
  auto second = ApiServer::Start(ao, d->service.get());
  REQUIRE_FALSE(second.ok());
  CHECK(std::string(second.status().message()).find("another rustnetd is running on " + path) !=
        std::string::npos);

  d->server->Shutdown(absl::Seconds(1));
  CHECK(stat(path.c_str(), &st) != 0);
}

TEST_CASE("api: a stale socket is replaced; a non-socket file is refused", "[api]") {
  const testing::TempDir tmp("rn-api-test");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/stale.sock";
  // A socket file nobody listens on, as a killed daemon leaves behind.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  close(fd);

  EventHub events;
  auto source = PcapSource::OpenFile(std::string(RUSTNET_FIXTURES_DIR) + "/dns.pcap", "");
  REQUIRE(source.ok());
  Pipeline pipeline(PipelineOptions{}, std::move(*source));
  MonitorService service(MonitorServiceOptions{}, &pipeline, &events);
  ApiServerOptions ao;
  ao.socket_path = path;
  auto server = ApiServer::Start(ao, &service);
  INFO(server.status().ToString());
  CHECK(server.ok());
  server = absl::StatusOr<std::unique_ptr<ApiServer>>(nullptr);

  const std::string file = dir + "/plain";
  FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  ao.socket_path = file;
  auto refused = ApiServer::Start(ao, &service);
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string(refused.status().message()).find("is not a socket") != std::string::npos);
}

}  // namespace
}  // namespace rustnet
