#include "daemon/dpi/tls.h"

#include <catch2/catch.hpp>

#include "common/flow_key.h"
#include "tests/daemon/dpi/dpi_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Chunk;
using testing::HelloSpec;
using testing::Split;

const FlowInfo kFlow{kIpProtoTcp, 51000, 443};

// A ServerHello body: legacy version 1.2, random, empty session id,
// `cipher`, null compression, then `extensions` (a block with its length;
// nothing if empty).
Bytes ServerHelloBody(uint16_t cipher, const Bytes& extensions) {
  Bytes body;
  testing::Put16(body, 0x0303);
  body.insert(body.end(), 32, 0x44);
  testing::Put8(body, 0);
  testing::Put16(body, cipher);
  testing::Put8(body, 0);
  testing::PutBytes(body, extensions);
  return body;
}

// A handshake message of `type` around `body`.
Bytes Handshake(uint8_t type, const Bytes& body) {
  Bytes msg = {type, static_cast<uint8_t>(body.size() >> 16)};
  testing::Put16(msg, static_cast<uint16_t>(body.size()));
  testing::PutBytes(msg, body);
  return msg;
}

// One extension (type, length, data).
Bytes Extension(uint16_t type, const Bytes& data) {
  Bytes ext;
  testing::Put16(ext, type);
  testing::Put16(ext, static_cast<uint16_t>(data.size()));
  testing::PutBytes(ext, data);
  return ext;
}

// An extensions block: its 2-byte length, then `entries`.
Bytes ExtensionBlock(const Bytes& entries) {
  Bytes block;
  testing::Put16(block, static_cast<uint16_t>(entries.size()));
  testing::PutBytes(block, entries);
  return block;
}

Bytes ServerHello(uint16_t version, uint16_t cipher) {
  Bytes selected;
  testing::Put16(selected, version);
  return testing::TlsRecords(
      Handshake(2, ServerHelloBody(cipher, ExtensionBlock(Extension(0x002b, selected)))));
}

// A ClientHello body: TLS 1.2, one cipher suite, null compression, and
// `extensions` (a block with its length).
Bytes ClientHelloBody(const Bytes& extensions) {
  Bytes body;
  testing::Put16(body, 0x0303);
  body.insert(body.end(), 32, 0x11);
  testing::Put8(body, 0);  // Empty session id.
  testing::Put16(body, 2);
  testing::Put16(body, 0x1301);
  testing::Put8(body, 1);
  testing::Put8(body, 0);
  testing::PutBytes(body, extensions);
  return body;
}

TEST_CASE("tls: ClientHello and ServerHello whole, byte by byte and at random splits",
          "[dpi][tls]") {
  auto d = MakeTlsDissector();
  HelloSpec spec;
  spec.ech = true;
  const std::vector<Chunk> chunks = {
      {true, testing::TlsRecords(testing::MakeClientHelloMessage(spec))},
      {false, ServerHello(0x0304, 0x1301)},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, chunks, split, &r, &a) == ParseState::kDone);
    CHECK(r.protocol == AppProtocol::kTls);
    CHECK(r.tls->sni == "example.com");
    CHECK(r.tls->alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(r.tls->offered_versions == std::vector<std::string>{"TLS 1.3", "TLS 1.2"});
    CHECK(r.tls->version == "TLS 1.3");
    CHECK(r.tls->cipher_suite == "0x1301");
    CHECK(r.tls->ech_offered);
    // JA4 a-part: TCP, TLS 1.3, SNI, 4 ciphers and 5 extensions without
    // GREASE, ALPN "h2".
    CHECK(r.tls->ja4.substr(0, 10) == "t13d0405h2");
    CHECK(r.tls->ja4.size() == 36);
    CHECK(a.empty());
  }
}

