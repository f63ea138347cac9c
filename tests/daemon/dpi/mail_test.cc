// SMTP, IMAP, POP3: greetings, commands, STARTTLS then the TLS handshake of
// the same connection, at every split; lines too long; other protocols'
// greetings refused.
#include "daemon/dpi/mail.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::Split;
using testing::Text;

const FlowInfo kFlow{kIpProtoTcp, 40000, 2525};  // Not a mail port.

Bytes Hello(const std::string& sni) {
  testing::HelloSpec spec;
  spec.sni = sni;
  spec.alpn = {};
  return testing::TlsRecords(testing::MakeClientHelloMessage(spec));
}

TEST_CASE("smtp: greeting, EHLO, STARTTLS then the TLS ClientHello at every split",
          "[dpi][mail]") {
  auto d = MakeSmtpDissector();
  CHECK(d->Probe(kFlow, false, Text("220 mx.example.org ESMTP")));
  CHECK(d->Probe(kFlow, true, Text("EHLO client")));
  CHECK_FALSE(d->Probe(kFlow, false, Text("HTTP/1.1 200 OK")));
  const std::vector<Chunk> chunks = {
      {false, Text("220 mx.example.org ESMTP Postfix\r\n")},
      {true, Text("EHLO laptop.example.net\r\n")},
      {false, Text("250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n")},
      {true, Text("STARTTLS\r\n")},
      {false, Text("220 2.0.0 Ready to start TLS\r\n")},
      {true, Hello("mx.example.org")},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    INFO(static_cast<int>(split));
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, chunks, split, &r, &a) != ParseState::kNotMine);
    CHECK(r.protocol == AppProtocol::kSmtp);
    CHECK(r.mail->greeting == "mx.example.org ESMTP Postfix");
    CHECK(r.mail->client_domain == "laptop.example.net");
    CHECK(r.mail->starttls);
    CHECK(r.tls->client_hello_seen);
    CHECK(r.tls->sni == "mx.example.org");
    CHECK(r.Label() == "SMTP+TLS \u00b7 mx.example.org");
    CHECK(a.empty());
  }
}

TEST_CASE("smtp: a refused STARTTLS stays in the clear; MAIL ends the look", "[dpi][mail]") {
  auto d = MakeSmtpDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{false, Text("220 hi\r\n")},
                              {true, Text("HELO box\r\n")},
                              {false, Text("250 ok\r\n")},
                              {true, Text("STARTTLS\r\n")},
                              {false, Text("454 TLS not available\r\n")}},
                             Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kSmtp);
  CHECK(r.mail->starttls);
  CHECK_FALSE(r.tls->client_hello_seen);
  AppRecord r2;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{false, Text("220 hi\r\n")},
                              {true, Text("EHLO box\r\n")},
                              {false, Text("250 ok\r\n")},
                              {true, Text("MAIL FROM:<secret@example.org>\r\n")}},
                             Split::kWhole, &r2, &a) == ParseState::kDone);
  CHECK(r2.mail->client_domain == "box");
  CHECK(r2.Label().find("secret") == std::string::npos);
}

TEST_CASE("smtp: an FTP client after a 220 greeting is not SMTP", "[dpi][mail]") {
  auto d = MakeSmtpDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{false, Text("220 ProFTPD Server ready\r\n")},
                              {true, Text("USER anonymous\r\n")}},
                             Split::kWhole, &r, &a) == ParseState::kNotMine);
}

TEST_CASE("smtp: mail_line_too_long", "[dpi][mail]") {
  auto d = MakeSmtpDissector();
  for (Split split : {Split::kWhole, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{false, Text("220 " + std::string(5000, 'x'))}},
                               split, &r, &a) == ParseState::kNotMine);
    CHECK(a == DpiAnomalies{{"mail_line_too_long", 1}});
  }
}

TEST_CASE("imap: greeting, CAPABILITY, STARTTLS then TLS at every split", "[dpi][mail]") {
  auto d = MakeImapDissector();
  CHECK(d->Probe(kFlow, false, Text("* OK")));
  CHECK_FALSE(d->Probe(kFlow, false, Text("+OK")));
  const std::vector<Chunk> chunks = {
      {false, Text("* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n")},
      {true, Text("a1 CAPABILITY\r\n")},
      {false, Text("* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n")},
      {true, Text("a2 STARTTLS\r\n")},
      {false, Text("a2 OK Begin TLS negotiation now.\r\n")},
      {true, Hello("imap.example.org")},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, chunks, split, &r, &a) != ParseState::kNotMine);
    CHECK(r.protocol == AppProtocol::kImap);
    CHECK(r.mail->greeting == "[CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.");
    CHECK(r.mail->starttls);
    CHECK(r.tls->sni == "imap.example.org");
  }
}

TEST_CASE("imap: a client line without a tag and command is not IMAP", "[dpi][mail]") {
  auto d = MakeImapDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{false, Text("* OK ready\r\n")}, {true, Text("hello there\r\n")}},
                             Split::kWhole, &r, &a) == ParseState::kDone);
  // It was claimed on the greeting: the record stays IMAP, the look ends.
  CHECK(r.protocol == AppProtocol::kImap);
}

TEST_CASE("pop3: greeting, CAPA, STLS then TLS; USER is not kept", "[dpi][mail]") {
  auto d = MakePop3Dissector();
  const std::vector<Chunk> chunks = {
      {false, Text("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")},
      {true, Text("CAPA\r\n")},
      {false, Text("+OK\r\nSTLS\r\nUSER\r\n.\r\n")},
      {true, Text("STLS\r\n")},
      {false, Text("+OK Begin TLS\r\n")},
      {true, Hello("pop.example.org")},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, chunks, split, &r, &a) != ParseState::kNotMine);
    CHECK(r.protocol == AppProtocol::kPop3);
    CHECK(r.mail->starttls);
    CHECK(r.tls->sni == "pop.example.org");
  }
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow,
                             {{false, Text("+OK hi\r\n")},
                              {true, Text("USER alice\r\n")},
                              {false, Text("+OK\r\n")},
                              {true, Text("PASS hunter2\r\n")}},
                             Split::kWhole, &r, &a) == ParseState::kDone);
  CHECK(r.protocol == AppProtocol::kPop3);
  CHECK(r.Label() == "POP3");
}

TEST_CASE("mail: implicit TLS ports are relabelled, others left alone", "[dpi][mail]") {
  AppRecord r;
  r.protocol = AppProtocol::kTls;
  RelabelImplicitTls(443, &r);
  CHECK(r.protocol == AppProtocol::kTls);
  RelabelImplicitTls(993, &r);
  CHECK(r.protocol == AppProtocol::kImaps);
  r.protocol = AppProtocol::kTls;
  RelabelImplicitTls(465, &r);
  CHECK(r.protocol == AppProtocol::kSmtps);
  r.protocol = AppProtocol::kTls;
  RelabelImplicitTls(995, &r);
  CHECK(r.protocol == AppProtocol::kPops);
  r.protocol = AppProtocol::kHttp;
  RelabelImplicitTls(465, &r);
  CHECK(r.protocol == AppProtocol::kHttp);
}

}  // namespace
}  // namespace rustnet
