#include "common/services.h"

#include <catch2/catch.hpp>

#include "common/flow_key.h"

namespace rustnet {
namespace {

TEST_CASE("services: the built-in table is sorted by port", "[services]") {
  CHECK(ServiceTableIsSorted());
}

TEST_CASE("services: well-known TCP ports", "[services]") {
  CHECK(LookupService(kIpProtoTcp, 22) == "ssh");
  CHECK(LookupService(kIpProtoTcp, 25) == "smtp");
  CHECK(LookupService(kIpProtoTcp, 53) == "domain");
  CHECK(LookupService(kIpProtoTcp, 80) == "http");
  CHECK(LookupService(kIpProtoTcp, 443) == "https");
  CHECK(LookupService(kIpProtoTcp, 993) == "imaps");
  CHECK(LookupService(kIpProtoTcp, 3306) == "mysql");
  CHECK(LookupService(kIpProtoTcp, 5432) == "postgresql");
  CHECK(LookupService(kIpProtoTcp, 6379) == "redis");
  CHECK(LookupService(kIpProtoTcp, 8080) == "http-alt");
}

TEST_CASE("services: well-known UDP ports", "[services]") {
  CHECK(LookupService(kIpProtoUdp, 53) == "domain");
  CHECK(LookupService(kIpProtoUdp, 67) == "bootps");
  CHECK(LookupService(kIpProtoUdp, 123) == "ntp");
  CHECK(LookupService(kIpProtoUdp, 443) == "https");  // QUIC
  CHECK(LookupService(kIpProtoUdp, 5353) == "mdns");
  CHECK(LookupService(kIpProtoUdp, 51820) == "wireguard");
}

TEST_CASE("services: the first and last entries are found", "[services]") {
  CHECK(LookupService(kIpProtoTcp, 7) == "echo");
  CHECK(LookupService(kIpProtoUdp, 7) == "echo");
  CHECK(LookupService(kIpProtoUdp, 51820) == "wireguard");
}

TEST_CASE("services: a port registered for one transport only", "[services]") {
  CHECK(LookupService(kIpProtoTcp, 123).empty());  // ntp is UDP
  CHECK(LookupService(kIpProtoUdp, 22).empty());   // ssh is TCP
  CHECK(LookupService(kIpProtoUdp, 3306).empty());
  CHECK(LookupService(kIpProtoTcp, 51820).empty());
}

TEST_CASE("services: ports not in the table and other protocols are empty", "[services]") {
  CHECK(LookupService(kIpProtoTcp, 0).empty());
  CHECK(LookupService(kIpProtoTcp, 6).empty());      // Below the first entry.
  CHECK(LookupService(kIpProtoTcp, 81).empty());
  CHECK(LookupService(kIpProtoTcp, 40000).empty());
  CHECK(LookupService(kIpProtoTcp, 65535).empty());  // Past the last entry.
  CHECK(LookupService(kIpProtoIcmp, 80).empty());
  CHECK(LookupService(kIpProtoIcmpv6, 53).empty());
  CHECK(LookupService(kPseudoProtoArp, 443).empty());
}

TEST_CASE("services: the responder's port wins, then the initiator's", "[services]") {
  CHECK(ServiceForConnection(kIpProtoTcp, 40000, 443) == "https");
  // Guessed the wrong way round (picked up mid-stream): the initiator's port.
  CHECK(ServiceForConnection(kIpProtoTcp, 22, 40000) == "ssh");
  // Both known: the responder's.
  CHECK(ServiceForConnection(kIpProtoTcp, 80, 8080) == "http-alt");
  CHECK(ServiceForConnection(kIpProtoUdp, 5353, 53) == "domain");
  CHECK(ServiceForConnection(kIpProtoTcp, 40000, 40001).empty());
  CHECK(ServiceForConnection(kIpProtoIcmp, 80, 443).empty());
}

}  // namespace
}  // namespace rustnet