TEST_CASE("tls: a ClientHello over several records and segments is reassembled",
          "[dpi][tls]") {
  // Post-quantum key shares make ClientHellos of 1.5-2 KB: several TCP
  // segments, here also several records.
  auto d = MakeTlsDissector();
  HelloSpec spec;
  spec.padding = 3000;
  const Bytes records = testing::TlsRecords(testing::MakeClientHelloMessage(spec), 1000);
  AppRecord r;
  DpiAnomalies a;
  testing::FeedSession(*d, kFlow, {{true, records}}, Split::kRandom, &r, &a, 7);
  CHECK(r.tls->sni == "example.com");
  CHECK(r.tls->client_hello_seen);
}

TEST_CASE("tls: JA4 letters follow the spec: no SNI is 'i', ALPN first and last char",
          "[dpi][tls]") {
  HelloSpec spec;
  spec.sni = "";
  spec.alpn = {"http/1.1"};
  spec.versions = {};
  TlsFacts t;
  const Bytes msg = testing::MakeClientHelloMessage(spec);
  REQUIRE(ParseClientHello(std::span<const uint8_t>(msg).subspan(4), false, &t, nullptr));
  CHECK(t.ja4.substr(0, 10) == "t12i0402h1");
  TlsFacts q;
  REQUIRE(ParseClientHello(std::span<const uint8_t>(msg).subspan(4), true, &q, nullptr));
  CHECK(q.ja4[0] == 'q');
}

TEST_CASE("tls: tls_sni_length_past_extension is counted, the rest still parsed",
          "[dpi][tls]") {
  HelloSpec spec;
  Bytes msg = testing::MakeClientHelloMessage(spec);
  // The SNI name length sits right after "00 00 LL LL LL LL 00" of the
  // extension; make it claim more than the extension holds.
  const Bytes needle = {0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  auto it = std::search(msg.begin(), msg.end(), needle.begin(), needle.end());
  REQUIRE(it != msg.end());
  *(it + 1) = 0x7f;
  TlsFacts t;
  DpiAnomalies a;
  CHECK(ParseClientHello(std::span<const uint8_t>(msg).subspan(4), false, &t, &a));
  CHECK(a["tls_sni_length_past_extension"] == 1);
  CHECK(t.sni.empty());
  CHECK(t.alpn.size() == 2);
}

TEST_CASE("tls: truncated ClientHello bodies fail cleanly at every length", "[dpi][tls]") {
  const Bytes msg = testing::MakeClientHelloMessage(HelloSpec{});
  const auto body = std::span<const uint8_t>(msg).subspan(4);
  for (size_t n = 0; n < body.size(); ++n) {
    TlsFacts t;
    DpiAnomalies a;
    const bool ok = ParseClientHello(body.subspan(0, n), false, &t, &a);
    if (!ok) CHECK_FALSE(a.empty());
  }
}

TEST_CASE("tls: tls_handshake_too_long past 64 KiB", "[dpi][tls]") {
  auto d = MakeTlsDissector();
  // A handshake message claiming 100 KB, sent in full records.
  Bytes hs = {1, 0x01, 0x86, 0xa0};
  hs.resize(4 + 100'000, 0);
  AppRecord r;
  DpiAnomalies a;
  const ParseState s =
      testing::FeedSession(*d, kFlow, {{true, testing::TlsRecords(hs)}}, Split::kWhole, &r, &a);
  CHECK(s == ParseState::kNotMine);
  CHECK(a["tls_handshake_too_long"] == 1);
}

TEST_CASE("tls: probe accepts a ClientHello start and refuses other bytes", "[dpi][tls]") {
  auto d = MakeTlsDissector();
  const Bytes hello = testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}));
  CHECK(d->Probe(kFlow, true, hello));
  CHECK(d->Probe(kFlow, true, std::span<const uint8_t>(hello).subspan(0, 1)));
  CHECK_FALSE(d->Probe(kFlow, false, hello));
  CHECK_FALSE(d->Probe(kFlow, true, testing::Text("GET / HTTP/1.1\r\n")));
  CHECK_FALSE(d->Probe(FlowInfo{kIpProtoUdp, 1, 443}, true, hello));
}

