// The direct JSON writer against its oracle, protobuf's own JSON printer
// (util::MessageToJsonString with the options `--dump json` used before):
// byte for byte, and as JSON values (both parsed back with
// JsonStringToMessage and compared with MessageDifferencer), for every
// connection of every fixture capture and for hand-built edge cases. The
// dump's own path (AppendJsonLine from a tracked Connection, no message)
// must give the same bytes on every fixture connection.
#include "daemon/snapshot/json_writer.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "daemon/capture/pcap_source.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/snapshot/convert.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

namespace v1 = rustnet::v1;
using google::protobuf::util::MessageDifferencer;

// The oracle. nullopt where protobuf refuses (out-of-range times).
std::optional<std::string> ProtobufJson(const v1::Connection& m) {
  // Serializing invalid UTF-8 in a string field logs an error per field.
  google::protobuf::LogSilencer quiet;
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  if (!google::protobuf::util::MessageToJsonString(m, &json, options).ok()) return std::nullopt;
  return json;
}

std::string Mine(const v1::Connection& m) {
  std::string json;
  REQUIRE(AppendConnectionJson(m, &json));
  return json;
}

v1::Connection Parse(const std::string& json) {
  v1::Connection parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  INFO(json);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return parsed;
}

bool HasInvalidUtf8(const google::protobuf::Message& m);

// Same text as protobuf's printer, and the same value once parsed; when the
// message's strings are valid UTF-8, also the message itself back.
void CheckSame(const v1::Connection& m) {
  const auto oracle = ProtobufJson(m);
  REQUIRE(oracle.has_value());
  const std::string mine = Mine(m);
  CHECK(mine == *oracle);
  const v1::Connection parsed = Parse(mine);
  std::string report;
  MessageDifferencer diff;
  diff.ReportDifferencesToString(&report);
  bool same = diff.Compare(Parse(*oracle), parsed);
  if (!HasInvalidUtf8(m)) same = diff.Compare(m, parsed) && same;
  INFO(report);
  CHECK(same);
}

bool ValidUtf8(const std::string& s) {
  v1::Endpoint probe;
  probe.set_address(s);
  google::protobuf::LogSilencer quiet;
  v1::Endpoint back;
  // ParseFromString verifies UTF-8 in proto3 string fields.
  return back.ParseFromString(probe.SerializeAsString());
}

bool HasInvalidUtf8(const google::protobuf::Message& m) {
  const auto* refl = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(m, f); ++i) {
          if (!ValidUtf8(refl->GetRepeatedString(m, f, i))) return true;
        }
      } else if (!ValidUtf8(refl->GetString(m, f))) {
        return true;
      }
    } else if (f->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(m, f); ++i) {
          if (HasInvalidUtf8(refl->GetRepeatedMessage(m, f, i))) return true;
        }
      } else if (HasInvalidUtf8(refl->GetMessage(m, f))) {
        return true;
      }
    }
  }
  return false;
}

// Every field of `m` and of its submessages is set (non-default): a field
// added to the proto without a line in the writer fails the full case.
void CheckEveryFieldSet(const google::protobuf::Message& m, const std::string& path) {
  const auto* desc = m.GetDescriptor();
  const auto* refl = m.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    const std::string name = path + "." + f->name();
    INFO(name);
    if (f->is_repeated()) {
      CHECK(refl->FieldSize(m, f) >= 2);
      continue;
    }
    CHECK(refl->HasField(m, f));
    if (f->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
        f->message_type()->file()->package() == "rustnet.v1") {
      CheckEveryFieldSet(refl->GetMessage(m, f), name);
    }
  }
}

