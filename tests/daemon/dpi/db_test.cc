// PostgreSQL, MySQL, Redis, Memcached, MongoDB at every split; malformed
// messages named after their defect; no secrets kept.
#include "daemon/dpi/db.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;
using testing::Split;
using testing::Text;

const FlowInfo kFlow{kIpProtoTcp, 40000, 15432};

void PutCString(Bytes& b, const std::string& s) {
  PutBytes(b, Text(s));
  Put8(b, 0);
}
void Put32Le(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) Put8(b, static_cast<uint8_t>(v >> (8 * i)));
}

Bytes PgStartup(const std::vector<std::pair<std::string, std::string>>& params) {
  Bytes body;
  Put32(body, 196608);
  for (const auto& [k, v] : params) {
    PutCString(body, k);
    PutCString(body, v);
  }
  Put8(body, 0);
  Bytes msg;
  Put32(msg, static_cast<uint32_t>(body.size() + 4));
  PutBytes(msg, body);
  return msg;
}

Bytes PgSslRequest() {
  Bytes b;
  Put32(b, 8);
  Put32(b, 80877103);
  return b;
}

TEST_CASE("postgresql: startup message user and database at every split", "[dpi][db]") {
  auto d = MakePostgresqlDissector();
  const Bytes startup =
      PgStartup({{"user", "app"}, {"database", "orders"}, {"application_name", "psql"}});
  CHECK(d->Probe(kFlow, true, startup));
  CHECK_FALSE(d->Probe(kFlow, false, startup));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{true, startup}}, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kPostgresql);
    CHECK(r.db->user == "app");
    CHECK(r.db->database == "orders");
    CHECK_FALSE(r.db->tls_requested);
    CHECK(r.Label() == "PostgreSQL \u00b7 orders");
  }
}

TEST_CASE("postgresql: SSLRequest, 'S', then the TLS ClientHello; 'N' then startup",
          "[dpi][db]") {
  auto d = MakePostgresqlDissector();
  testing::HelloSpec spec;
  spec.sni = "db.example.org";
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    testing::FeedSession(*d, kFlow,
                         {{true, PgSslRequest()},
                          {false, Text("S")},
                          {true, testing::TlsRecords(testing::MakeClientHelloMessage(spec))}},
                         split, &r, &a);
    CHECK(r.protocol == AppProtocol::kPostgresql);
    CHECK(r.db->tls_requested);
    CHECK(r.tls->sni == "db.example.org");
    AppRecord plain;
    CHECK(testing::FeedSession(*d, kFlow,
                               {{true, PgSslRequest()},
                                {false, Text("N")},
                                {true, PgStartup({{"user", "u"}})}},
                               split, &plain, &a) == ParseState::kDone);
    CHECK(plain.db->tls_requested);
    CHECK(plain.db->user == "u");
  }
}

TEST_CASE("postgresql: postgresql_message_too_long; unknown codes are not ours", "[dpi][db]") {
  auto d = MakePostgresqlDissector();
  Bytes huge;
  Put32(huge, 20000);
  Put32(huge, 196608);
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, huge}}, Split::kWhole, &r, &a) ==
        ParseState::kNotMine);
  CHECK(a == DpiAnomalies{{"postgresql_message_too_long", 1}});
  Bytes odd;
  Put32(odd, 8);
  Put32(odd, 0x12345678);
  AppRecord r2;
  CHECK(testing::FeedSession(*d, kFlow, {{true, odd}}, Split::kWhole, &r2, &a) ==
        ParseState::kNotMine);
  CHECK_FALSE(d->Probe(kFlow, true, odd));
}

TEST_CASE("postgresql: postgresql_startup_malformed keeps what came before", "[dpi][db]") {
  auto d = MakePostgresqlDissector();
  Bytes body;
  Put32(body, 196608);
  PutCString(body, "user");
  PutCString(body, "x");
  PutBytes(body, Text("database"));  // No NUL, no value.
  Bytes msg;
  Put32(msg, static_cast<uint32_t>(body.size() + 4));
  PutBytes(msg, body);
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, msg}}, Split::kWhole, &r, &a) ==
        ParseState::kDone);
  CHECK(r.db->user == "x");
  CHECK(a == DpiAnomalies{{"postgresql_startup_malformed", 1}});
}