// Regression tests for results that were once ignored: a ServerHello that
// fails to parse is counted, leaves no version or cipher behind, and ends
// the session (the server's side has nothing more to tell).
void CheckServerHelloRefused(const Bytes& server_records, std::string_view anomaly) {
  auto d = MakeTlsDissector();
  const std::vector<Chunk> chunks = {
      {true, testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}))},
      {false, server_records},
  };
  for (Split split : {Split::kWhole, Split::kByteByByte, Split::kRandom}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, chunks, split, &r, &a) == ParseState::kDone);
    CHECK(r.tls->sni == "example.com");
    CHECK(r.tls->version.empty());
    CHECK(r.tls->cipher_suite.empty());
    CHECK(a[std::string(anomaly)] == 1);
  }
}

TEST_CASE("tls: tls_server_hello_truncated: a ServerHello cut inside its message",
          "[dpi][tls]") {
  Bytes body = ServerHelloBody(0x1301, {});
  body.resize(2 + 32 + 1 + 1);  // Half the cipher suite: the message says so too.
  CheckServerHelloRefused(testing::TlsRecords(Handshake(2, body)), "tls_server_hello_truncated");
}

TEST_CASE("tls: tls_extensions_past_end in a ServerHello sets no version from its legacy field",
          "[dpi][tls]") {
  Bytes selected;
  testing::Put16(selected, 0x0304);
  Bytes block = ExtensionBlock(Extension(0x002b, selected));
  block[1] = 100;  // The block claims more than the message holds.
  CheckServerHelloRefused(testing::TlsRecords(Handshake(2, ServerHelloBody(0x1301, block))),
                          "tls_extensions_past_end");
}

TEST_CASE("tls: tls_extension_past_end and tls_supported_versions_malformed in a ServerHello",
          "[dpi][tls]") {
  Bytes entry = Extension(0x002b, {0x03, 0x04});
  entry[3] = 9;  // The extension claims more than its block.
  CheckServerHelloRefused(
      testing::TlsRecords(Handshake(2, ServerHelloBody(0x1301, ExtensionBlock(entry)))),
      "tls_extension_past_end");
  CheckServerHelloRefused(testing::TlsRecords(Handshake(
                              2, ServerHelloBody(0x1301, ExtensionBlock(Extension(
                                                             0x002b, {0x03, 0x04, 0x00}))))),
                          "tls_supported_versions_malformed");
}

TEST_CASE("tls: a ServerHello without extensions (TLS 1.2) is read", "[dpi][tls]") {
  auto d = MakeTlsDissector();
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(
            *d, kFlow,
            {{true, testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}))},
             {false, testing::TlsRecords(Handshake(2, ServerHelloBody(0xc02f, {})))}},
            Split::kWhole, &r, &a) == ParseState::kNeedMore);  // Its Certificate may follow.
  CHECK(r.tls->version == "TLS 1.2");
  CHECK(r.tls->cipher_suite == "0xc02f");
  CHECK(a.empty());
}

TEST_CASE("tls: tls_certificate_too_long: a TLS 1.2 chain over the cap is given up, counted",
          "[dpi][tls]") {
  // ServerHello and the start of a 100 KB Certificate in one record: over
  // kMaxTlsCertificateMessageBytes, so not waited for.
  Bytes messages = Handshake(2, ServerHelloBody(0x1301, {}));
  testing::PutBytes(messages, {11, 0x01, 0x86, 0xa0, 0, 0, 0});
  auto d = MakeTlsDissector();
  for (Split split : {Split::kWhole, Split::kByteByByte}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(
              *d, kFlow,
              {{true, testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}))},
               {false, testing::TlsRecords(messages)}},
              split, &r, &a) == ParseState::kDone);
    CHECK(r.tls->cipher_suite == "0x1301");
    CHECK(r.tls->certificate_cn.empty());
    CHECK(a == DpiAnomalies{{"tls_certificate_too_long", 1}});
  }
}

