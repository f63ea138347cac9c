// The history store: rows in = rows out, batching, restarts, a crash,
// retention, a full queue, faults (file deleted, replaced, disk full,
// read-only directory) and queries. Tagged [history_store].
#include "daemon/history_store/history_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_join.h"
#include "daemon/history_store/schema.h"
#include "daemon/snapshot/convert.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// An hour ago: inside the default 30-day retention.
const int64_t kNowUs = absl::ToUnixMicros(absl::Now()) - 3'600'000'000;

struct TempTree {
  testing::TempDir tmp{"rn_history"};
  std::string dir = tmp.path();
};

// "10.0.0.1" (tests/test_util.h; it throws on a bad literal).
constexpr auto V4 = &testing::Addr;

std::shared_ptr<const ProcessRecord> Process(uint32_t pid, const std::string& name,
                                             const std::string& user) {
  auto p = std::make_shared<ProcessRecord>();
  p->pid = pid;
  p->uid = pid == 0 ? 1000 : pid + 1000;
  p->name = name;
  p->user = user;
  p->executable = "/usr/bin/" + name;
  p->command_line = {name, "--flag", "with \"quotes\" and \\ and \t tab"};
  p->cgroup = "/system.slice/" + name + ".service";
  p->unit = name + ".service";
  p->user_unit = "app.scope";
  p->container_runtime = "docker";
  p->container_id = "abc123";
  p->started_us = kNowUs - 5'000'000;
  return p;
}

// Connection `i`: the kind of connection cycles through TCP with TLS and a
// process, UDP with DNS, ICMP, ARP, HTTP, QUIC, SSH, DHCP, and bare TCP.
Connection MakeConnection(uint64_t i, int64_t first_seen_us) {
  Connection c;
  c.id = i;
  const int kind = static_cast<int>(i % 9);
  uint8_t remote[4] = {93, 184, static_cast<uint8_t>(i / 256 % 256), static_cast<uint8_t>(i % 256)};
  c.key.addr_a = V4("10.0.0.2");
  c.key.addr_b = IpAddress::FromV4(remote);
  c.key.ip_version = 4;
  c.key.port_a = static_cast<uint16_t>(40000 + i % 20000);
  c.key.port_b = 443;
  c.key.protocol = kIpProtoTcp;
  c.first_seen_us = first_seen_us;
  c.last_seen_us = first_seen_us + 2'000'000;
  c.packets[0] = 10 + i;
  c.packets[1] = 20 + i;
  c.bytes[0] = 1000 + i * 7;
  c.bytes[1] = 5000 + i * 13;
  c.state = ConnState::kEstablished;
  c.mac[0] = {2, 0, 0, 0, 0, 1};
  c.mac[1] = {2, 0, 0, 0, 0, 2};
  auto app = std::make_shared<AppRecord>();
  switch (kind) {
    case 0: {
      c.tcp.handshake_rtt_us = 12'345;
      c.tcp.retransmissions = 3;
      c.tcp.out_of_order = 2;
      c.tcp.zero_windows = 1;
      c.tcp_flags_seen = 0x1b;
      app->protocol = AppProtocol::kTls;
      app->tls->sni = "example.com";
      app->tls->alpn = {"h2", "http/1.1"};
      app->tls->offered_versions = {"TLS 1.3", "TLS 1.2"};
      app->tls->version = "TLS 1.3";
      app->tls->cipher_suite = "0x1301";
      app->tls->ech_offered = true;
      app->tls->ja4 = "t13d1516h2_8daaf6152771_b186095e22b6";
      app->tls->client_hello_seen = true;
      auto attribution = std::make_shared<Attribution>();
      attribution->side[0] = {Process(static_cast<uint32_t>(100 + i), "curl", "alice"),
                              AttributionMethod::kSocket};
      attribution->side[1] = {Process(7, "nginx", "www-data"), AttributionMethod::kListener};
      c.attribution = attribution;
      break;
    }
    case 1:
      c.key.protocol = kIpProtoUdp;
      c.key.port_b = 53;
      app->protocol = AppProtocol::kDns;
      app->dns->query = "example.org";
      app->dns->query_type = "AAAA";
      app->dns->response_code = "NOERROR";
      app->dns->answers = {"2001:db8::1", "odd\"name\\\x01"};
      c.state = ConnState::kActive;
      break;
    case 2:
      c.key.protocol = kIpProtoIcmp;
      c.key.port_a = c.key.port_b = 77;
      c.icmp.type = 8;
      c.state = ConnState::kActive;
      app.reset();
      break;
    case 3:
      c.key.protocol = kPseudoProtoArp;
      c.key.port_a = c.key.port_b = 0;
      c.arp.requests = 2;
      c.arp.replies = 1;
      c.arp.resolved = {2, 0, 0, 0, 0, 9};
      c.state = ConnState::kActive;
      app.reset();
      break;
    case 4:
      c.key.port_b = 80;
      app->protocol = AppProtocol::kHttp;
      app->http = {"GET", "www.example.net", "/index.html", "curl/8", "HTTP/1.1", 200};
      c.dns_name = std::make_shared<const std::string>("cached.example");
      break;
    case 5:
      c.key.protocol = kIpProtoUdp;
      app->protocol = AppProtocol::kQuic;
      app->quic_version = "v1";
      app->tls->sni = "quic.example";
      app->tls->alpn = {"h3"};
      app->tls->client_hello_seen = true;
      c.initiator = 1;  // Inbound.
      break;
    case 6: {
      c.key.port_b = 22;
      app->protocol = AppProtocol::kSsh;
      app->ssh = {"SSH-2.0-OpenSSH_9.2p1", "SSH-2.0-OpenSSH_9.6"};
      auto attribution = std::make_shared<Attribution>();
      attribution->side[0] = {Process(0, "", "bob"), AttributionMethod::kBound};
      c.attribution = attribution;
      break;
    }
    case 7:
      c.key.protocol = kIpProtoUdp;
      c.key.port_b = 67;
      app->protocol = AppProtocol::kDhcp;
      app->dhcp_hostname = "laptop";
      break;
    default:
      c.state = ConnState::kTimeWait;
      app.reset();
      c.dns_name = std::make_shared<const std::string>("name.from.dns");
      break;
  }
  c.app = app;
  return c;
}

