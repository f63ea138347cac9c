// SIP, RTSP, IRC, NNTP, rsync, Git, SOCKS and HTTP/2 from hand-built
// bytes, whole, byte by byte and at random splits; malformed cases named
// after their defect. No SOCKS password or SIP user part is kept.
#include "daemon/dpi/text_services.h"

#include <catch2/catch.hpp>
#include <string>

#include "daemon/dpi/http.h"
#include "tests/daemon/dpi/breadth_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put8;
using testing::PutBytes;
using testing::Run;
using testing::Tcp;
using testing::Text;
using testing::Udp;

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "t: Bob <sip:bob@biloxi.example.com:5070>\r\n"
    "User-Agent: Linphone/5.2\r\n"
    "Content-Length: 0\r\n\r\n";

TEST_CASE("sip_invite_domains_and_user_agent", "[dpi][text]") {
  auto d = MakeSipDissector();
  for (const auto& flow : {Udp(5080), Tcp(5080)}) {
    CHECK(d->Probe(flow, true, Text(kInvite)));
    const auto out = Run(*d, flow, {{true, Text(kInvite)}});
    CHECK(out.state == ParseState::kDone);
    CHECK(out.record.protocol == AppProtocol::kSip);
    CHECK(out.record.sip->method == "INVITE");
    CHECK(out.record.sip->from_domain == "atlanta.example.com");
    CHECK(out.record.sip->to_domain == "biloxi.example.com");
    CHECK(out.record.sip->user_agent == "Linphone/5.2");
    CHECK(out.record.Label().find("alice") == std::string::npos);
  }
}

TEST_CASE("sip_response_server_header", "[dpi][text]") {
  auto d = MakeSipDissector();
  const std::string response =
      "SIP/2.0 401 Unauthorized\r\nFrom: <sip:100@pbx.example.org>\r\n"
      "To: <sip:100@pbx.example.org>\r\nServer: Asterisk PBX 18\r\n\r\n";
  const auto out = Run(*d, Udp(5060), {{false, Text(response)}});
  CHECK(out.record.protocol == AppProtocol::kSip);
  CHECK(out.record.sip->user_agent == "Asterisk PBX 18");
  CHECK(out.record.sip->to_domain == "pbx.example.org");
}

TEST_CASE("sip_header_control_bytes", "[dpi][text]") {
  auto d = MakeSipDissector();
  const std::string bad =
      "OPTIONS sip:x@y.example SIP/2.0\r\nUser-Agent: a\x01"
      "b\r\nFrom: <sip:q@z.example>\r\n\r\n";
  const auto out = Run(*d, Udp(5060), {{true, Text(bad)}});
  CHECK(out.record.sip->user_agent == "a?b");
  CHECK(out.anomalies.count("sip_header_control_bytes") == 1);
  // HTTP's version is not SIP's.
  CHECK(Run(*d, Udp(5060), {{true, Text("OPTIONS sip:x HTTP/1.1\r\n\r\n")}}).state ==
        ParseState::kNotMine);
}

TEST_CASE("rtsp_request_not_http", "[dpi][text]") {
  const Bytes options = Text("OPTIONS rtsp://10.0.0.2:8554/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n");
  auto rtsp = MakeRtspDissector();
  CHECK(rtsp->Probe(Tcp(8554), true, options));
  const auto out = Run(*rtsp, Tcp(8554), {{true, options}});
  CHECK(out.record.protocol == AppProtocol::kRtsp);
  CHECK(
      Run(*rtsp, Tcp(554), {{false, Text("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")}}).record.protocol ==
      AppProtocol::kRtsp);
  // The HTTP dissector, which shares OPTIONS, lets it go.
  auto http = MakeHttpDissector();
  const auto h = Run(*http, Tcp(8554), {{true, options}});
  CHECK(h.state == ParseState::kNotMine);
  CHECK(h.record.protocol == AppProtocol::kUnknown);
  CHECK(Run(*rtsp, Tcp(554), {{true, Text("OPTIONS / HTTP/1.1\r\n\r\n")}}).state ==
        ParseState::kNotMine);
}

TEST_CASE("irc_registration_and_server_notice", "[dpi][text]") {
  auto d = MakeIrcDissector();
  const Bytes client = Text("PASS hunter2\r\nNICK moloch\r\nUSER moloch 0 * :Real Name\r\n");
  CHECK(d->Probe(Tcp(6668), true, client));
  CHECK(Run(*d, Tcp(6668), {{true, client}}).record.protocol == AppProtocol::kIrc);
  const Bytes server = Text(":irc.example.net NOTICE * :*** Looking up your hostname\r\n");
  CHECK(Run(*d, Tcp(6668), {{false, server}}).record.protocol == AppProtocol::kIrc);
}

