// FTP control (greeting, USER, AUTH TLS, data endpoints) at every split,
// the endpoint parsers on malformed input, the expectation table's bounds
// and expiry, and the engine linking a data connection to its control
// connection.
#include "daemon/dpi/ftp.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "daemon/dpi/engine.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::Split;
using testing::Text;

IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t raw[4] = {a, b, c, d};
  return IpAddress::FromV4(raw);
}

std::span<const uint8_t> S(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

FlowInfo ControlFlow(const DpiContext* ctx) {
  FlowInfo f{kIpProtoTcp, 40000, 2121};
  f.id = 7;
  f.client_address = V4(10, 0, 0, 1);
  f.server_address = V4(10, 0, 0, 2);
  f.context = ctx;
  return f;
}

TEST_CASE("ftp: greeting, USER, EPSV and PASV at every split; PASS never kept",
          "[dpi][ftp]") {
  auto d = MakeFtpDissector();
  const std::vector<Chunk> chunks = {
      {false, Text("220 (vsFTPd 3.0.3)\r\n")},
      {true, Text("USER alice\r\n")},
      {false, Text("331 Please specify the password.\r\n")},
      {true, Text("PASS hunter2\r\n")},
      {false, Text("230 Login successful.\r\n")},
      {true, Text("EPSV\r\n")},
      {false, Text("229 Entering Extended Passive Mode (|||50123|)\r\n")},
      {true, Text("PASV\r\n")},
      {false, Text("227 Entering Passive Mode (10,0,0,9,195,80).\r\n")},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    FtpExpectations table;
    DpiContext ctx{&table, 1'000'000};
    const FlowInfo flow = ControlFlow(&ctx);
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, flow, chunks, split, &r, &a) == ParseState::kNeedMore);
    CHECK(r.protocol == AppProtocol::kFtp);
    CHECK(r.mail->greeting == "(vsFTPd 3.0.3)");
    CHECK(r.ftp->user == "alice");
    CHECK(r.ftp->data_endpoint == "10.0.0.9:50000");
    CHECK(r.Label() == "FTP \u00b7 alice");
    CHECK(table.size() == 2);
    CHECK(table.Claim(V4(10, 0, 0, 2), 50123, 1'000'001) == 7);  // EPSV: the server's address.
    CHECK(table.Claim(V4(10, 0, 0, 9), 50000, 1'000'001) == 7);
    CHECK(table.Claim(V4(10, 0, 0, 9), 50000, 1'000'001) == 0);  // Once.
    CHECK(a.empty());
  }
}

TEST_CASE("ftp: PORT and EPRT announce the client's endpoint", "[dpi][ftp]") {
  auto d = MakeFtpDissector();
  FtpExpectations table;
  DpiContext ctx{&table, 5};
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, ControlFlow(&ctx),
                       {{false, Text("220 ready\r\n")},
                        {true, Text("PORT 10,0,0,1,4,1\r\n")},
                        {false, Text("200 ok\r\n")},
                        {true, Text("EPRT |2|fd00::1|6446|\r\n")}},
                       Split::kWhole, &r, &a);
  CHECK(table.Claim(V4(10, 0, 0, 1), 1025, 6) == 7);
  uint8_t v6[16] = {0xfd, 0};
  v6[15] = 1;
  CHECK(table.Claim(IpAddress::FromV6(v6), 6446, 6) == 7);
  CHECK(r.ftp->data_endpoint == "[fd00::1]:6446");
}

TEST_CASE("ftp: AUTH TLS then the TLS ClientHello", "[dpi][ftp]") {
  auto d = MakeFtpDissector();
  testing::HelloSpec spec;
  spec.sni = "ftp.example.org";
  const std::vector<Chunk> chunks = {
      {false, Text("220 ProFTPD\r\n")},
      {true, Text("AUTH TLS\r\n")},
      {false, Text("234 AUTH TLS successful\r\n")},
      {true, testing::TlsRecords(testing::MakeClientHelloMessage(spec))},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    testing::FeedSession(*d, ControlFlow(nullptr), chunks, split, &r, &a);
    CHECK(r.protocol == AppProtocol::kFtp);
    CHECK(r.mail->starttls);
    CHECK(r.tls->sni == "ftp.example.org");
  }
}