// What the store should give back for `c`: the message with the fields
// the history keeps.
rustnet::v1::Connection Expected(const Connection& c, int64_t closed_at_us,
                                 std::string_view interface) {
  rustnet::v1::Connection m;
  ToProto(c, closed_at_us, interface, &m);
  m.clear_rate_in();
  m.clear_rate_out();
  m.set_closed(true);
  SetTimestampUs(closed_at_us, m.mutable_closed_at());
  m.set_close_reason(rustnet::v1::CLOSE_REASON_RESET);
  if (m.has_remote_process()) {
    rustnet::v1::ProcessInfo kept;
    kept.set_pid(m.remote_process().pid());
    kept.set_name(m.remote_process().name());
    kept.set_uid(m.remote_process().uid());
    kept.set_user(m.remote_process().user());
    *m.mutable_remote_process() = kept;
  }
  return m;
}

HistoryStoreOptions Options(const std::string& dir) {
  HistoryStoreOptions o;
  o.path = dir + "/history.db";
  o.batch_interval = absl::Milliseconds(20);
  o.retry_min = absl::Milliseconds(20);
  o.retry_max = absl::Milliseconds(100);
  return o;
}

std::unique_ptr<HistoryStore> OpenStore(const HistoryStoreOptions& o) {
  auto store = HistoryStore::Open(o);
  REQUIRE(store.ok());
  return std::move(*store);
}

// Hands rows [from, to) to the store as closed at kNowUs + i.
void Close(HistoryStore* store, uint64_t from, uint64_t to, CloseReason reason = CloseReason::kFin,
           int64_t first_seen_us = kNowUs - 10'000'000) {
  std::vector<Connection> rows;
  for (uint64_t i = from; i < to; ++i) rows.push_back(MakeConnection(i, first_seen_us));
  std::vector<ClosedConnection> closed;
  for (uint64_t i = from; i < to; ++i) {
    closed.push_back({&rows[i - from], reason, kNowUs + static_cast<int64_t>(i)});
  }
  store->OnClosed(closed, "eth0");
}

uint64_t CountRows(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM connections", -1, &s, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const auto n = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  std::string result(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return result;
}

template <typename F>
bool WaitFor(F done, int timeout_ms = 10'000) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

bool HasCorruptCopy(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find("history.db.corrupt-") == 0) return true;
  }
  return false;
}

// A tmpfs of `size` at `dir` (we run as root in the test environment);
// false if mounting is not allowed here.
bool MountTmpfs(const std::string& dir, const char* options) {
  return mount("tmpfs", dir.c_str(), "tmpfs", 0, options) == 0;
}

TEST_CASE("history_rows_in_are_rows_out_with_every_field", "[history_store]") {
  TempTree t;
  auto store = OpenStore(Options(t.dir));
  Close(store.get(), 0, 18, CloseReason::kReset);
  REQUIRE(store->Flush().ok());
  HistoryQuery q;
  q.sort = rustnet::v1::SORT_FIELD_UNSPECIFIED;  // closed_at: i's order.
  auto page = store->Query(q);
  REQUIRE(page.ok());
  REQUIRE(page->total == 18);
  REQUIRE(page->rows.size() == 18);
  for (uint64_t i = 0; i < 18; ++i) {
    const history::StoredRow& row = page->rows[i];
    const int64_t closed_at = kNowUs + static_cast<int64_t>(i);
    const rustnet::v1::Connection want =
        Expected(MakeConnection(i, kNowUs - 10'000'000), closed_at, "eth0");
    INFO("row " << i << "\nwant " << want.ShortDebugString() << "\ngot  "
                << row.connection.ShortDebugString());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(want, row.connection));
    CHECK(row.closed_at_us == closed_at);
    CHECK(row.close_reason == static_cast<int>(CloseReason::kReset));
  }
  const HistoryStoreStats s = store->stats();
  CHECK(s.rows_written == 18);
  CHECK(s.rows_dropped == 0);
  CHECK(s.healthy);
  CHECK(s.last_error.empty());
  CHECK(s.db_bytes > 0);
}

