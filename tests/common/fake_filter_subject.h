// A FilterSubject whose every field is a plain member, for the filter's unit
// tests and its fuzz target: curl on 10.1.2.3:51000 talking TLS to
// 93.184.215.14:443 unless a test changes a field.
#ifndef RUSTNET_TESTS_COMMON_FAKE_FILTER_SUBJECT_H_
#define RUSTNET_TESTS_COMMON_FAKE_FILTER_SUBJECT_H_

#include <arpa/inet.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/filter.h"

namespace rustnet::testing {

// "10.0.0.1" or "2001:db8::1"; throws on anything else.
inline IpAddress Addr(const std::string& text) {
  uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) return IpAddress::FromV4(b);
  if (inet_pton(AF_INET6, text.c_str(), b) == 1) return IpAddress::FromV6(b);
  throw std::invalid_argument("not an address: " + text);
}

struct FakeSubject : FilterSubject {
  std::string protocol = "tcp";
  int ip_version = 4;
  IpAddress addr[2] = {Addr("10.1.2.3"), Addr("93.184.215.14")};
  uint16_t port[2] = {51000, 443};
  std::string state = "established";
  std::string direction = "out";
  std::string service = "https";
  std::string app = "tls";
  std::string sni = "www.Example.com";
  std::string hosts = "www.example.com cdn.example.net";
  std::string process = "Curl";
  uint32_t pid = 4242;
  std::string user = "alice";
  std::string iface = "eth0";
  FilterLocation location{"US", "United States", "", 15133, "Edgecast Inc."};
  std::string pod, pod_namespace, container;

  std::string_view Protocol() const override { return protocol; }
  int IpVersion() const override { return ip_version; }
  const IpAddress& Address(int side) const override { return addr[side]; }
  uint16_t Port(int side) const override { return port[side]; }
  std::string_view State() const override { return state; }
  std::string_view Direction() const override { return direction; }
  std::string_view Service() const override { return service; }
  std::string_view App() const override { return app; }
  std::string_view Sni() const override { return sni; }
  std::string_view Hosts() const override { return hosts; }
  std::string_view Process() const override { return process; }
  uint32_t Pid(int side) const override { return side == 0 ? pid : 0; }
  std::string_view User() const override { return user; }
  std::string_view Interface() const override { return iface; }
  FilterLocation RemoteLocation() const override { return location; }
  std::string_view Pod() const override { return pod; }
  std::string_view Namespace() const override { return pod_namespace; }
  std::string_view Container() const override { return container; }
};

}  // namespace rustnet::testing

#endif  // RUSTNET_TESTS_COMMON_FAKE_FILTER_SUBJECT_H_
