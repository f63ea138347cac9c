// Syslog, TFTP, SNMP and LDAP from hand-built bytes; malformed cases named
// after their defect. SNMP's community never reaches the record.
#include "daemon/dpi/netmgmt.h"

#include <catch2/catch.hpp>
#include <string>

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

TEST_CASE("syslog_rfc3164_rfc5424_and_octet_counted", "[dpi][netmgmt]") {
  auto d = MakeSyslogDissector();
  for (const std::string& line :
       {std::string("<34>Oct 11 22:14:15 mymachine su: 'su root' failed"),
        std::string("<165>1 2003-10-11T22:14:15.003Z host app - ID47 - msg"),
        std::string("<0>kernel panic")}) {
    CHECK(d->Probe(Udp(5140), true, Text(line)));
    CHECK(Run(*d, Udp(5140), {{true, Text(line)}}).record.protocol == AppProtocol::kSyslog);
  }
  const auto tcp =
      Run(*d, Tcp(6514), {{true, Text("57 <13>1 2024-01-01T00:00:00Z h a - - - hello")}});
  CHECK(tcp.record.protocol == AppProtocol::kSyslog);
}

TEST_CASE("syslog_priority_out_of_range_or_leading_zero", "[dpi][netmgmt]") {
  auto d = MakeSyslogDissector();
  for (const char* bad : {"<192>x", "<01>x", "<1234>x", "<>x", "<13>\x01", "13>x"}) {
    INFO(bad);
    CHECK_FALSE(d->Probe(Udp(514), true, Text(bad)));
  }
}

Bytes TftpRequest(uint16_t opcode, const std::string& file, const std::string& mode) {
  Bytes b;
  Put16(b, opcode);
  PutBytes(b, Text(file));
  Put8(b, 0);
  PutBytes(b, Text(mode));
  Put8(b, 0);
  return b;
}

TEST_CASE("tftp_read_request_file_name", "[dpi][netmgmt]") {
  auto d = MakeTftpDissector();
  const Bytes rrq = TftpRequest(1, "pxelinux.0", "octet");
  CHECK(d->Probe(Udp(6969), true, rrq));
  const auto out = Run(*d, Udp(6969), {{true, rrq}});
  CHECK(out.record.protocol == AppProtocol::kTftp);
  CHECK(out.record.net->tftp_file == "pxelinux.0");
  CHECK(out.record.net->tftp_op == "read");
  const auto wrq = Run(*d, Udp(69), {{true, TftpRequest(2, "cfg\x1b[2J.txt", "NETASCII")}});
  CHECK(wrq.record.net->tftp_op == "write");
  CHECK(wrq.record.net->tftp_file == "cfg?[2J.txt");
}

TEST_CASE("tftp_transfer_data_then_ack", "[dpi][netmgmt]") {
  auto d = MakeTftpDissector();
  Bytes data = {0, 3, 0, 1};
  data.resize(4 + 512, 'x');
  const auto out = Run(*d, Udp(50618), {{false, data}, {true, {0, 4, 0, 1}}});
  CHECK(out.record.protocol == AppProtocol::kTftp);
  // ACK 0 (a write's go-ahead), then DATA 1 from the other side.
  const auto write = Run(*d, Udp(50618), {{true, {0, 4, 0, 0}}, {false, {0, 3, 0, 1, 'a'}}});
  CHECK(write.record.protocol == AppProtocol::kTftp);
  // An ACK of the wrong block does not confirm.
  const auto wrong = Run(*d, Udp(50618), {{false, data}, {true, {0, 4, 0, 7}}});
  CHECK(wrong.record.protocol == AppProtocol::kUnknown);
}