TEST_CASE("ftp: an SMTP client after a 220 greeting is not FTP", "[dpi][ftp]") {
  auto d = MakeFtpDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, ControlFlow(nullptr),
                             {{false, Text("220 mx ESMTP\r\n")}, {true, Text("EHLO me\r\n")}},
                             Split::kWhole, &r, &a) == ParseState::kNotMine);
}

TEST_CASE("ftp: ftp_bad_data_endpoint for malformed PASV/EPSV replies", "[dpi][ftp]") {
  auto d = MakeFtpDissector();
  for (const char* reply : {"227 Entering Passive Mode (10,0,0,256,1,1)\r\n",
                            "227 Entering Passive Mode (10,0,0)\r\n",
                            "229 Entering Extended Passive Mode (|||70000|)\r\n",
                            "229 Entering Extended Passive Mode (|||\r\n"}) {
    INFO(reply);
    AppRecord r;
    DpiAnomalies a;
    testing::FeedSession(*d, ControlFlow(nullptr),
                         {{false, Text("220 hi\r\n")},
                          {true, Text("PASV\r\n")},
                          {false, Text(reply)}},
                         Split::kWhole, &r, &a);
    CHECK(a == DpiAnomalies{{"ftp_bad_data_endpoint", 1}});
    CHECK(r.ftp->data_endpoint.empty());
  }
}

TEST_CASE("ftp: endpoint parsers", "[dpi][ftp]") {
  auto e = ParseFtpHostPort(S("Entering Passive Mode (192,168,1,2,4,0)"));
  REQUIRE(e);
  CHECK(e->address == V4(192, 168, 1, 2));
  CHECK(e->port == 1024);
  CHECK_FALSE(ParseFtpHostPort(S("1,2,3,4,5")));
  CHECK_FALSE(ParseFtpHostPort(S("1,2,3,4,5,99999")));
  auto x = ParseFtpExtended(S("229 Extended (!!!21!)"));
  REQUIRE(x);
  CHECK_FALSE(x->has_address);
  CHECK(x->port == 21);
  CHECK_FALSE(ParseFtpExtended(S("|1|not-an-ip|21|")));
  CHECK_FALSE(ParseFtpExtended(S("|3|10.0.0.1|21|")));
  CHECK_FALSE(ParseFtpExtended(S("|1|10.0.0.1|x|")));
  CHECK_FALSE(ParseFtpExtended(S("|1|" + std::string(100, '1') + "|21|")));
}

TEST_CASE("ftp: the expectation table is bounded and expires", "[dpi][ftp]") {
  FtpExpectations t;
  CHECK(t.empty());
  for (uint32_t i = 0; i < FtpExpectations::kMaxEntries; ++i) {
    CHECK(t.Expect(V4(10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)), 2000, i + 1,
                   0));
  }
  CHECK(t.size() == FtpExpectations::kMaxEntries);
  CHECK_FALSE(t.Expect(V4(10, 2, 0, 0), 2000, 99, 0));  // The oldest made room.
  CHECK(t.size() == FtpExpectations::kMaxEntries);
  CHECK(t.Claim(V4(10, 1, 0, 0), 2000, 0) == 0);
  CHECK(t.Claim(V4(10, 1, 0, 1), 2000, 0) == 2);
  // One endpoint announced again and again stays one entry, the latest.
  FtpExpectations again;
  for (uint32_t i = 0; i < 3 * FtpExpectations::kMaxEntries; ++i) {
    CHECK(again.Expect(V4(10, 3, 0, 1), 2100, i + 1, i));
  }
  CHECK(again.size() == 1);
  CHECK(again.Claim(V4(10, 3, 0, 1), 2100, 3 * FtpExpectations::kMaxEntries) ==
        3 * FtpExpectations::kMaxEntries);
  // Past the time to live, nothing is claimed and the table empties.
  CHECK(t.Claim(V4(10, 2, 0, 0), 2000, FtpExpectations::kTtlUs + 1) == 0);
  CHECK(t.empty());
}

// The engine: a control connection's PASV reply makes the next connection
// to that endpoint FTP data, whatever it carries.
struct Flow : DpiCallbacks {
  const AppRecord* app() const override { return record.get(); }
  void SetApp(std::shared_ptr<const AppRecord> r) override { record = std::move(r); }
  void Done() override { done = true; }
  std::shared_ptr<const AppRecord> record;
  bool done = false;
  uint32_t packets = 0;
  uint32_t seq[2] = {0, 0};
};