void FillProcess(v1::ProcessInfo* p, const std::string& tag) {
  p->set_pid(4242);
  p->set_name("nginx" + tag);
  p->add_command_line("/usr/sbin/nginx");
  p->add_command_line("-g \"daemon off;\" <x>");
  p->set_executable("/usr/sbin/nginx");
  p->set_uid(33);
  p->set_user("www-data");
  p->set_unit("nginx.service");
  p->set_user_unit("app-firefox.scope");
  p->set_container_runtime("docker");
  p->set_container_id("0123456789abcdef");
  p->set_cgroup("/system.slice/nginx.service");
  p->set_exited(true);
  p->set_method(v1::ATTRIBUTION_METHOD_LISTENER);
  p->mutable_started()->set_seconds(1'700'000'000);
  p->mutable_started()->set_nanos(5'000'000);
  for (uint32_t pid : {1200u, 1u}) {
    auto* a = p->add_lineage();
    a->set_pid(pid);
    a->set_name(pid == 1 ? "systemd" : "bash \"login\"");
  }
  p->set_netns_inode(4026532000u);
  p->set_netns_name("blue");
  p->set_ebpf(true);
  p->mutable_kubernetes()->set_pod("web-7d4b9c-xk2lp" + tag);
  p->mutable_kubernetes()->set_namespace_("shop");
  p->mutable_kubernetes()->set_container("nginx \"main\"");
  p->mutable_kubernetes()->set_pod_uid("5f0c3a2e-8b1d-4c7e-9a21-0d3e4f5a6b7c");
}

void FillTls(v1::TlsInfo* t) {
  t->set_sni("example.com");
  t->add_alpn("h2");
  t->add_alpn("http/1.1");
  t->add_offered_versions("TLS 1.3");
  t->add_offered_versions("TLS 1.2");
  t->set_version("TLS 1.3");
  t->set_cipher_suite("0x1301");
  t->set_ech_offered(true);
  t->set_ja4("t13d1516h2_8daaf6152771_e5627efa2ab1");
  t->set_certificate_cn("www.example.com");
  t->add_certificate_names("www.example.com");
  t->add_certificate_names("*.cdn.example.com");
}

// Every field of every message set, none to its default.
v1::Connection FullConnection() {
  v1::Connection c;
  c.set_id(std::numeric_limits<uint64_t>::max());
  c.set_protocol(v1::PROTOCOL_TCP);
  c.set_ip_version(6);
  c.mutable_local()->set_address("2001:db8::1");
  c.mutable_local()->set_port(443);
  c.mutable_local()->set_mac("02:00:00:00:00:01");
  c.mutable_remote()->set_address("10.0.0.2");
  c.mutable_remote()->set_port(65535);
  c.mutable_remote()->set_mac("02:00:00:00:00:02");
  c.set_direction(v1::DIRECTION_INBOUND);
  c.set_state(v1::CONNECTION_STATE_CLOSE_WAIT);
  c.mutable_first_seen()->set_seconds(1'700'000'000);
  c.mutable_first_seen()->set_nanos(123'456'789);
  c.mutable_last_seen()->set_seconds(1'700'000'060);
  c.mutable_last_seen()->set_nanos(120'000);
  c.mutable_sent()->set_packets(1);
  c.mutable_sent()->set_bytes(18'446'744'073'709'551'615ULL);
  c.mutable_received()->set_packets(7);
  c.mutable_received()->set_bytes(9'007'199'254'740'993ULL);  // 2^53 + 1
  c.set_rate_in(1234.5678);
  c.set_rate_out(0.1);
  c.set_service("https");
  auto* tcp = c.mutable_tcp();
  tcp->mutable_handshake_rtt()->set_seconds(1);
  tcp->mutable_handshake_rtt()->set_nanos(61'000);
  tcp->set_retransmissions(3);
  tcp->set_out_of_order(4);
  tcp->set_zero_windows(5);
  tcp->set_flags_seen(0xff);
  tcp->mutable_srtt()->set_nanos(43'500'000);
  tcp->mutable_rttvar()->set_nanos(9'000);
  tcp->mutable_local_leg_rtt()->set_nanos(3'000'000);
  tcp->mutable_remote_leg_rtt()->set_seconds(2);
  c.mutable_icmp()->set_echo_id(1);
  c.mutable_icmp()->set_last_type(8);
  c.mutable_icmp()->set_last_code(255);
  c.mutable_arp()->set_requests(2);
  c.mutable_arp()->set_replies(1);
  c.mutable_arp()->set_resolved_mac("aa:bb:cc:dd:ee:ff");
  c.set_interface("eth0");
  c.set_fragments(12);
  auto* app = c.mutable_app();
  app->set_protocol(v1::APP_PROTOCOL_QUIC);
  app->set_label("HTTPS \u00b7 example.com");
  auto* http = app->mutable_http();
  http->set_method("GET");
  http->set_host("example.com:8080");
  http->set_path("/a?b=\"c\"&d=<e>");
  http->set_user_agent("curl/7.88.1");
  http->set_status(200);
  http->set_version("HTTP/1.1");
  FillTls(app->mutable_tls());
  auto* dns = app->mutable_dns();
  dns->set_query("example.com");
  dns->set_query_type("AAAA");
  dns->set_response_code("NOERROR");
  dns->add_answers("2001:db8::2");
  dns->add_answers("");
  dns->set_over_tcp(true);
  for (int i = 0; i < 2; ++i) {
    v1::DnsRecord* rec = dns->add_records();
    rec->set_type(i == 0 ? "HTTPS" : "SRV");
    rec->set_name("_sip._udp.example.com");
    rec->set_target(i == 0 ? "." : "sip1.example.com");
    rec->set_port(8443);
    rec->set_priority(10);
    rec->add_alpn("h2");
    rec->add_alpn("h3");
    rec->set_txt_length(42);
  }
  dns->set_suspicious_name(true);
  dns->set_unusual_name(true);
  dns->set_opcode("IQUERY");
  app->mutable_ssh()->set_client("SSH-2.0-OpenSSH_9.2p1");
  app->mutable_ssh()->set_server("SSH-2.0-dropbear");
  app->mutable_ssh()->set_protocol_version("2.0");
  app->mutable_ssh()->set_client_software("OpenSSH_9.2p1");
  app->mutable_ssh()->set_server_software("dropbear");
  app->mutable_quic()->set_version("v1");
  FillTls(app->mutable_quic()->mutable_tls());
  app->set_dhcp_hostname("laptop");
  app->mutable_mail()->set_greeting("mx.example.org ESMTP \"x\"");
  app->mutable_mail()->set_client_domain("laptop.example.net");
  app->mutable_mail()->set_starttls(true);
  app->mutable_ftp()->set_user("alice");
  app->mutable_ftp()->set_control_connection_id(18'446'744'073'709'551'615u);
  app->mutable_ftp()->set_data_endpoint("[2001:db8::1]:50000");
  auto* db = app->mutable_database();
  db->set_user("app");
  db->set_database("orders");
  db->set_server_version("10.11.6-MariaDB");
  db->set_command("GET");
  db->set_tls_requested(true);
  auto* lan = app->mutable_lan();
  lan->set_user("alice");
  lan->set_version("SMB 3.1.1");
  lan->set_name("WORKGROUP<1D>");
  lan->set_agent("Linux UPnP/1.0");
  lan->set_message_type("AS-REQ");
  lan->set_tls(true);
  // Issue 19 part B.
  app->mutable_mqtt()->set_version("3.1.1");
  app->mutable_mqtt()->set_client_id("sensor-\"7\"");
  app->mutable_mqtt()->set_topic("home/+/temp");
  app->mutable_sip()->set_method("INVITE");
  app->mutable_sip()->set_from_domain("atlanta.example.com");
  app->mutable_sip()->set_to_domain("biloxi.example.com");
  app->mutable_sip()->set_user_agent("Linphone/5.2");
  app->mutable_snmp()->set_version("2c");
  app->mutable_snmp()->set_pdu_type("get-request");
  app->mutable_tftp()->set_file("pxelinux.0");
  app->mutable_tftp()->set_operation("read");
  app->mutable_socks()->set_version("5");
  app->mutable_socks()->set_target("www.example.com:443");
  app->mutable_ntp()->set_version(4);
  app->mutable_ntp()->set_mode("client");
  app->mutable_ntp()->set_stratum(2);
  app->mutable_stun()->set_message_type("binding-success");
  app->mutable_stun()->set_mapped_address("[2001:db8::1]:3478");
  app->mutable_stun()->set_software("libjuice");
  app->mutable_stun()->set_realm("turn.example.com");
  c.set_hostname("example.com");
  c.set_hostname_source("sni");
  FillProcess(c.mutable_process(), "");
  FillProcess(c.mutable_remote_process(), "-peer");
  c.set_closed(true);
  c.mutable_closed_at()->set_seconds(1'700'000'123);
  c.mutable_closed_at()->set_nanos(456'000);
  c.set_close_reason(v1::CLOSE_REASON_TIMEOUT);
  for (v1::Location* l : {c.mutable_remote_location(), c.mutable_local_location()}) {
    l->set_country_code("DE");
    l->set_country_name("Germany \u00fc \"x\"");
    l->set_city("K\u00f6ln");
    l->set_asn(4'294'967'295u);
    l->set_as_org("Org \"q\" \\ \x01 \xe2\x80\xa8");
    l->set_special("private");
  }
  for (v1::MacVendor* v : {c.mutable_local_mac_vendor(), c.mutable_remote_mac_vendor()}) {
    v->set_vendor("Acme, \"Inc.\"");
    v->set_locally_administered(true);
    v->set_multicast(true);
  }
  c.set_own_lookup(true);
  c.mutable_idle_timeout()->set_seconds(600);
  c.mutable_idle_timeout()->set_nanos(5000);
  return c;
}

TEST_CASE("json_writer_matches_protobuf_on_every_fixture_connection", "[json]") {
  const auto files = testing::FixtureCaptures();
  REQUIRE(files.size() >= 30);
  size_t total = 0;
  size_t with_app = 0;
  for (const std::string& file : files) {
    INFO(file);
    auto source = PcapSource::OpenFile(file, "");
    REQUIRE(source.ok());
    PipelineOptions p;
    p.workers = 1;
    p.publish_snapshots = false;
    p.keep_removed = true;  // Expired connections too, as --dump-expired.
    Pipeline pipeline(p, std::move(*source));
    pipeline.Start();
    pipeline.Join();
    const int64_t now = pipeline.clock_us();
    size_t n = 0;
    v1::Connection message;
    pipeline.ForEachConnection([&](const Connection& c) {
      ToProto(c, now, pipeline.source().name(), &message);
      CheckSame(message);
      // The dump's path, straight from the connection: the same bytes.
      std::string direct;
      AppendJsonLine(c, now, pipeline.source().name(), &direct);
      CHECK(direct == Mine(message));
      if (message.has_app()) ++with_app;
      ++n;
    });
    CHECK(n > 0);
    total += n;
  }
  CHECK(total > 100);
  CHECK(with_app > 50);
}

// Tracked connections built by hand, through the dump's path and through
// ToProto + the oracle: each protocol's block, each kind of DPI record,
// hostile DPI text, clamped times, a DNS-cache name that is empty.
TEST_CASE("json_writer_dump_path_on_hand_built_connections", "[json]") {
  const uint8_t a4[4] = {192, 0, 2, 1};
  const uint8_t b4[4] = {198, 51, 100, 7};
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};
  uint8_t b6[16] = {0xfe, 0x80};
  a6[15] = 1;
  b6[15] = 2;
  const int64_t now = 1'700'000'000'250'000;
  const std::string hostile = "x\"\\<>\x01\x7f\xc2\x85\xe2\x80\xa8\xc3(\xff\xf0\x9f\x98\x80";
  auto make = [&](uint8_t protocol, bool v6) {
    Connection c;
    c.key.addr_a = v6 ? IpAddress::FromV6(a6) : IpAddress::FromV4(a4);
    c.key.addr_b = v6 ? IpAddress::FromV6(b6) : IpAddress::FromV4(b4);
    c.key.protocol = protocol;
    c.key.ip_version = v6 ? 6 : 4;
    c.key.port_a = 40000;
    c.key.port_b = 443;
    c.id = 77;
    c.first_seen_us = now - 3'000'123;
    c.last_seen_us = now - 1;
    c.packets[0] = 3;
    c.bytes[0] = 180;
    c.packets[1] = 2;
    c.bytes[1] = 9000;
    c.rate[0].Add(now - 600'000, 1000);
    c.rate[1].Add(now - 1'100'000, 333);
    c.rate[1].Add(now - 100'000, 7);
    c.mac[0] = {2, 0, 0, 0, 0, 0xa};
    c.state = ConnState::kActive;
    return c;
  };
  auto app = [](AppProtocol p) {
    auto r = std::make_shared<AppRecord>();
    r->protocol = p;
    return r;
  };
  std::vector<Connection> all;

  Connection tcp = make(kIpProtoTcp, false);
  tcp.state = ConnState::kTimeWait;
  tcp.tcp.handshake_rtt_us = 1'500'000;
  tcp.tcp.retransmissions = 4;
  tcp.tcp.out_of_order = 1;
  tcp.tcp.zero_windows = 2;
  tcp.tcp_flags_seen = 0x1b;
  {
    // A handshake timed by sequence numbers: legs 1.2 s (B) and 35 µs (A).
    TcpRttSegment s;
    s.flags = 0x02;
    s.seq_len = 1;
    tcp.tcp.rtt.OnSegment(s);
    s.timestamp_us = 1'200'000;
    s.dir = 1;
    s.flags = 0x12;
    s.ack = 1;
    tcp.tcp.rtt.OnSegment(s);
    s = {};
    s.timestamp_us = 1'200'035;
    s.flags = 0x10;
    s.ack = 1;
    tcp.tcp.rtt.OnSegment(s);
    REQUIRE(tcp.tcp.rtt.has_rtt());
  }
  tcp.initiator = 1;  // Inbound.
  tcp.mac[1] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa};
  auto http = app(AppProtocol::kHttp);
  http->http = {"GET", "ex\"ample.com:8080", "/" + hostile, "curl " + hostile, "HTTP/1.1", 404};
  tcp.app = http;
  all.push_back(tcp);

  tcp.local = 1;
  tcp.tcp.handshake_rtt_us = 61;
  auto tls = app(AppProtocol::kTls);
  tls->tls->sni = "sni." + hostile;
  tls->tls->alpn = {"h2", hostile, ""};
  tls->tls->offered_versions = {"TLS 1.3"};
  tls->tls->ech_offered = true;
  tls->tls->ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
  tcp.app = tls;
  all.push_back(tcp);

  auto ssh = app(AppProtocol::kSsh);
  ssh->ssh = {"SSH-2.0-" + hostile, ""};
  tcp.app = ssh;
  tcp.dns_name = std::make_shared<const std::string>("cached.example");
  all.push_back(tcp);

  Connection udp = make(kIpProtoUdp, true);
  auto dns = app(AppProtocol::kDns);
  dns->dns->query = "example.com";
  dns->dns->query_type = "AAAA";
  dns->dns->response_code = "NOERROR";
  dns->dns->answers = {"2001:db8::5", hostile};
  dns->dns->over_tcp = true;
  udp.app = dns;
  all.push_back(udp);
  dns->protocol = AppProtocol::kMdns;
  all.push_back(udp);
  for (const bool hello : {true, false}) {
    auto quic = app(AppProtocol::kQuic);
    quic->quic_version = "v2";
    quic->tls->client_hello_seen = hello;
    quic->tls->sni = "q.example";
    udp.app = quic;
    all.push_back(udp);
  }
  auto dhcp = app(AppProtocol::kDhcp);
  dhcp->dhcp_hostname = hostile;
  udp.app = dhcp;
  all.push_back(udp);
  for (const AppProtocol p : {AppProtocol::kNtp, AppProtocol::kStun, AppProtocol::kUnknown}) {
    udp.app = app(p);
    all.push_back(udp);
  }
  // DTLS after STUN (WebRTC) keeps its STUN facts; DTLS alone has none.
  for (const bool after_stun : {true, false}) {
    auto dtls = app(AppProtocol::kDtls);
    if (after_stun) {
      dtls->net->stun_type = "binding-request";
      dtls->net->stun_realm = hostile;
    }
    udp.app = dtls;
    all.push_back(udp);
  }
  udp.app = nullptr;
  udp.dns_name = std::make_shared<const std::string>("");  // Only the source shows.
  all.push_back(udp);

  // Process attribution: both sides, each method, the user-only record,
  // an exited process, no start time.
  auto process = [&](uint32_t pid, const std::string& tag) {
    auto r = std::make_shared<ProcessRecord>();
    r->pid = pid;
    r->uid = pid == 0 ? 1000 : 65534;
    r->user = pid == 0 ? "jane" : "nobody";
    if (pid != 0) {
      r->name = "server" + tag;
      r->executable = "/usr/bin/server" + tag;
      r->command_line = {"server", "--flag=" + hostile, ""};
      r->cgroup = "0::/system.slice/server.service";
      r->unit = "server.service";
      r->user_unit = tag;
      r->container_runtime = "docker";
      r->container_id = "0123456789ab" + tag;
      r->started_us = now - 86'400'000'000;
    }
    return r;
  };
  Connection owned = make(kIpProtoTcp, false);
  auto both = std::make_shared<Attribution>();
  both->side[0] = {process(4242, ""), AttributionMethod::kSocket};
  auto peer = process(77, "-peer");
  peer->exited = true;
  // eBPF's extras: parents, another namespace, a pod.
  peer->lineage = {{812, "containerd-shim"}, {1, ""}};
  peer->netns_inode = 4026532841u;
  peer->netns_name = hostile;
  peer->k8s_pod_uid = "5f0c3a2e-8b1d-4c7e-9a21-0d3e4f5a6b7c";
  peer->k8s_pod = "web-1";
  peer->k8s_namespace = "shop";
  peer->k8s_container = "";  // Unknown: left out.
  both->side[1] = {peer, AttributionMethod::kListener, true};
  owned.attribution = both;
  all.push_back(owned);
  owned.local = 1;  // The same record, seen from the other end.
  all.push_back(owned);
  auto one = std::make_shared<Attribution>();
  one->side[1] = {process(0, ""), AttributionMethod::kBound};
  owned.attribution = one;
  all.push_back(owned);

  Connection icmp = make(kIpProtoIcmp, false);
  icmp.key.port_a = icmp.key.port_b = 4321;
  icmp.icmp.type = 8;
  all.push_back(icmp);
  icmp = make(kIpProtoIcmpv6, true);
  icmp.key.port_a = icmp.key.port_b = 0;
  icmp.icmp.type = 135;
  icmp.icmp.code = 3;
  all.push_back(icmp);

  Connection arp = make(kPseudoProtoArp, false);
  arp.key.port_a = arp.key.port_b = 0;
  arp.arp.requests = 3;
  all.push_back(arp);
  arp.arp.replies = 1;
  arp.arp.resolved = {0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};
  all.push_back(arp);

  Connection other = make(47, false);                         // GRE: not a protocol of the API.
  other.first_seen_us = std::numeric_limits<int64_t>::min();  // Clamped to year 1.
  other.last_seen_us = std::numeric_limits<int64_t>::max();   // Clamped to 9999.
  other.state = ConnState::kUnspecified;
  all.push_back(other);

  for (const std::string& interface :
       std::vector<std::string>{"eth0", "", "capture \"" + hostile + "\".pcap"}) {
    for (const Connection& c : all) {
      v1::Connection message;
      ToProto(c, now, interface, &message);
      INFO(message.ShortDebugString());
      CheckSame(message);
      std::string direct;
      AppendJsonLine(c, now, interface, &direct);
      CHECK(direct == Mine(message));
    }
  }
}

TEST_CASE("json_writer_every_field_set", "[json]") {
  const v1::Connection c = FullConnection();
  CheckEveryFieldSet(c, "Connection");
  CheckSame(c);
}

TEST_CASE("json_writer_empty_and_default_submessages", "[json]") {
  v1::Connection c;
  CheckSame(c);  // "{}"
  CHECK(Mine(c) == "{}");
  c.mutable_tcp();
  c.mutable_tcp()->mutable_handshake_rtt();  // "0s"
  c.mutable_icmp();
  c.mutable_arp();
  c.mutable_local();
  c.mutable_sent();
  c.mutable_first_seen();  // The epoch.
  c.mutable_app()->mutable_quic()->mutable_tls();
  c.mutable_app()->mutable_http();
  c.mutable_process()->mutable_started();
  c.mutable_remote_process();
  CheckSame(c);
}

TEST_CASE("json_writer_hostile_strings", "[json]") {
  std::string all_ascii;
  for (int b = 0; b < 128; ++b) all_ascii.push_back(static_cast<char>(b));
  const std::vector<std::string> cases = {
      all_ascii,
      "quote\" backslash\\ slash/ tab\t nl\n cr\r ff\f bs\b nul" + std::string(1, '\0') + "end",
      "</script><script>alert(1)</script>",
      "\xc2\x80\xc2\x9f\xc2\xa0\xc2\xad\xc3\xa9",  // C1 controls, NBSP, soft hyphen, é
      "\xd8\x80\xd8\x83\xdb\x9d\xdc\x8f\xe1\x9e\xb4\xe1\x9e\xb5",  // U+0600.. U+17B5
      "\xe2\x80\x8b\xe2\x80\x8f\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xae\xe2\x81\xa0\xe2\x81\xaf",
      "\xef\xbb\xbf\xef\xbf\xb9\xef\xbf\xbb\xef\xbf\xbd",  // BOM, U+FFF9, U+FFFB, U+FFFD
      "\xf0\x9d\x85\xb3\xf0\x9d\x85\xba\xf3\xa0\x80\x81\xf3\xa0\x80\xa0\xf3\xa0\x81\xbf",  // astral
      "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",  // emoji, U+10FFFF
      // Invalid UTF-8: stray continuation bytes, bytes never valid, a lead
      // byte cut off by an ASCII byte (which goes with it), by another lead
      // byte, by the end of the string; surrogates; past U+10FFFF.
      "a\x80z\xbfz",
      "a\xf8z\xfez\xffz",
      "a\xc3z",
      "a\xe2\x82z",
      "a\xf0\x9f\x98z",
      "a\xc3\xc3\xa9z",
      "a\xc3\"z",
      "a\xe2\x82",
      "a\xf0",
      "\xed\xa0\x80\xed\xbf\xbf",
      "\xf4\x90\x80\x80\xf7\xbf\xbf\xbf",
      "\xe2\x82\xac\xe2\x82\xac\xff\xe2\x82\xac",
  };
  for (const std::string& s : cases) {
    INFO(s);
    v1::Connection c;
    c.set_service(s);
    c.set_interface(s);
    c.mutable_app()->mutable_tls()->add_alpn(s);
    c.mutable_app()->mutable_tls()->add_alpn(s + s);
    c.mutable_process()->add_command_line(s);
    CheckSame(c);
  }
}

// Overlong encodings: protobuf decodes them and then copies the raw bytes
// (invalid UTF-8 out) or escapes the decoded character (an overlong '"'
// becomes \"). The writer drops them like other invalid sequences.
TEST_CASE("json_writer_drops_overlong_utf8", "[json]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xc0\xafz", "\"az\""},          // '/'
      {"a\xc0\xa2z", "\"az\""},          // '"'
      {"a\xc1\xbfz", "\"az\""},          // DEL
      {"a\xe0\x80\xafz", "\"az\""},      // '/' in 3 bytes
      {"a\xe0\x9f\xbfz", "\"az\""},      // U+07FF in 3 bytes
      {"a\xf0\x80\x80\xafz", "\"az\""},  // '/' in 4 bytes
      {"a\xf0\x8f\xbf\xbfz", "\"az\""},  // U+FFFF in 4 bytes
  };
  for (const auto& [in, want] : cases) {
    INFO(in);
    std::string out;
    AppendJsonString(in, &out);
    CHECK(out == want);
    v1::Connection c;
    c.set_service(in);
    const v1::Connection parsed = Parse(Mine(c));
    CHECK(parsed.service() == "az");
  }
}

TEST_CASE("json_writer_strings_made_of_random_pieces", "[json]") {
  // Valid characters of every escape class and invalid sequences, glued at
  // random: the decoder's state across boundaries.
  const std::vector<std::string> pieces = {"a",
                                           "\"",
                                           "\\",
                                           "<",
                                           "\x7f",
                                           std::string(1, '\0'),
                                           "\n",
                                           "\x1f",
                                           "\xc3\xa9",
                                           "\xc2\x85",
                                           "\xe2\x80\xa8",
                                           "\xef\xbb\xbf",
                                           "\xf0\x9f\x98\x80",
                                           "\xf3\xa0\x80\xa1",
                                           "\x80",
                                           "\xff",
                                           "\xc3",
                                           "\xe2\x82",
                                           "\xf0\x9f",
                                           "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> len(0, 12);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    for (int n = len(rng); n > 0; --n) s += pieces[pick(rng)];
    INFO(round);
    v1::Connection c;
    c.set_hostname(s);
    c.mutable_app()->mutable_dns()->add_answers(s);
    CheckSame(c);
  }
}

TEST_CASE("json_writer_numbers_and_enums", "[json]") {
  const std::vector<double> doubles = {-0.0,
                                       0.1,
                                       0.5,
                                       1.0 / 3.0,
                                       2.0 / 3.0,
                                       1e15,
                                       1e16,
                                       1e17,
                                       123456789012345678.0,
                                       1e21,
                                       1e22,
                                       1e-5,
                                       1e-7,
                                       1e300,
                                       -1e-300,
                                       5e-324,
                                       2.2250738585072014e-308,
                                       std::numeric_limits<double>::max(),
                                       -1234.5678,
                                       100.0,
                                       4294967296.0 * 1.5,
                                       std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::infinity(),
                                       -std::numeric_limits<double>::infinity()};
  for (double d : doubles) {
    INFO(d);
    v1::Connection c;
    c.set_rate_in(d);
    c.set_rate_out(-d);
    const auto oracle = ProtobufJson(c);
    REQUIRE(oracle.has_value());
    CHECK(Mine(c) == *oracle);
  }
  // Rates as the tracker makes them (bytes over fractions of a second), and
  // random bit patterns.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    v1::Connection c;
    c.set_rate_in(static_cast<double>(rng() % 100'000'000) *
                  (1.0 - static_cast<double>(rng() % 1'000'000) / 1e6));
    const uint64_t bits = rng();
    double d = 0;
    std::memcpy(&d, &bits, sizeof(d));
    c.set_rate_out(d);
    const auto oracle = ProtobufJson(c);
    REQUIRE(oracle.has_value());
    INFO(*oracle);
    CHECK(Mine(c) == *oracle);
  }
  // Unknown enum values print as numbers; integers at their limits.
  v1::Connection c;
  c.set_protocol(static_cast<v1::Protocol>(99));
  c.set_state(static_cast<v1::ConnectionState>(-1));
  c.set_direction(v1::DIRECTION_OUTBOUND);
  c.mutable_app()->set_protocol(static_cast<v1::AppProtocol>(1000));
  c.mutable_process()->set_method(static_cast<v1::AttributionMethod>(7));
  c.set_ip_version(std::numeric_limits<uint32_t>::max());
  c.mutable_sent()->set_bytes(std::numeric_limits<uint64_t>::max());
  const auto oracle = ProtobufJson(c);
  REQUIRE(oracle.has_value());
  CHECK(Mine(c) == *oracle);
}

TEST_CASE("json_writer_timestamps_and_durations", "[json]") {
  constexpr int64_t kMin = -62'135'596'800;
  constexpr int64_t kMax = 253'402'300'799;
  const std::vector<std::pair<int64_t, int32_t>> times = {
      {0, 0},
      {0, 1},
      {0, 1'000},
      {0, 1'000'000},
      {0, 999'999'999},
      {-1, 0},
      {-1, 999'999'000},
      {951'782'400, 0} /* 2000-02-29 */,
      {4'107'542'399, 0} /* 2100-02-28T23:59:59 */,
      {kMin, 0},
      {kMax, 999'999'999},
      {-2'208'988'800, 500'000'000} /* 1900 */,
      {1'700'000'000, 120'000}};
  for (const auto& [s, n] : times) {
    INFO(s << " " << n);
    v1::Connection c;
    c.mutable_first_seen()->set_seconds(s);
    c.mutable_first_seen()->set_nanos(n);
    c.mutable_process()->mutable_started()->set_seconds(s);
    CheckSame(c);
  }
  // Every day of 200 years around the epoch, and every 97th over the
  // whole range.
  std::vector<int64_t> days;
  for (int64_t day = -100 * 366; day < 100 * 366; ++day) days.push_back(day);
  for (int64_t day = kMin / 86'400; day <= kMax / 86'400; day += 97) days.push_back(day);
  for (int64_t day : days) {
    v1::Connection c;
    c.mutable_last_seen()->set_seconds(day * 86'400 + 86'399);
    const auto oracle = ProtobufJson(c);
    REQUIRE(oracle.has_value());
    if (Mine(c) != *oracle) FAIL(*oracle << " vs " << Mine(c));
  }
  const std::vector<std::pair<int64_t, int32_t>> durations = {{0, 0},
                                                              {0, 61'000},
                                                              {1, 0},
                                                              {4294, 967'295'000},
                                                              {0, -500'000'000},
                                                              {-1, 0},
                                                              {-1, -1},
                                                              {315'576'000'000, 999'999'999},
                                                              {-315'576'000'000, -999'999'999}};
  for (const auto& [s, n] : durations) {
    INFO(s << " " << n);
    v1::Connection c;
    c.mutable_tcp()->mutable_handshake_rtt()->set_seconds(s);
    c.mutable_tcp()->mutable_handshake_rtt()->set_nanos(n);
    CheckSame(c);
  }
}

TEST_CASE("json_writer_refuses_what_protobuf_refuses", "[json]") {
  std::vector<v1::Connection> bad(6);
  bad[0].mutable_first_seen()->set_seconds(253'402'300'800);
  bad[1].mutable_last_seen()->set_seconds(-62'135'596'801);
  bad[2].mutable_first_seen()->set_nanos(-1);
  bad[3].mutable_process()->mutable_started()->set_nanos(1'000'000'000);
  bad[4].mutable_tcp()->mutable_handshake_rtt()->set_seconds(315'576'000'001);
  bad[5].mutable_tcp()->mutable_handshake_rtt()->set_seconds(-1);
  bad[5].mutable_tcp()->mutable_handshake_rtt()->set_nanos(1);
  for (v1::Connection& c : bad) {
    c.set_id(5);
    c.set_service("x");
    INFO(c.ShortDebugString());
    CHECK_FALSE(ProtobufJson(c).has_value());
    std::string out = "prefix";
    CHECK_FALSE(AppendConnectionJson(c, &out));
    CHECK(out == "prefix");
    CHECK(ToJsonLine(c) == "{\"id\":\"5\",\"error\":\"not representable in JSON\"}");
  }
}

}  // namespace
}  // namespace rustnet