// Connections of the protocols issue 19 added, each with the fields the
// API returns for it (AppInfo 20-23, 50-56, SSH's split, DNS records,
// certificate names).
std::vector<Connection> NewerProtocolConnections() {
  std::vector<Connection> out;
  auto add = [&](AppRecord app) {
    Connection c = MakeConnection(1000 + out.size(), kNowUs - 10'000'000);
    c.key.protocol = kIpProtoTcp;
    c.app = std::make_shared<AppRecord>(std::move(app));
    out.push_back(std::move(c));
  };
  AppRecord smtp;
  smtp.protocol = AppProtocol::kSmtp;
  smtp.mail = {"mail.example ESMTP Postfix", "client.example", true};
  smtp.tls->client_hello_seen = true;
  smtp.tls->sni = "mail.example";
  smtp.tls->version = "TLS 1.2";
  smtp.tls->certificate_cn = "mail.example";
  smtp.tls->certificate_names = {"mail.example", "smtp.example"};
  add(smtp);
  AppRecord ftp;
  ftp.protocol = AppProtocol::kFtp;
  ftp.mail->greeting = "(vsFTPd 3.0.3)";
  ftp.ftp = {"anonymous", 0, "10.0.0.1:50123"};
  add(ftp);
  AppRecord pg;
  pg.protocol = AppProtocol::kPostgresql;
  pg.db = {"alice", "orders", "", "", true};
  add(pg);
  AppRecord smb;
  smb.protocol = AppProtocol::kSmb;
  smb.lan->version = "SMB 3.1.1";
  add(smb);
  AppRecord mqtt;
  mqtt.protocol = AppProtocol::kMqtt;
  mqtt.mqtt = {"3.1.1", "sensor-7", "home/temp"};
  add(mqtt);
  AppRecord sip;
  sip.protocol = AppProtocol::kSip;
  sip.sip = {"INVITE", "a.example", "b.example", "linphone"};
  add(sip);
  AppRecord snmp;
  snmp.protocol = AppProtocol::kSnmp;
  snmp.net->snmp_version = "2c";
  snmp.net->snmp_pdu = "get-request";
  add(snmp);
  AppRecord ntp;
  ntp.protocol = AppProtocol::kNtp;
  ntp.net->ntp_version = 4;
  ntp.net->ntp_mode = 3;
  ntp.net->ntp_stratum = 2;
  add(ntp);
  AppRecord stun;
  stun.protocol = AppProtocol::kStun;
  stun.net->stun_type = "binding-success";
  stun.net->stun_mapped = "203.0.113.5:40000";
  stun.net->stun_software = "coturn";
  add(stun);
  AppRecord dns;
  dns.protocol = AppProtocol::kDns;
  dns.dns->query = "_ldap._tcp.example";
  dns.dns->query_type = "SRV";
  dns.dns->response_code = "NOERROR";
  dns.dns->records = {{"SRV", "_ldap._tcp.example", "dc1.example", 389, 10, {}, 0},
                     {"HTTPS", "example", ".", 8443, 1, {"h2", "h3"}, 0},
                     {"TXT", "example", "", 0, 0, {}, 42}};
  dns.dns->suspicious_name = true;
  dns.dns->unusual_name = true;
  dns.dns->opcode = "IQUERY";
  add(dns);
  AppRecord tls;
  tls.protocol = AppProtocol::kTls;
  tls.tls->client_hello_seen = true;
  tls.tls->version = "TLS 1.2";
  tls.tls->certificate_cn = "www.example";
  tls.tls->certificate_names = {"www.example", "*.cdn.example"};
  add(tls);
  return out;
}

TEST_CASE("history_closed_connection_app_fields_round_trip", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  auto store = OpenStore(o);
  const std::vector<Connection> rows = NewerProtocolConnections();
  std::vector<ClosedConnection> closed;
  for (size_t i = 0; i < rows.size(); ++i) {
    closed.push_back({&rows[i], CloseReason::kReset, kNowUs + static_cast<int64_t>(i)});
  }
  store->OnClosed(closed, "eth0");
  REQUIRE(store->Flush().ok());
  HistoryQuery q;
  q.sort = rustnet::v1::SORT_FIELD_UNSPECIFIED;
  auto page = store->Query(q);
  REQUIRE(page.ok());
  REQUIRE(page->rows.size() == rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const rustnet::v1::Connection want = Expected(rows[i], kNowUs + static_cast<int64_t>(i), "eth0");
    const rustnet::v1::Connection& got = page->rows[i].connection;
    INFO("row " << i << "\nwant " << want.ShortDebugString() << "\ngot  " << got.ShortDebugString());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(want, got));
  }
  // The newer fields are really there (not both empty).
  CHECK(page->rows[0].connection.app().mail().client_domain() == "client.example");
  CHECK(page->rows[0].connection.app().tls().certificate_names_size() == 2);
  CHECK(page->rows[9].connection.app().dns().records(0).port() == 389);
  CHECK(page->rows[9].connection.app().dns().records(2).txt_length() == 42);
  store.reset();

  // A row as schema version 2 wrote it (no app_info) still reads back from
  // its columns: the DNS query, not the records.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE connections SET app_info = NULL", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  store = OpenStore(o);
  page = store->Query(q);
  REQUIRE(page.ok());
  REQUIRE(page->rows.size() == rows.size());
  const rustnet::v1::DnsInfo& old_dns = page->rows[9].connection.app().dns();
  CHECK(old_dns.query() == "_ldap._tcp.example");
  CHECK(old_dns.records_size() == 0);
  CHECK(page->rows[0].connection.app().protocol() == rustnet::v1::APP_PROTOCOL_SMTP);
  CHECK_FALSE(page->rows[0].connection.app().has_mail());
}