TEST_CASE("tls: the server's messages after a TLS 1.3 hello are not read, however large",
          "[dpi][tls]") {
  Bytes selected;
  testing::Put16(selected, 0x0304);
  Bytes messages = Handshake(2, ServerHelloBody(0x1301, ExtensionBlock(Extension(0x002b, selected))));
  testing::PutBytes(messages, {11, 0x01, 0x86, 0xa0, 0, 0, 0});
  auto d = MakeTlsDissector();
  for (Split split : {Split::kWhole, Split::kByteByByte}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(
              *d, kFlow,
              {{true, testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}))},
               {false, testing::TlsRecords(messages)}},
              split, &r, &a) == ParseState::kDone);
    CHECK(r.tls->version == "TLS 1.3");
    CHECK(a.empty());
  }
}

TEST_CASE("tls: tls_bad_record_version and tls_record_too_long are not TLS", "[dpi][tls]") {
  auto d = MakeTlsDissector();
  Bytes records = testing::TlsRecords(testing::MakeClientHelloMessage(HelloSpec{}));
  records[1] = 4;
  for (Split split : {Split::kWhole, Split::kByteByByte}) {
    AppRecord r;
    DpiAnomalies a;
    CHECK(testing::FeedSession(*d, kFlow, {{true, records}}, split, &r, &a) ==
          ParseState::kNotMine);
    CHECK(a["tls_bad_record_version"] == 1);
  }
  // RFC 5246 §6.2.3: a record's payload is at most 2^14 + 2048 bytes.
  const Bytes big_record = {22, 3, 1, 0x50, 0x01, 1, 0, 0};
  AppRecord r;
  DpiAnomalies a;
  CHECK(testing::FeedSession(*d, kFlow, {{true, big_record}}, Split::kWhole, &r, &a) ==
        ParseState::kNotMine);
  CHECK(a["tls_record_too_long"] == 1);
}

TEST_CASE("tls: malformed ClientHello lists are counted by name, the rest still read",
          "[dpi][tls]") {
  Bytes sni_list;
  testing::Put16(sni_list, 10);
  testing::Put8(sni_list, 0);
  testing::Put16(sni_list, 7);
  testing::PutBytes(sni_list, testing::Text("a.test!"));
  Bytes entries = Extension(0x0000, sni_list);
  testing::PutBytes(entries, Extension(0x0010, {0, 4, 2, 'h', '2', 9}));  // ALPN: 2nd past end.
  testing::PutBytes(entries, Extension(0x002b, {3, 0x03, 0x04, 0x03}));   // Odd versions.
  testing::PutBytes(entries, Extension(0x000d, {0, 3, 0x04, 0x03, 0x08}));  // Odd sigalgs.
  const Bytes body = ClientHelloBody(ExtensionBlock(entries));
  TlsFacts t;
  DpiAnomalies a;
  CHECK(ParseClientHello(body, false, &t, &a));
  CHECK(t.sni == "a.test!");
  CHECK(t.alpn == std::vector<std::string>{"h2"});
  CHECK(t.offered_versions == std::vector<std::string>{"TLS 1.3"});
  CHECK(a == DpiAnomalies{{"tls_alpn_length_past_extension", 1},
                          {"tls_supported_versions_malformed", 1},
                          {"tls_signature_algorithms_malformed", 1}});
  CHECK(t.ja4.substr(0, 10) == "t13d0104h2");
}

TEST_CASE("tls: tls_client_hello_bad_session_id and bad cipher suites leave no facts",
          "[dpi][tls]") {
  Bytes body = ClientHelloBody({});
  body[34] = 33;  // A session id longer than 32.
  TlsFacts t;
  DpiAnomalies a;
  CHECK_FALSE(ParseClientHello(body, false, &t, &a));
  CHECK(a["tls_client_hello_bad_session_id"] == 1);
  CHECK_FALSE(t.client_hello_seen);
  CHECK(t.ja4.empty());
  body = ClientHelloBody({});
  body[36] = 3;  // An odd cipher suites length.
  CHECK_FALSE(ParseClientHello(body, false, &t, &a));
  CHECK(a["tls_client_hello_bad_cipher_suites"] == 1);
  CHECK_FALSE(t.client_hello_seen);
}

}  // namespace
}  // namespace rustnet
