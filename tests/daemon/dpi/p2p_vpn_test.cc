// BitTorrent (TCP handshake, uTP, DHT), OpenVPN, WireGuard, IKE and DTLS
// from hand-built bytes; malformed cases named after their defect.
#include <catch2/catch.hpp>
#include <string>

#include "daemon/dpi/p2p.h"
#include "daemon/dpi/vpn.h"
#include "tests/daemon/dpi/breadth_test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put8;
using testing::PutBytes;
using testing::Run;
using testing::Tcp;
using testing::Text;
using testing::Udp;

// BEP 3 handshake: pstrlen, pstr, reserved, info hash, peer id.
Bytes BtHandshake() {
  Bytes b = {19};
  PutBytes(b, Text("BitTorrent protocol"));
  b.insert(b.end(), 8, 0);
  b.insert(b.end(), 20, 0xab);
  PutBytes(b, Text("-TR3000-abcdefghijkl"));
  return b;
}

TEST_CASE("bittorrent_tcp_handshake", "[dpi][p2p]") {
  auto d = MakeBittorrentDissector();
  CHECK(d->Probe(Tcp(51413), true, BtHandshake()));
  const auto out = Run(*d, Tcp(51413), {{true, BtHandshake()}, {false, BtHandshake()}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kBittorrent);
  Bytes wrong = BtHandshake();
  wrong[5] = 'x';  // "BitTxrrent".
  CHECK(Run(*d, Tcp(6881), {{true, wrong}}).state == ParseState::kNotMine);
}

// BEP 29 header: type/version, extension, connection id, timestamps,
// window, seq, ack.
Bytes Utp(uint8_t type, uint16_t id, const Bytes& extension = {}, const Bytes& payload = {}) {
  Bytes b = {static_cast<uint8_t>(type << 4 | 1), static_cast<uint8_t>(extension.empty() ? 0 : 1)};
  Put16(b, id);
  Put32(b, 0x11223344);
  Put32(b, 0);
  Put32(b, 0x100000);
  Put16(b, 1);
  Put16(b, 0);
  PutBytes(b, extension);
  PutBytes(b, payload);
  return b;
}

TEST_CASE("bittorrent_utp_syn_answered_by_state", "[dpi][p2p]") {
  auto d = MakeBittorrentUdpDissector();
  const Bytes syn = Utp(4, 0x5302);
  CHECK(d->Probe(Udp(40000), true, syn));
  const auto out = Run(*d, Udp(40000), {{true, syn}, {false, Utp(2, 0x5302)}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kBittorrent);
  // A STATE for another connection does not confirm.
  const auto other = Run(*d, Udp(40000), {{true, syn}, {false, Utp(2, 0x9999)}});
  CHECK(other.record.protocol == AppProtocol::kUnknown);
}

TEST_CASE("bittorrent_utp_data_carrying_handshake_and_dht", "[dpi][p2p]") {
  auto d = MakeBittorrentUdpDissector();
  auto out = Run(*d, Udp(40000), {{true, Utp(0, 7, {}, BtHandshake())}});
  CHECK(out.record.protocol == AppProtocol::kBittorrent);
  const Bytes dht = Text("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe");
  CHECK(d->Probe(Udp(6881), true, dht));
  out = Run(*d, Udp(6881), {{true, dht}});
  CHECK(out.record.protocol == AppProtocol::kBittorrent);
}

TEST_CASE("utp_extension_past_end", "[dpi][p2p]") {
  auto d = MakeBittorrentUdpDissector();
  const Bytes bad = Utp(2, 7, {0, 32, 1, 2});  // Selective ack of 32 bytes, 2 present.
  CHECK_FALSE(d->Probe(Udp(40000), true, bad));
  const auto out = Run(*d, Udp(40000), {{true, bad}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.anomalies.count("utp_extension_past_end") == 1);
  // Version 2 and an ST_DATA without data are not uTP.
  Bytes v2 = Utp(4, 1);
  v2[0] = 0x42;
  CHECK_FALSE(d->Probe(Udp(40000), true, v2));
  CHECK_FALSE(d->Probe(Udp(40000), true, Utp(0, 1)));
}

// OpenVPN control packet: opcode/key, session id, ack array, [remote
// session id], message packet id, payload.
Bytes Ovpn(uint8_t opcode, uint8_t id_byte, const Bytes& acked_session = {}) {
  Bytes b = {static_cast<uint8_t>(opcode << 3)};
  for (int i = 0; i < 8; ++i) Put8(b, static_cast<uint8_t>(id_byte + i * 17));
  if (acked_session.empty()) {
    Put8(b, 0);
  } else {
    Put8(b, 1);
    Put32(b, 0);
    PutBytes(b, acked_session);
  }
  Put32(b, 0);
  return b;
}

Bytes SessionOf(const Bytes& packet) { return Bytes(packet.begin() + 1, packet.begin() + 9); }

TEST_CASE("openvpn_udp_reset_acknowledged_by_server", "[dpi][vpn]") {
  auto d = MakeOpenvpnDissector();
  const Bytes client = Ovpn(7, 0x91);
  const Bytes server = Ovpn(8, 0x37, SessionOf(client));
  CHECK(d->Probe(Udp(11940), true, client));
  const auto out = Run(*d, Udp(11940), {{true, client}, {false, server}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kOpenvpn);
  // A server packet acknowledging some other session does not confirm.
  const auto other = Run(*d, Udp(1194), {{true, client}, {false, Ovpn(8, 0x37, Bytes(8, 0x01))}});
  CHECK(other.record.protocol == AppProtocol::kUnknown);
}

TEST_CASE("openvpn_tcp_framed_both_ways", "[dpi][vpn]") {
  auto d = MakeOpenvpnDissector();
  auto framed = [](const Bytes& p) {
    Bytes b;
    Put16(b, static_cast<uint16_t>(p.size()));
    PutBytes(b, p);
    return b;
  };
  const Bytes client = Ovpn(7, 0x50);
  const auto out = Run(*d, Tcp(443),
                       {{true, framed(client)}, {false, framed(Ovpn(8, 0x9a, SessionOf(client)))}});
  CHECK(out.state == ParseState::kDone);
  CHECK(out.record.protocol == AppProtocol::kOpenvpn);
}

TEST_CASE("openvpn_session_id_that_is_text", "[dpi][vpn]") {
  // A syslog line "<30>snmpd[..." has opcode 7's first byte and a
  // printable "session id" that repeats: not OpenVPN.
  auto d = MakeOpenvpnDissector();
  const Bytes line = Text("<30>snmpd[6956]: Connection from UDP: [10.0.0.1]:161");
  CHECK_FALSE(d->Probe(Udp(514), true, line));
  const auto out = Run(*d, Udp(514), {{true, line}, {true, line}});
  CHECK(out.record.protocol == AppProtocol::kUnknown);
}

Bytes Wireguard(uint8_t type, size_t size) {
  Bytes b = {type, 0, 0, 0};
  b.resize(size, 0x5c);
  return b;
}

TEST_CASE("wireguard_handshake_and_transport", "[dpi][vpn]") {
  auto d = MakeWireguardDissector();
  CHECK(d->Probe(Udp(51821), true, Wireguard(1, 148)));
  auto out = Run(*d, Udp(51821), {{true, Wireguard(1, 148)}});
  CHECK(out.record.protocol == AppProtocol::kWireguard);
  // Transport data: two packets with the same receiver index.
  out = Run(*d, Udp(51821), {{true, Wireguard(4, 64)}, {true, Wireguard(4, 96)}});
  CHECK(out.record.protocol == AppProtocol::kWireguard);
}

TEST_CASE("wireguard_wrong_size_or_reserved_bytes", "[dpi][vpn]") {
  auto d = MakeWireguardDissector();
  CHECK_FALSE(d->Probe(Udp(51820), true, Wireguard(1, 147)));
  CHECK_FALSE(d->Probe(Udp(51820), true, Wireguard(4, 40)));
  Bytes reserved = Wireguard(2, 92);
  reserved[2] = 1;
  CHECK_FALSE(d->Probe(Udp(51820), true, reserved));
}

// IKEv2 IKE_SA_INIT header of `total` bytes (payload bytes zero).
Bytes Ike(uint8_t version, uint8_t exchange, size_t total, bool nat_t = false) {
  Bytes b;
  if (nat_t) Put32(b, 0);
  b.insert(b.end(), 8, 0x42);  // Initiator SPI.
  b.insert(b.end(), 8, 0);     // Responder SPI.
  Put8(b, 33);                 // SA payload.
  Put8(b, version);
  Put8(b, exchange);
  Put8(b, 0x08);
  Put32(b, 0);
  Put32(b, static_cast<uint32_t>(total));
  b.resize(b.size() + total - 28, 0);
  return b;
}

TEST_CASE("ike_v2_and_v1_and_nat_t", "[dpi][vpn]") {
  auto d = MakeIkeDissector();
  for (const Bytes& b : {Ike(0x20, 34, 256), Ike(0x10, 2, 120), Ike(0x20, 34, 200, true)}) {
    CHECK(d->Probe(Udp(5000), true, b));
    CHECK(Run(*d, Udp(5000), {{true, b}}).record.protocol == AppProtocol::kIke);
  }
}

TEST_CASE("ike_length_not_datagram_or_zero_spi", "[dpi][vpn]") {
  auto d = MakeIkeDissector();
  Bytes b = Ike(0x20, 34, 256);
  b.push_back(0);
  CHECK_FALSE(d->Probe(Udp(500), true, b));
  Bytes zero = Ike(0x20, 34, 256);
  std::fill(zero.begin(), zero.begin() + 8, 0);
  CHECK_FALSE(d->Probe(Udp(500), true, zero));
  CHECK_FALSE(d->Probe(Udp(500), true, Ike(0x30, 34, 256)));
}

Bytes DtlsRecord(uint8_t type, uint16_t version, const Bytes& body) {
  Bytes b = {type};
  Put16(b, version);
  Put16(b, 0);  // Epoch.
  b.insert(b.end(), 6, 0);
  Put16(b, static_cast<uint16_t>(body.size()));
  PutBytes(b, body);
  return b;
}

TEST_CASE("dtls_client_hello_record", "[dpi][vpn]") {
  auto d = MakeDtlsDissector();
  Bytes datagram = DtlsRecord(22, 0xfeff, Bytes(60, 1));
  PutBytes(datagram, DtlsRecord(20, 0xfefd, {1}));
  CHECK(d->Probe(Udp(4444), true, datagram));
  CHECK(Run(*d, Udp(4444), {{true, datagram}}).record.protocol == AppProtocol::kDtls);
}

TEST_CASE("dtls_record_past_datagram", "[dpi][vpn]") {
  auto d = MakeDtlsDissector();
  Bytes datagram = DtlsRecord(22, 0xfefd, Bytes(60, 1));
  datagram.resize(datagram.size() - 5);
  CHECK_FALSE(d->Probe(Udp(4444), true, datagram));
  const auto out = Run(*d, Udp(4444), {{true, datagram}});
  CHECK(out.state == ParseState::kNotMine);
  CHECK(out.anomalies.count("dtls_record_past_datagram") == 1);
  // TLS's version is not DTLS's.
  CHECK_FALSE(d->Probe(Udp(4444), true, DtlsRecord(22, 0x0303, Bytes(10, 1))));
}

}  // namespace
}  // namespace rustnet