TEST_CASE("history_final_table_is_stored_as_shutdown", "[history_store]") {
  TempTree t;
  auto store = OpenStore(Options(t.dir));
  std::vector<Connection> rows = {MakeConnection(1, kNowUs), MakeConnection(2, kNowUs)};
  std::vector<const Connection*> ptrs = {&rows[0], &rows[1]};
  store->OnFinalTable(FinalTable{ptrs, kNowUs + 99, "wlan0"});
  REQUIRE(store->Flush().ok());
  auto page = store->Query({});
  REQUIRE(page.ok());
  REQUIRE(page->total == 2);
  for (const auto& row : page->rows) {
    CHECK(row.close_reason == history::kCloseReasonShutdown);
    CHECK(row.connection.close_reason() == rustnet::v1::CLOSE_REASON_SHUTDOWN);
    CHECK(row.connection.closed());
    CHECK(row.closed_at_us == kNowUs + 99);
    CHECK(row.connection.interface() == "wlan0");
  }
}

TEST_CASE("history_final_table_larger_than_the_queue_waits_for_room", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.queue_rows = 16;
  o.batch_rows = 8;
  auto store = OpenStore(o);
  std::vector<Connection> rows;
  for (uint64_t i = 0; i < 500; ++i) rows.push_back(MakeConnection(i, kNowUs));
  std::vector<const Connection*> ptrs;
  for (const Connection& c : rows) ptrs.push_back(&c);
  store->OnFinalTable(FinalTable{ptrs, kNowUs, "eth0"});
  REQUIRE(store->Flush().ok());
  CHECK(store->stats().rows_written == 500);
  CHECK(store->stats().rows_dropped == 0);
}

TEST_CASE("history_batches_rows_in_transactions", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.batch_rows = 10;
  o.batch_interval = absl::Seconds(60);  // Only full batches and Flush write.
  auto store = OpenStore(o);
  Close(store.get(), 0, 95);
  REQUIRE(store->Flush().ok());
  const HistoryStoreStats s = store->stats();
  CHECK(s.rows_written == 95);
  CHECK(s.batches == 10);  // Nine of ten rows and the last five.
}

TEST_CASE("history_restart_appends_to_the_same_file", "[history_store]") {
  TempTree t;
  const HistoryStoreOptions o = Options(t.dir);
  {
    auto store = OpenStore(o);
    Close(store.get(), 0, 10);
  }  // The destructor writes what is queued.
  {
    auto store = OpenStore(o);
    Close(store.get(), 10, 25);
    REQUIRE(store->Flush().ok());
    auto page = store->Query({});
    REQUIRE(page.ok());
    CHECK(page->total == 25);
    CHECK(page->rows.front().connection.id() == 0);
    CHECK(page->rows.back().connection.id() == 24);
  }
  CHECK(CountRows(o.path) == 25);
}

TEST_CASE("history_crash_loses_at_most_the_uncommitted_rows", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.batch_rows = 100;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    alarm(30);  // Never outlive a parent that failed before killing us.
    auto store = HistoryStore::Open(o);
    if (!store.ok()) _exit(2);
    for (uint64_t round = 0;; ++round) {
      Close(store->get(), round * 50, round * 50 + 50);
      if (round % 4 == 3) {
        (void)(*store)->Flush();
        const uint64_t committed = (round + 1) * 50;
        if (write(fds[1], &committed, sizeof(committed)) != sizeof(committed)) _exit(3);
      }
    }
  }
  close(fds[1]);
  // Let it write a while, then kill it mid-stream.
  uint64_t committed = 0;
  uint64_t value = 0;
  while (committed < 2'000 && read(fds[0], &value, sizeof(value)) == sizeof(value)) {
    committed = value;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  while (read(fds[0], &value, sizeof(value)) == sizeof(value)) committed = value;
  close(fds[0]);

  CHECK(IntegrityCheck(o.path) == "ok");
  const uint64_t stored = CountRows(o.path);
  std::printf("history: killed mid-write: %llu rows confirmed by Flush, %llu stored\n",
              static_cast<unsigned long long>(committed), static_cast<unsigned long long>(stored));
  // Every row a Flush confirmed is there; what was handed in after that
  // (at most four rounds of 50, i.e. two batches' worth) may be lost.
  CHECK(stored >= committed);
  CHECK(stored <= committed + 200);
  // And the store opens it again and appends.
  auto store = OpenStore(o);
  Close(store.get(), 1'000'000, 1'000'010);
  REQUIRE(store->Flush().ok());
  CHECK(CountRows(o.path) == stored + 10);
}