Bytes MysqlGreeting(const std::string& version, uint8_t filler = 0) {
  Bytes p;
  Put8(p, 10);
  PutCString(p, version);
  Put32Le(p, 42);
  PutBytes(p, Bytes(8, 'a'));
  Put8(p, filler);
  PutBytes(p, Bytes(20, 0x11));
  Bytes msg;
  Put8(msg, static_cast<uint8_t>(p.size()));
  Put8(msg, 0);
  Put8(msg, 0);
  Put8(msg, 0);
  PutBytes(msg, p);
  return msg;
}

TEST_CASE("mysql: server version from the greeting at every split", "[dpi][db]") {
  auto d = MakeMysqlDissector();
  const Bytes g = MysqlGreeting("10.11.6-MariaDB-0+deb12u1");
  CHECK(d->Probe(kFlow, false, g));
  CHECK_FALSE(d->Probe(kFlow, true, g));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{false, g}}, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kMysql);
    CHECK(r.db->server_version == "10.11.6-MariaDB-0+deb12u1");
  }
}

TEST_CASE("mysql: mysql_greeting_malformed for a nonzero filler", "[dpi][db]") {
  auto d = MakeMysqlDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{false, MysqlGreeting("8.0.36", 7)}}, Split::kWhole, &r,
                             &a) == ParseState::kNotMine);
  CHECK(a == DpiAnomalies{{"mysql_greeting_malformed", 1}});
}

TEST_CASE("redis: the first command's name, confirmed by the reply; AUTH's password not kept",
          "[dpi][db]") {
  auto d = MakeRedisDissector();
  const Bytes cmd = Text("*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$7\r\nhunter2\r\n");
  CHECK(d->Probe(kFlow, true, cmd));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{true, cmd}, {false, Text("+OK\r\n")}}, split, &r,
                               &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kRedis);
    CHECK(r.db->command == "AUTH");
    CHECK(r.Label() == "Redis \u00b7 AUTH");
  }
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, Text("*1\r\n$4\r\nPING\r\n")}, {false, Text("OK")}},
                             Split::kWhole, &r, &a) == ParseState::kNotMine);
}

TEST_CASE("redis: redis_resp_malformed", "[dpi][db]") {
  auto d = MakeRedisDissector();
  for (const char* bad : {"*2\r\n$x\r\n", "*0\r\n", "*1\r\n$4\r\n1234\r\n", "*1\r\n$999\r\n"}) {
    INFO(bad);
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{true, Text(bad)}}, Split::kWhole, &r, &a) ==
          ParseState::kNotMine);
    CHECK(a == DpiAnomalies{{"redis_resp_malformed", 1}});
  }
}

TEST_CASE("memcached: a lower-case command and a reply; HTTP's GET is not one", "[dpi][db]") {
  auto d = MakeMemcachedDissector();
  CHECK(d->Probe(kFlow, true, Text("get user:1\r\n")));
  CHECK_FALSE(d->Probe(kFlow, true, Text("GET / HTTP/1.1\r\n")));
  CHECK_FALSE(d->Probe(kFlow, true, Text("getaway\r\n")));
  for (Split split : {Split::kWhole, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow,
                               {{true, Text("version\r\n")}, {false, Text("VERSION 1.6.18\r\n")}},
                               split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kMemcached);
    CHECK(r.db->command == "version");
  }
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{true, Text("get k\r\n")}, {false, Text("HTTP/1.1 200 OK\r\n")}},
                             Split::kWhole, &r, &a) == ParseState::kNotMine);
}

