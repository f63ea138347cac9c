// The Details tab's lines for issue 19's names: certificate CN and SAN
// names under TLS, DNS records, opcode and the name flags; none of them
// when the connection has no such fact.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "client/tabs/details_view.h"
#include "rustnet/v1/connection.pb.h"

namespace rustnet::client {
namespace {

std::string ValueOf(const std::vector<DetailItem>& items, const std::string& label) {
  for (const DetailItem& i : items) {
    if (i.label == label) return i.value;
  }
  return "<absent>";
}

TEST_CASE("details: certificate names and DNS records each get a line", "[client]") {
  rustnet::v1::Connection c;
  c.set_protocol(rustnet::v1::PROTOCOL_TCP);
  auto* tls = c.mutable_app()->mutable_tls();
  c.mutable_app()->set_protocol(rustnet::v1::APP_PROTOCOL_TLS);
  tls->set_version("TLS 1.2");
  tls->set_certificate_cn("www.example.test");
  tls->add_certificate_names("www.example.test");
  tls->add_certificate_names("*.cdn.example.test");
  DetailsView view(Glyphs{false});
  auto items = view.Items(c, 0);
  CHECK(ValueOf(items, "certificate CN") == "www.example.test");
  CHECK(ValueOf(items, "certificate names") == "www.example.test, *.cdn.example.test");

  rustnet::v1::Connection d;
  d.set_protocol(rustnet::v1::PROTOCOL_UDP);
  d.mutable_app()->set_protocol(rustnet::v1::APP_PROTOCOL_DNS);
  auto* dns = d.mutable_app()->mutable_dns();
  dns->set_query("_sip._udp.example.test");
  auto* srv = dns->add_records();
  srv->set_type("SRV");
  srv->set_target("sip1.example.test");
  srv->set_port(5060);
  auto* mx = dns->add_records();
  mx->set_type("MX");
  mx->set_priority(20);
  mx->set_target("mx.example.test");
  auto* txt = dns->add_records();
  txt->set_type("TXT");
  txt->set_txt_length(42);
  dns->set_suspicious_name(true);
  dns->set_opcode("IQUERY");
  items = view.Items(d, 0);
  CHECK(ValueOf(items, "records") ==
        "SRV sip1.example.test:5060, MX 20 mx.example.test, TXT 42 bytes");
  CHECK(ValueOf(items, "opcode") == "IQUERY");
  CHECK(ValueOf(items, "suspicious name") != "<absent>");
  CHECK(ValueOf(items, "unusual name") == "<absent>");
  // Without the facts: no lines (not dashes).
  rustnet::v1::Connection plain = c;
  plain.mutable_app()->mutable_tls()->clear_certificate_cn();
  plain.mutable_app()->mutable_tls()->clear_certificate_names();
  items = view.Items(plain, 0);
  CHECK(ValueOf(items, "certificate CN") == "<absent>");
  CHECK(ValueOf(items, "certificate names") == "<absent>");
}

}  // namespace
}  // namespace rustnet::client