TEST_CASE("history_retention_by_age", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.max_age_us = 30LL * 86'400'000'000;
  o.retention_interval = absl::Milliseconds(10);
  auto store = OpenStore(o);
  // 40 days old, then fresh.
  std::vector<Connection> rows;
  for (uint64_t i = 0; i < 20; ++i) rows.push_back(MakeConnection(i, 0));
  std::vector<ClosedConnection> closed;
  const int64_t now = absl::ToUnixMicros(absl::Now());
  for (uint64_t i = 0; i < 20; ++i) {
    closed.push_back({&rows[i], CloseReason::kFin, i < 12 ? now - 40LL * 86'400'000'000 : now});
  }
  store->OnClosed(closed, "eth0");
  REQUIRE(store->Flush().ok());
  REQUIRE(WaitFor([&] { return store->stats().rows_expired == 12; }));
  auto page = store->Query({});
  REQUIRE(page.ok());
  CHECK(page->total == 8);
  CHECK(page->rows.front().connection.id() == 12);
}

TEST_CASE("history_retention_by_size_keeps_the_file_under_the_limit", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.max_bytes = 2 << 20;
  o.batch_rows = 500;
  auto store = OpenStore(o);
  uint64_t next = 0;
  for (int round = 0; round < 40; ++round) {
    Close(store.get(), next, next + 500);
    next += 500;
    REQUIRE(store->Flush().ok());
    CHECK(fs::file_size(o.path) <= o.max_bytes);
  }
  const HistoryStoreStats s = store->stats();
  CHECK(s.rows_written == 20'000);
  CHECK(s.rows_expired > 0);
  // The newest rows stay; the oldest went.
  HistoryQuery q;
  q.descending = true;
  q.limit = 1;
  auto page = store->Query(q);
  REQUIRE(page.ok());
  REQUIRE(page->rows.size() == 1);
  CHECK(page->rows[0].connection.id() == next - 1);
  CHECK(page->total < 20'000);
  CHECK(page->total > 1'000);
  CHECK(IntegrityCheck(o.path) == "ok");
}

TEST_CASE("history_full_queue_drops_and_counts_without_blocking", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.queue_rows = 100;
  o.batch_rows = 10;
  o.busy_timeout_ms = 60'000;  // The writer waits on our lock below.
  auto store = OpenStore(o);
  // Another writer holds the file: the store's writer stalls on its first
  // batch.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(o.path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  Close(store.get(), 0, 10);
  REQUIRE(WaitFor([&] { return store->stats().queued == 0; }));  // Taken, stalled.
  // While it is stalled, workers hand in far more than the queue holds;
  // every call returns (a call that waited would wait for the lock we hold).
  auto longest = std::chrono::nanoseconds(0);
  for (uint64_t i = 0; i < 50; ++i) {
    const auto start = Clock::now();
    Close(store.get(), 10 + i * 20, 30 + i * 20);
    longest = std::max(longest, std::chrono::nanoseconds(Clock::now() - start));
  }
  HistoryStoreStats s = store->stats();
  CHECK(s.queued == 100);
  CHECK(s.rows_dropped == 1'000 - 100);
  CHECK(s.rows_written == 0);
  std::printf("history: longest OnClosed of 20 rows while the writer was stalled: %.1f us\n",
              static_cast<double>(longest.count()) / 1e3);
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  REQUIRE(store->Flush().ok());
  s = store->stats();
  CHECK(s.rows_written == 110);
  CHECK(s.rows_written + s.rows_dropped == 1'010);
}

TEST_CASE("history_replay_waits_for_room_instead_of_dropping", "[history_store]") {
  // --read: wait_for_room. A queue of 100 and 5,000 rows handed in 250 at a
  // time while the writer writes 10 per batch: every row is stored.
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.queue_rows = 100;
  o.batch_rows = 10;
  o.wait_for_room = true;
  auto store = OpenStore(o);
  for (uint64_t i = 0; i < 20; ++i) Close(store.get(), i * 250, (i + 1) * 250);
  REQUIRE(store->Flush().ok());
  const HistoryStoreStats s = store->stats();
  CHECK(s.rows_dropped == 0);
  CHECK(s.rows_written == 5'000);
}

TEST_CASE("history_file_deleted_while_running_is_recreated", "[history_store]") {
  TempTree t;
  auto store = OpenStore(Options(t.dir));
  Close(store.get(), 0, 10);
  REQUIRE(store->Flush().ok());
  REQUIRE(fs::remove(store->path()));
  Close(store.get(), 10, 20);
  REQUIRE(WaitFor([&] { return store->Flush().ok() && fs::exists(store->path()); }));
  const HistoryStoreStats s = store->stats();
  CHECK(s.healthy);
  CHECK(s.reopens >= 1);
  CHECK_FALSE(s.last_error.empty());  // It says what happened.
  auto page = store->Query({});
  REQUIRE(page.ok());
  CHECK(page->total == 10);
  CHECK(page->rows.front().connection.id() == 10);
  CHECK(IntegrityCheck(store->path()) == "ok");
}

TEST_CASE("history_file_replaced_by_garbage_is_moved_aside", "[history_store]") {
  for (const bool in_place : {false, true}) {
    TempTree t;
    auto store = OpenStore(Options(t.dir));
    Close(store.get(), 0, 10);
    REQUIRE(store->Flush().ok());
    const std::string garbage(64 * 1024, '\x5a');
    if (in_place) {
      std::ofstream(store->path(), std::ios::binary | std::ios::trunc) << garbage;
    } else {
      std::ofstream(t.dir + "/other", std::ios::binary) << garbage;
      fs::rename(t.dir + "/other", store->path());
    }
    Close(store.get(), 10, 20);
    REQUIRE(WaitFor([&] { return store->Flush().ok(); }));
    INFO("in place: " << in_place);
    CHECK(HasCorruptCopy(t.dir));
    auto page = store->Query({});
    REQUIRE(page.ok());
    CHECK(page->total == 10);
    CHECK(IntegrityCheck(store->path()) == "ok");
  }
}

TEST_CASE("history_garbage_at_start_is_moved_aside", "[history_store]") {
  TempTree t;
  const HistoryStoreOptions o = Options(t.dir);
  std::ofstream(o.path, std::ios::binary) << std::string(5000, 'x');
  auto store = OpenStore(o);
  CHECK(store->stats().healthy);
  CHECK(HasCorruptCopy(t.dir));
}

TEST_CASE("history_disk_full_drops_counts_and_recovers", "[history_store]") {
  TempTree t;
  const std::string mnt = t.dir + "/mnt";
  fs::create_directory(mnt);
  if (!MountTmpfs(mnt, "size=1m")) {
    WARN("cannot mount a tmpfs here; skipped");
    return;
  }
  {
    // A filler takes half the space; removing it later makes room.
    std::ofstream(mnt + "/filler", std::ios::binary) << std::string(512 * 1024, 'f');
    HistoryStoreOptions o = Options(mnt);
    o.max_bytes = 0;
    o.batch_rows = 200;
    auto store = OpenStore(o);
    uint64_t next = 0;
    for (int round = 0; round < 200 && store->stats().healthy; ++round) {
      Close(store.get(), next, next + 200);
      next += 200;
      (void)store->Flush();
    }
    HistoryStoreStats s = store->stats();
    CHECK_FALSE(s.healthy);
    CHECK(s.rows_dropped > 0);
    CHECK(s.last_error.find("full") != std::string::npos);
    // Capture goes on: handing rows in still returns, and they are counted.
    Close(store.get(), next, next + 200);
    next += 200;
    (void)store->Flush();
    CHECK(store->stats().rows_dropped >= s.rows_dropped + 200);
    // Room again: the store recovers by itself.
    fs::remove(mnt + "/filler");
    const uint64_t written = store->stats().rows_written;
    CHECK(WaitFor([&] {
      Close(store.get(), next, next + 10);
      next += 10;
      return store->Flush().ok() && store->stats().rows_written > written;
    }));
    CHECK(store->stats().healthy);
    CHECK(IntegrityCheck(o.path) == "ok");
  }
  CHECK(umount2(mnt.c_str(), MNT_DETACH) == 0);
}

TEST_CASE("history_read_only_directory_at_start_degrades_and_recovers", "[history_store]") {
  TempTree t;
  const std::string mnt = t.dir + "/mnt";
  fs::create_directory(mnt);
  if (!MountTmpfs(mnt, "size=1m")) {
    WARN("cannot mount a tmpfs here; skipped");
    return;
  }
  REQUIRE(mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=1m") == 0);
  {
    auto store = OpenStore(Options(mnt));  // Not an error: degraded, retrying.
    HistoryStoreStats s = store->stats();
    CHECK_FALSE(s.healthy);
    CHECK_FALSE(s.last_error.empty());
    Close(store.get(), 0, 10);
    CHECK_FALSE(store->Flush().ok());
    CHECK(store->stats().rows_dropped == 10);
    CHECK_FALSE(store->Query({}).ok());  // Said, not crashed.
    REQUIRE(mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=1m") == 0);
    uint64_t next = 10;
    CHECK(WaitFor([&] {
      Close(store.get(), next, next + 1);
      ++next;
      return store->Flush().ok();
    }));
    s = store->stats();
    CHECK(s.healthy);
    CHECK(s.rows_written >= 1);
  }
  CHECK(umount2(mnt.c_str(), MNT_DETACH) == 0);
}

TEST_CASE("history_open_refuses_paths_retrying_cannot_fix", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o;
  o.path = "";
  CHECK(absl::IsInvalidArgument(HistoryStore::Open(o).status()));
  o.path = t.dir;
  auto dir = HistoryStore::Open(o);
  CHECK(absl::IsInvalidArgument(dir.status()));
  CHECK(dir.status().message() == "--history-db " + t.dir +
                                      " is a directory; give a file name inside it");
  o.path = t.dir + "/missing/history.db";
  auto missing = HistoryStore::Open(o);
  CHECK(absl::IsInvalidArgument(missing.status()));
  CHECK(missing.status().message().find("does not exist") != std::string::npos);
  // A file from a newer rustnetd.
  o.path = t.dir + "/new.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto newer = HistoryStore::Open(o);
  CHECK(absl::IsFailedPrecondition(newer.status()));
}

// Every row of a one-column query, as text.
std::vector<std::string> Column0(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
  std::vector<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(s, sqlite3_column_count(s) - 1);
    out.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST_CASE("history_schema_1_migrates_to_2_with_the_sort_indexes", "[history_store]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  {
    auto store = OpenStore(o);
    Close(store.get(), 0, 20);
    REQUIRE(store->Flush().ok());
  }
  // Make it a version-1 file: without version 2's indexes.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "DROP INDEX connections_bytes_total; DROP INDEX connections_bytes_sent;"
                       "DROP INDEX connections_bytes_received; DROP INDEX connections_last_seen;"
                       "ALTER TABLE connections DROP COLUMN app_info;"
                       "PRAGMA user_version = 1",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  {
    auto store = OpenStore(o);
    Close(store.get(), 20, 25);
    REQUIRE(store->Flush().ok());
  }
  CHECK(Column0(o.path, "PRAGMA user_version") == std::vector<std::string>{"3"});
  CHECK(CountRows(o.path) == 25);
  // A sort by total bytes walks the index instead of sorting every row.
  const std::vector<std::string> plan = Column0(
      o.path,
      "EXPLAIN QUERY PLAN SELECT rowid FROM connections "
      "ORDER BY (bytes_sent + bytes_received) DESC, rowid DESC LIMIT 10");
  INFO(absl::StrJoin(plan, " | "));
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].find("connections_bytes_total") != std::string::npos);
  CHECK(plan[0].find("TEMP B-TREE") == std::string::npos);
}

TEST_CASE("history_query_filters_windows_sorts_and_pages", "[history_store]") {
  TempTree t;
  auto store = OpenStore(Options(t.dir));
  // Row i: first seen at kNowUs + i s, closed at kNowUs + i µs (Close).
  std::vector<Connection> rows;
  for (uint64_t i = 0; i < 180; ++i) {
    rows.push_back(MakeConnection(i, kNowUs - 1'000'000'000 + static_cast<int64_t>(i) * 1'000'000));
  }
  std::vector<ClosedConnection> closed;
  for (uint64_t i = 0; i < 180; ++i) {
    closed.push_back({&rows[i], CloseReason::kTimeout, kNowUs + static_cast<int64_t>(i) * 1'000'000});
  }
  store->OnClosed(closed, "eth0");
  REQUIRE(store->Flush().ok());

  auto run = [&](HistoryQuery q) {
    auto page = store->Query(q);
    REQUIRE(page.ok());
    return *std::move(page);
  };
  auto ids = [](const HistoryPage& p) {
    std::vector<uint64_t> out;
    for (const auto& r : p.rows) out.push_back(r.connection.id());
    return out;
  };

  HistoryQuery q;
  q.filter = "proto:udp";  // Kinds 1, 5, 7 of every 9: exact in SQL.
  CHECK(run(q).total == 60);
  q.filter = "process:curl";  // Kind 0 (LIKE, then the matcher).
  CHECK(run(q).total == 20);
  q.filter = "process:CURL -port:443";
  CHECK(run(q).total == 0);
  q.filter = "-process:curl";
  CHECK(run(q).total == 160);
  q.filter = "process:nginx";  // The remote process's name.
  CHECK(run(q).total == 20);
  q.filter = "host:cached.example";  // The DNS-cache name.
  CHECK(run(q).total == 20);
  q.filter = "dir:in";
  CHECK(run(q).total == 20);
  q.filter = "raddr:93.184.0.0/24 app:tls";
  const HistoryPage cidr = run(q);
  CHECK(cidr.total == 20);
  q.filter = "state:time";  // A prefix.
  CHECK(run(q).total == 20);
  q.filter = "example.org";  // A bare word.
  CHECK(run(q).total == 20);
  q.filter = "bogus:key";
  auto bad = store->Query(q);
  CHECK(absl::IsInvalidArgument(bad.status()));

  // The time window: alive at some time in [since, until).
  q = {};
  q.since_us = kNowUs + 100'000'000;  // Closed at or after row 100.
  CHECK(run(q).total == 80);
  q.until_us = kNowUs - 1'000'000'000 + 110'000'000;  // First seen before row 110.
  CHECK(run(q).total == 10);
  q.filter = "proto:tcp";
  const HistoryPage window = run(q);
  std::vector<uint64_t> want;
  for (uint64_t i = 100; i < 110; ++i) {
    if (rows[i].key.protocol == kIpProtoTcp) want.push_back(i);
  }
  CHECK(ids(window) == want);

  // Sorting and paging, in SQL and through the matcher.
  q = {};
  q.sort = rustnet::v1::SORT_FIELD_BYTES_OUT;
  q.descending = true;
  q.offset = 5;
  q.limit = 3;
  HistoryPage page = run(q);
  CHECK(page.total == 180);
  CHECK(ids(page) == std::vector<uint64_t>{174, 173, 172});
  q.filter = "app:tls";  // Kind 0: 0, 9, ..., 171.
  page = run(q);
  CHECK(page.total == 20);
  CHECK(ids(page) == std::vector<uint64_t>{126, 117, 108});
  q = {};
  q.sort = rustnet::v1::SORT_FIELD_PROCESS;
  q.limit = 2;
  q.descending = true;
  page = run(q);
  REQUIRE(page.rows.size() == 2);
  CHECK(page.rows[0].connection.process().name() == "curl");
  q.sort = rustnet::v1::SORT_FIELD_REMOTE_ADDRESS;
  q.descending = false;
  page = run(q);
  CHECK(page.rows[0].connection.remote().address() == "93.184.0.0");
  q.sort = rustnet::v1::SORT_FIELD_FIRST_SEEN;
  q.offset = 178;
  q.limit = 50;
  CHECK(ids(run(q)) == std::vector<uint64_t>{178, 179});
  q.sort = static_cast<rustnet::v1::SortField>(99);
  CHECK(absl::IsInvalidArgument(store->Query(q).status()));
}

// Not run by default: `rn_unit_tests '[.history_bench]'`. Prints rows
// written per second and the latency of a 50-row page over 1M rows.
TEST_CASE("history_benchmark_one_million_rows", "[.history_bench]") {
  TempTree t;
  HistoryStoreOptions o = Options(t.dir);
  o.max_bytes = 0;
  o.queue_rows = 1 << 20;
  o.batch_interval = absl::Seconds(1);
  auto store = OpenStore(o);
  const char* env = std::getenv("RN_HISTORY_BENCH_ROWS");  // Default 1M.
  const uint64_t kRows = env != nullptr ? std::strtoull(env, nullptr, 10) / 1000 * 1000 : 1'000'000;
  std::vector<Connection> rows;
  for (uint64_t i = 0; i < 1000; ++i) rows.push_back(MakeConnection(i, kNowUs));
  const auto start = Clock::now();
  for (uint64_t i = 0; i < kRows; i += 1000) {
    std::vector<ClosedConnection> closed;
    for (uint64_t k = 0; k < 1000; ++k) {
      rows[k].id = i + k;
      closed.push_back({&rows[k], CloseReason::kFin, kNowUs + static_cast<int64_t>(i + k)});
    }
    store->OnClosed(closed, "eth0");
    while (store->stats().queued > 200'000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(store->Flush().ok());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const HistoryStoreStats s = store->stats();
  std::printf("history: %llu rows written in %.1f s: %.0f rows/s; %llu dropped; file %.0f MB\n",
              static_cast<unsigned long long>(s.rows_written), seconds,
              static_cast<double>(s.rows_written) / seconds,
              static_cast<unsigned long long>(s.rows_dropped),
              static_cast<double>(s.db_bytes) / 1e6);
  struct Case {
    const char* name;
    HistoryQuery q;
  };
  auto query = [](std::string filter, rustnet::v1::SortField sort, bool desc, uint32_t offset) {
    HistoryQuery q;
    q.filter = std::move(filter);
    q.sort = sort;
    q.descending = desc;
    q.offset = offset;
    q.limit = 50;
    return q;
  };
  const Case cases[] = {
      {"newest 50 (closed_at desc)", query("", rustnet::v1::SORT_FIELD_UNSPECIFIED, true, 0)},
      {"page 1000 by first seen", query("", rustnet::v1::SORT_FIELD_FIRST_SEEN, false, 50'000)},
      {"by remote address", query("", rustnet::v1::SORT_FIELD_REMOTE_ADDRESS, false, 0)},
      {"by process", query("", rustnet::v1::SORT_FIELD_PROCESS, true, 0)},
      {"by bytes total (no index)", query("", rustnet::v1::SORT_FIELD_BYTES_TOTAL, true, 0)},
      {"proto:udp (SQL)", query("proto:udp", rustnet::v1::SORT_FIELD_UNSPECIFIED, true, 0)},
      {"process:curl (matcher)", query("process:curl", rustnet::v1::SORT_FIELD_UNSPECIFIED, true, 0)},
      {"a bare word (matcher)", query("example", rustnet::v1::SORT_FIELD_UNSPECIFIED, true, 0)},
  };
  for (const Case& c : cases) {
    const auto q_start = Clock::now();
    auto page = store->Query(c.q);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - q_start).count();
    REQUIRE(page.ok());
    std::printf("history: 50-row page, %-30s %8.1f ms (total %llu)\n", c.name, ms,
                static_cast<unsigned long long>(page->total));
  }
}

}  // namespace
}  // namespace rustnet

namespace rustnet {
namespace {

// The filter's /regex/ terms and the original rustnet's state names have no
// SQL form of their own (a regex) or say more than the state column (the
// original's "udp_active"): the store must not push them down as if they
// were plain terms, so each selects what its plain equivalent does.
TEST_CASE("history_query_regex_and_original_states", "[history_store][filter]") {
  TempTree t;
  auto store = OpenStore(Options(t.dir));
  std::vector<Connection> rows;
  for (uint64_t i = 0; i < 90; ++i) {
    rows.push_back(MakeConnection(i, kNowUs - 1'000'000'000 + static_cast<int64_t>(i) * 1'000'000));
  }
  std::vector<ClosedConnection> closed;
  for (uint64_t i = 0; i < 90; ++i) {
    closed.push_back({&rows[i], CloseReason::kTimeout, kNowUs + static_cast<int64_t>(i) * 1'000'000});
  }
  store->OnClosed(closed, "eth0");
  REQUIRE(store->Flush().ok());
  auto ids = [&](const std::string& filter) {
    HistoryQuery q;
    q.filter = filter;
    auto page = store->Query(q);
    INFO(filter << ": " << page.status().ToString());
    REQUIRE(page.ok());
    CHECK(page->total == page->rows.size());
    std::vector<uint64_t> out;
    for (const auto& r : page->rows) out.push_back(r.connection.id());
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::pair<const char*, const char*> pairs[] = {
      {"proto:/^UDP$/", "proto:udp"},
      {"-proto:/udp/", "-proto:udp"},
      {"process:/^curl$/", "process:curl"},
      {"port:/^443$/", "port:443"},
      {"/curl/ dport:/^44/", "curl rport:440-449"},
      {"state:udp_active", "proto:udp state:active"},
      {"sport:/./ src:/./", "lport:1-65535"},
  };
  for (const auto& [original, ours] : pairs) {
    INFO(original << " vs " << ours);
    const auto a = ids(original);
    CHECK(a == ids(ours));
    CHECK_FALSE(a.empty());
    CHECK(a.size() < rows.size());
  }
  // Negated, the original's state is everything but its rows.
  CHECK(ids("-state:udp_active").size() + ids("state:udp_active").size() == rows.size());
}

}  // namespace
}  // namespace rustnet