Bytes MongoMessage(uint32_t id, uint32_t response_to, uint32_t op, const std::string& key) {
  Bytes doc_body;
  Put8(doc_body, 0x10);  // int32 element
  PutCString(doc_body, key);
  Put32Le(doc_body, 1);
  Put8(doc_body, 0);
  Bytes doc;
  Put32Le(doc, static_cast<uint32_t>(doc_body.size() + 4));
  PutBytes(doc, doc_body);
  Bytes body;
  Put32Le(body, 0);  // flagBits
  Put8(body, 0);     // section kind 0
  PutBytes(body, doc);
  Bytes msg;
  Put32Le(msg, static_cast<uint32_t>(body.size() + 16));
  Put32Le(msg, id);
  Put32Le(msg, response_to);
  Put32Le(msg, op);
  PutBytes(msg, body);
  return msg;
}

TEST_CASE("mongodb: OP_MSG hello answered by its reply at every split", "[dpi][db]") {
  auto d = MakeMongodbDissector();
  const Bytes hello = MongoMessage(77, 0, 2013, "hello");
  CHECK(d->Probe(kFlow, true, hello));
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow,
                               {{true, hello}, {false, MongoMessage(5, 77, 2013, "ok")}}, split,
                               &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kMongodb);
    CHECK(r.db->command == "hello");
  }
}

TEST_CASE("mongodb: a reply to another request id is not MongoDB (no false positive)",
          "[dpi][db]") {
  auto d = MakeMongodbDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{true, MongoMessage(77, 0, 2013, "hello")},
                              {false, MongoMessage(5, 78, 2013, "ok")}},
                             Split::kWhole, &r, &a) == ParseState::kNotMine);
  CHECK(r.protocol == AppProtocol::kUnknown);
  // A header whose document is not BSON: mongodb_message_malformed.
  Bytes bad = MongoMessage(1, 0, 2013, "hello");
  bad[16 + 5 + 4] = 0x55;  // The element type.
  AppRecord r2;
  CHECK(testing::FeedSession(*d, kFlow, {{true, bad}}, Split::kWhole, &r2, &a) ==
        ParseState::kNotMine);
  CHECK(a == DpiAnomalies{{"mongodb_message_malformed", 1}});
}

TEST_CASE("mongodb: a request that fills its message exactly is named without a reply",
          "[dpi][db]") {
  // nDPI's corpus has flows whose server never answers in the capture.
  auto d = MakeMongodbDissector();
  for (const uint32_t response_to : {0u, 0xffffffffu}) {  // -1: as some drivers send.
    const Bytes hello = MongoMessage(77, response_to, 2013, "isMaster");
    CHECK(d->Probe(kFlow, true, hello));
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{true, hello}}, Split::kByteByByte, &r, &a) ==
          ParseState::kNeedMore);
    CHECK(r.protocol == AppProtocol::kMongodb);
    CHECK(r.db->command == "isMaster");
    CHECK(a.empty());
  }
  // Bytes after the document (not_filling_message): only a reply names it.
  Bytes trailing = MongoMessage(77, 0, 2013, "hello");
  trailing.push_back(0x01);
  trailing[0] = static_cast<uint8_t>(trailing.size());
  AppRecord t;
  DpiAnomalies ta;
  CHECK(testing::FeedSession(*d, kFlow, {{true, trailing}}, Split::kWhole, &t, &ta) ==
        ParseState::kNeedMore);
  CHECK(t.protocol == AppProtocol::kUnknown);
  // A document whose last byte is not its terminator (bson_not_terminated).
  Bytes unterminated = MongoMessage(77, 0, 2013, "hello");
  unterminated.back() = 0x01;
  AppRecord u;
  CHECK(testing::FeedSession(*d, kFlow, {{true, unterminated}}, Split::kWhole, &u, &ta) ==
        ParseState::kNeedMore);
  CHECK(u.protocol == AppProtocol::kUnknown);
  // Named from the request, then a reply to another request id takes it back.
  AppRecord back;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{true, MongoMessage(77, 0, 2013, "hello")},
                              {false, MongoMessage(5, 78, 2013, "ok")}},
                             Split::kWhole, &back, &ta) == ParseState::kNotMine);
  CHECK(back.protocol == AppProtocol::kUnknown);
  CHECK(back.db->command.empty());
}

}  // namespace
}  // namespace rustnet