void Send(DpiEngine& e, Flow& f, uint64_t id, uint16_t cport, uint16_t sport, bool from_client,
          const std::string& text, int64_t now) {
  DpiFlow flow;
  flow.id = id;
  flow.transport = kIpProtoTcp;
  flow.client_port = cport;
  flow.server_port = sport;
  flow.client_address = V4(10, 0, 0, 1);
  flow.server_address = V4(10, 0, 0, 2);
  flow.direction = from_client ? 0 : 1;
  flow.from_client = from_client;
  flow.stream_seq = f.seq[flow.direction];
  f.seq[flow.direction] += static_cast<uint32_t>(text.size());
  flow.payload_packets = ++f.packets;
  flow.timestamp_us = now;
  const Bytes bytes = Text(text);
  e.Process(flow, bytes, f);
}

TEST_CASE("ftp: the engine links a data connection to its control connection",
          "[dpi][ftp][engine]") {
  DpiEngine e;
  Flow control, data, again;
  Send(e, control, 1, 40000, 2121, false, "220 ready\r\n", 10);
  Send(e, control, 1, 40000, 2121, true, "USER bob\r\n", 11);
  Send(e, control, 1, 40000, 2121, false, "331 ok\r\n", 12);
  Send(e, control, 1, 40000, 2121, true, "PASV\r\n", 13);
  Send(e, control, 1, 40000, 2121, false, "227 Entering Passive Mode (10,0,0,2,195,80)\r\n", 14);
  REQUIRE(control.record != nullptr);
  CHECK(control.record->protocol == AppProtocol::kFtp);
  CHECK_FALSE(control.done);
  Send(e, data, 2, 40001, 50000, false, "-rw-r--r-- 1 ftp ftp 3 file.txt\r\n", 15);
  REQUIRE(data.record != nullptr);
  CHECK(data.record->protocol == AppProtocol::kFtpData);
  CHECK(data.record->ftp->control_id == 1);
  CHECK(data.record->Label() == "FTP-DATA");
  CHECK(data.done);
  // Claimed once: another connection to the same endpoint is not linked.
  Send(e, again, 3, 40002, 50000, false, "hello\r\n", 16);
  CHECK((again.record == nullptr || again.record->protocol != AppProtocol::kFtpData));
}

TEST_CASE("ftp: a data connection seen before its announcement is linked at its next packet",
          "[dpi][ftp][engine]") {
  // Another worker may inspect the data connection first: nothing claims
  // its bytes, so its next payload packet asks the table again.
  DpiEngine e;
  Flow control, data;
  Send(e, data, 2, 40001, 50000, false, "-rw-r--r-- 1 ftp ftp 3 a.txt\r\n", 10);
  CHECK(data.record == nullptr);
  CHECK_FALSE(data.done);
  Send(e, control, 1, 40000, 2121, false, "220 ready\r\n", 11);
  Send(e, control, 1, 40000, 2121, true, "PASV\r\n", 12);
  Send(e, control, 1, 40000, 2121, false, "227 Entering Passive Mode (10,0,0,2,195,80)\r\n", 13);
  Send(e, data, 2, 40001, 50000, false, "-rw-r--r-- 1 ftp ftp 3 b.txt\r\n", 14);
  REQUIRE(data.record != nullptr);
  CHECK(data.record->protocol == AppProtocol::kFtpData);
  CHECK(data.record->ftp->control_id == 1);
}

TEST_CASE("engine: TLS on 993 is IMAPS", "[dpi][engine][mail]") {
  DpiEngine e;
  Flow tls;
  testing::HelloSpec spec;
  spec.sni = "imap.example.org";
  const Bytes hello = testing::TlsRecords(testing::MakeClientHelloMessage(spec));
  DpiFlow flow;
  flow.id = 1;
  flow.transport = kIpProtoTcp;
  flow.client_port = 40000;
  flow.server_port = 993;
  flow.from_client = true;
  flow.payload_packets = 1;
  e.Process(flow, hello, tls);
  REQUIRE(tls.record != nullptr);
  CHECK(tls.record->protocol == AppProtocol::kImaps);
  CHECK(tls.record->tls->sni == "imap.example.org");
  CHECK(tls.record->Label() == "IMAPS \u00b7 imap.example.org");
}

}  // namespace
}  // namespace rustnet