TEST_CASE("irc_ftp_user_is_not_irc", "[dpi][text]") {
  auto d = MakeIrcDissector();
  const auto out = Run(*d, Tcp(21), {{true, Text("USER anonymous\r\nPASS guest\r\n")}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.record.protocol == AppProtocol::kUnknown);
  CHECK(Run(*d, Tcp(6667), {{false, Text(":x.example 99x hi\r\n")}}).state == ParseState::kNotMine);
}

TEST_CASE("nntp_greeting_and_command", "[dpi][text]") {
  auto d = MakeNntpDissector();
  const Bytes greeting = Text("200 Leafnode NNTP Daemon, version 1.11 running\r\n");
  CHECK(d->Probe(Tcp(1190), false, greeting));
  const auto out = Run(*d, Tcp(1190), {{false, greeting}, {true, Text("MODE READER\r\n")}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kNntp);
  // "200 " then an SMTP command: not NNTP.
  CHECK(Run(*d, Tcp(119), {{false, greeting}, {true, Text("EHLO x\r\n")}}).state ==
        ParseState::kNotMine);
}

TEST_CASE("rsync_and_git_openings", "[dpi][text]") {
  auto rsync = MakeRsyncDissector();
  CHECK(Run(*rsync, Tcp(8730), {{true, Text("@RSYNCD: 31.0\n")}}).record.protocol ==
        AppProtocol::kRsync);
  CHECK(Run(*rsync, Tcp(873), {{true, Text("@RSYNC: 31.0\n")}}).state == ParseState::kNotMine);
  auto git = MakeGitDissector();
  const Bytes request = Text("0033git-upload-pack /project.git\0host=example.com\0");
  CHECK(git->Probe(Tcp(9419), true, request));
  CHECK(Run(*git, Tcp(9419), {{true, request}}).record.protocol == AppProtocol::kGit);
  CHECK(Run(*git, Tcp(9418), {{true, Text("0033git-unknown-thing /x")}}).state ==
        ParseState::kNotMine);
}

TEST_CASE("socks5_domain_target_with_password_not_kept", "[dpi][text]") {
  auto d = MakeSocksDissector();
  Bytes client = {5, 2, 0, 2};  // Greeting: no auth, user/password.
  PutBytes(client, {1, 5});     // RFC 1929.
  PutBytes(client, Text("alice"));
  Put8(client, 9);
  PutBytes(client, Text("pa55word!"));
  PutBytes(client, {5, 1, 0, 3, 14});  // CONNECT, domain.
  PutBytes(client, Text("www.google.com"));
  Put16(client, 443);
  CHECK(d->Probe(Tcp(10800), true, client));
  const auto out = Run(*d, Tcp(10800), {{true, client}, {false, {5, 2, 1, 0}}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kSocks);
  CHECK(out.record.net->socks_version == "5");
  CHECK(out.record.net->socks_target == "www.google.com:443");
  CHECK(out.record.Label().find("pa55") == std::string::npos);
}

TEST_CASE("socks4a_and_socks4_targets", "[dpi][text]") {
  auto d = MakeSocksDissector();
  Bytes v4a = {4, 1};
  Put16(v4a, 80);
  PutBytes(v4a, {0, 0, 0, 1});
  PutBytes(v4a, Text("user"));
  Put8(v4a, 0);
  PutBytes(v4a, Text("example.org"));
  Put8(v4a, 0);
  const Bytes granted = {0, 0x5a, 0, 0, 0, 0, 0, 0};
  auto out = Run(*d, Tcp(1080), {{true, v4a}, {false, granted}});
  CHECK(out.record.net->socks_version == "4a");
  CHECK(out.record.net->socks_target == "example.org:80");
  Bytes v4 = {4, 1};
  Put16(v4, 8080);
  PutBytes(v4, {192, 0, 2, 7, 0});
  out = Run(*d, Tcp(1080), {{true, v4}, {false, granted}});
  CHECK(out.record.net->socks_target == "192.0.2.7:8080");
}

TEST_CASE("socks5_method_not_offered_or_bad_address_type", "[dpi][text]") {
  auto d = MakeSocksDissector();
  CHECK(Run(*d, Tcp(1080), {{true, {5, 1, 0}}, {false, {5, 2}}}).state == ParseState::kNotMine);
  const auto out = Run(*d, Tcp(1080), {{true, {5, 1, 0, 5, 1, 0, 9, 1, 2}}, {false, {5, 0}}});
  CHECK(out.record.protocol == AppProtocol::kSocks);
  CHECK(out.anomalies.count("socks_bad_address_type") == 1);
  CHECK_FALSE(d->Probe(Tcp(1080), true, Bytes{5, 0}));
}

TEST_CASE("http2_prior_knowledge_preface", "[dpi][text]") {
  auto d = MakeHttp2Dissector();
  Bytes preface = Text("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  PutBytes(preface, {0, 0, 0, 4, 0, 0, 0, 0, 0});  // Empty SETTINGS.
  CHECK(d->Probe(Tcp(8081), true, preface));
  CHECK(Run(*d, Tcp(8081), {{true, preface}}).record.protocol == AppProtocol::kHttp2);
  CHECK(Run(*d, Tcp(80), {{true, Text("PRI * HTTP/1.1\r\n\r\n")}}).state == ParseState::kNotMine);
}

}  // namespace
}  // namespace rustnet