TEST_CASE("tftp_file_name_not_terminated", "[dpi][netmgmt]") {
  auto d = MakeTftpDissector();
  Bytes b = {0, 1};
  PutBytes(b, Text("no-terminator"));
  const auto out = Run(*d, Udp(69), {{true, b}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.anomalies.count("tftp_file_name_not_terminated") == 1);
  CHECK_FALSE(d->Probe(Udp(69), true, TftpRequest(1, "f", "binary")));
}

// BER helpers.
Bytes Tlv(uint8_t tag, const Bytes& value) {
  Bytes b = {tag};
  if (value.size() < 128) {
    Put8(b, static_cast<uint8_t>(value.size()));
  } else {
    Put8(b, 0x82);
    Put16(b, static_cast<uint16_t>(value.size()));
  }
  PutBytes(b, value);
  return b;
}

Bytes Snmp(uint8_t version, const std::string& community, uint8_t pdu) {
  Bytes varbind = Tlv(0x30, {});
  Bytes pdu_body;
  PutBytes(pdu_body, Tlv(0x02, {0x26, 0x12}));  // request-id
  PutBytes(pdu_body, Tlv(0x02, {0}));
  PutBytes(pdu_body, Tlv(0x02, {0}));
  PutBytes(pdu_body, Tlv(0x30, varbind));
  Bytes msg;
  PutBytes(msg, Tlv(0x02, {version}));
  PutBytes(msg, Tlv(0x04, Text(community)));
  PutBytes(msg, Tlv(pdu, pdu_body));
  return Tlv(0x30, msg);
}

TEST_CASE("snmp_v2c_get_without_community", "[dpi][netmgmt]") {
  auto d = MakeSnmpDissector();
  const Bytes get = Snmp(1, "very-secret-community", 0xa0);
  CHECK(d->Probe(Udp(1161), true, get));
  const auto out = Run(*d, Udp(1161), {{true, get}});
  CHECK(out.record.protocol == AppProtocol::kSnmp);
  CHECK(out.record.net->snmp_version == "2c");
  CHECK(out.record.net->snmp_pdu == "get-request");
  CHECK(out.record.Label().find("secret") == std::string::npos);
  const auto v1 = Run(*d, Udp(162), {{true, Snmp(0, "public", 0xa4)}});
  CHECK(v1.record.net->snmp_version == "1");
  CHECK(v1.record.net->snmp_pdu == "trap");
}

TEST_CASE("snmp_v3_scoped_pdu_in_clear", "[dpi][netmgmt]") {
  auto d = MakeSnmpDissector();
  Bytes global = Tlv(0x30, Tlv(0x02, {1}));
  Bytes scoped;
  PutBytes(scoped, Tlv(0x04, {0x80, 0, 0x1f}));  // contextEngineID
  PutBytes(scoped, Tlv(0x04, {}));               // contextName
  PutBytes(scoped, Tlv(0xa0, Tlv(0x02, {1})));
  Bytes msg = Tlv(0x02, {3});
  PutBytes(msg, global);
  PutBytes(msg, Tlv(0x04, Bytes(20, 0)));
  PutBytes(msg, Tlv(0x30, scoped));
  const auto out = Run(*d, Udp(161), {{true, Tlv(0x30, msg)}});
  CHECK(out.record.net->snmp_version == "3");
  CHECK(out.record.net->snmp_pdu == "get-request");
}

TEST_CASE("snmp_ber_length_past_datagram", "[dpi][netmgmt]") {
  auto d = MakeSnmpDissector();
  Bytes b = Snmp(1, "public", 0xa0);
  b.resize(b.size() - 3);
  CHECK_FALSE(d->Probe(Udp(161), true, b));
  const auto out = Run(*d, Udp(161), {{true, b}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.anomalies.count("snmp_ber_past_end") == 1);
  CHECK_FALSE(d->Probe(Udp(161), true, Snmp(2, "public", 0xa0)));  // No version 2.
  CHECK_FALSE(d->Probe(Udp(161), true, Snmp(1, "public", 0xb0)));  // Not a PDU tag.
}

Bytes Ldap(uint8_t id, uint8_t op, const Bytes& body) {
  Bytes msg = Tlv(0x02, {id});
  PutBytes(msg, Tlv(op, body));
  return Tlv(0x30, msg);
}

TEST_CASE("ldap_bind_request_and_response", "[dpi][netmgmt]") {
  auto d = MakeLdapDissector();
  Bytes bind = Tlv(0x02, {3});
  PutBytes(bind, Tlv(0x04, Text("cn=admin")));
  PutBytes(bind, Tlv(0x80, Text("pw")));
  const Bytes request = Ldap(1, 0x60, bind);
  const Bytes response = Ldap(1, 0x61, {0x0a, 1, 0, 0x04, 0, 0x04, 0});
  CHECK(d->Probe(Tcp(3389), true, request));
  const auto out = Run(*d, Tcp(3890), {{true, request}, {false, response}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kLdap);
}

TEST_CASE("ldap_not_an_application_tag", "[dpi][netmgmt]") {
  auto d = MakeLdapDissector();
  // SNMP: SEQUENCE, INTEGER, then an OCTET STRING.
  CHECK_FALSE(d->Probe(Tcp(389), true, Snmp(1, "public", 0xa0)));
  const auto out = Run(*d, Tcp(389), {{true, Ldap(1, 0x04, {})}});
  CHECK(out.state == ParseState::kNotMine);
}

}  // namespace
}  // namespace rustnet
