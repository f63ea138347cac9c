// The join of eBPF socket records to connections: exact 4-tuples, sockets
// bound to the unspecified address, listeners, port and cookie reuse,
// records that come after the question, expiry and the bound on the table.
#include "daemon/process/socket_records.h"

#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace rustnet {
namespace {

// "10.0.0.1", "2001:db8::1" (tests/test_util.h).
constexpr auto V4 = &testing::Addr;
constexpr auto V6 = &testing::Addr;

SocketEvent Connect(uint8_t proto, IpAddress local, uint16_t lport, IpAddress remote,
                    uint16_t rport, uint32_t tgid, const char* comm, int64_t time_us,
                    uint64_t cookie = 1) {
  SocketEvent e;
  e.kind = SocketEvent::Kind::kConnect;
  e.protocol = proto;
  e.local = local;
  e.local_port = lport;
  e.remote = remote;
  e.remote_port = rport;
  e.tgid = tgid;
  e.comm = comm;
  e.time_us = time_us;
  e.cookie = cookie;
  return e;
}

SocketEvent Bind(uint8_t proto, IpAddress local, uint16_t lport, uint32_t tgid, const char* comm,
                 int64_t time_us) {
  SocketEvent e = Connect(proto, local, lport, IpAddress{}, 0, tgid, comm, time_us);
  e.kind = SocketEvent::Kind::kBind;
  return e;
}

uint32_t PidOf(const SocketRecordTable::Match& m) { return m.event ? m.event->tgid : 0; }

TEST_CASE("SocketRecordTable: a connect record answers its own end only", "[process][ebpf]") {
  SocketRecordTable t({});
  t.Add(Connect(kIpProtoTcp, V4("10.0.0.1"), 40000, V4("10.0.0.2"), 443, 77, "curl", 100));
  auto m = t.Find(kIpProtoTcp, V4("10.0.0.1"), 40000, V4("10.0.0.2"), 443, 150);
  CHECK(PidOf(m) == 77);
  CHECK(m.method == AttributionMethod::kSocket);
  CHECK(m.exact);
  // The other end (the remote server) has no record; nor has UDP.
  CHECK_FALSE(t.Find(kIpProtoTcp, V4("10.0.0.2"), 443, V4("10.0.0.1"), 40000, 150).event);
  CHECK_FALSE(t.Find(kIpProtoUdp, V4("10.0.0.1"), 40000, V4("10.0.0.2"), 443, 150).event);
  CHECK(t.stats().matched == 1);
}

TEST_CASE("SocketRecordTable: IPv6 and IPv4-mapped addresses", "[process][ebpf]") {
  SocketRecordTable t({});
  t.Add(Connect(kIpProtoTcp, V6("::1"), 5000, V6("::1"), 80, 10, "v6client", 1));
  // A dual-stack socket talking IPv4: the kernel reports ::ffff:a.b.c.d,
  // the capture 10.1.1.1 — the same IpAddress.
  t.Add(Connect(kIpProtoTcp, V6("::ffff:10.1.1.1"), 5001, V6("::ffff:10.1.1.2"), 80, 11,
                "mapped", 1));
  CHECK(PidOf(t.Find(kIpProtoTcp, V6("::1"), 5000, V6("::1"), 80, 2)) == 10);
  CHECK(PidOf(t.Find(kIpProtoTcp, V4("10.1.1.1"), 5001, V4("10.1.1.2"), 80, 2)) == 11);
}

TEST_CASE("SocketRecordTable: listener and bound UDP socket answer their port",
          "[process][ebpf]") {
  SocketRecordTable t({});
  t.Add(Bind(kIpProtoTcp, V4("127.0.0.1"), 8080, 5, "server", 1));
  t.Add(Bind(kIpProtoUdp, IpAddress{}, 53, 6, "resolver", 1));
  auto m = t.Find(kIpProtoTcp, V4("127.0.0.1"), 8080, V4("127.0.0.1"), 40001, 10);
  CHECK(PidOf(m) == 5);
  CHECK(m.method == AttributionMethod::kListener);
  CHECK_FALSE(m.exact);
  // Not for a question asked before it was bound (a refused connection).
  CHECK_FALSE(t.Find(kIpProtoTcp, V4("127.0.0.1"), 8080, V4("127.0.0.1"), 40001, 0).event);
  // Another address on the same port is not this listener's.
  CHECK_FALSE(t.Find(kIpProtoTcp, V4("10.0.0.1"), 8080, V4("10.0.0.9"), 1, 10).event);
  // A wildcard socket answers loopback and addresses known to be local...
  m = t.Find(kIpProtoUdp, V4("127.0.0.1"), 53, V4("127.0.0.1"), 3333, 10);
  CHECK(PidOf(m) == 6);
  CHECK(m.method == AttributionMethod::kBound);
  CHECK_FALSE(t.Find(kIpProtoUdp, V4("192.0.2.1"), 53, V4("192.0.2.7"), 3333, 10).event);
  t.Add(Connect(kIpProtoTcp, V4("192.0.2.7"), 1000, V4("192.0.2.8"), 22, 9, "ssh", 11));
  CHECK(PidOf(t.Find(kIpProtoUdp, V4("192.0.2.7"), 53, V4("192.0.2.1"), 3333, 12)) == 6);
  // ...but a remote server's port 53 is not the local resolver's.
  CHECK_FALSE(t.Find(kIpProtoUdp, V4("192.0.2.1"), 53, V4("192.0.2.7"), 3333, 12).event);
}

TEST_CASE("SocketRecordTable: unconnected UDP sends match with any local address",
          "[process][ebpf]") {
  SocketRecordTable t({});
  SocketEvent send = Connect(kIpProtoUdp, IpAddress{}, 41000, V4("127.0.0.53"), 53, 42, "dig", 1);
  send.kind = SocketEvent::Kind::kSend;
  t.Add(send);
  auto m = t.Find(kIpProtoUdp, V4("127.0.0.1"), 41000, V4("127.0.0.53"), 53, 2);
  CHECK(PidOf(m) == 42);
  CHECK(m.method == AttributionMethod::kBound);
  CHECK(m.exact);
  // Another peer is not this datagram's.
  CHECK_FALSE(t.Find(kIpProtoUdp, V4("127.0.0.1"), 41000, V4("127.0.0.54"), 53, 2).event);
}

TEST_CASE("SocketRecordTable: port reuse — the record nearest the question", "[process][ebpf]") {
  SocketRecordTable t({});
  const IpAddress a = V4("127.0.0.1");
  t.Add(Connect(kIpProtoUdp, a, 7000, a, 53, 100, "first", 1'000, 1));
  t.Add(Connect(kIpProtoUdp, a, 7000, a, 53, 200, "second", 5'000'000, 2));
  CHECK(PidOf(t.Find(kIpProtoUdp, a, 7000, a, 53, 1'500)) == 100);
  CHECK(PidOf(t.Find(kIpProtoUdp, a, 7000, a, 53, 5'000'100)) == 200);
  // A question before both (a record that comes late) takes the nearer.
  CHECK(PidOf(t.Find(kIpProtoUdp, a, 7000, a, 53, 0)) == 100);
  // Reused more than max_per_tuple times: the oldest go.
  SocketRecordTable::Options o;
  o.max_per_tuple = 2;
  SocketRecordTable small(o);
  for (uint32_t i = 1; i <= 3; ++i) {
    small.Add(Connect(kIpProtoUdp, a, 7000, a, 53, i, "x", i * 1000, i));
  }
  CHECK(PidOf(small.Find(kIpProtoUdp, a, 7000, a, 53, 0)) == 2);
  CHECK(small.stats().records == 2);
}

TEST_CASE("SocketRecordTable: cookie reuse does not mix up sockets", "[process][ebpf]") {
  SocketRecordTable t({});
  const IpAddress a = V4("127.0.0.1");
  t.Add(Connect(kIpProtoTcp, a, 6000, a, 80, 1, "one", 10, 99));
  SocketEvent close;
  close.kind = SocketEvent::Kind::kClose;
  close.cookie = 99;
  t.Add(close);
  // The same cookie, another socket (another namespace's counter, a reboot
  // of the counter): each 4-tuple keeps its own owner.
  t.Add(Connect(kIpProtoTcp, a, 6001, a, 80, 2, "two", 20, 99));
  CHECK(PidOf(t.Find(kIpProtoTcp, a, 6000, a, 80, 30)) == 1);
  CHECK(PidOf(t.Find(kIpProtoTcp, a, 6001, a, 80, 30)) == 2);
  // The close did not drop the record: its packets may still be queued.
  CHECK(t.stats().records == 2);
  CHECK(t.stats().events == 3);
}

TEST_CASE("SocketRecordTable: packets before the record, records before packets",
          "[process][ebpf]") {
  SocketRecordTable t({});
  const IpAddress a = V4("127.0.0.1");
  // Asked first (the SYN is captured before the handshake completes):
  // nothing yet, and nothing is remembered of the miss.
  CHECK_FALSE(t.Find(kIpProtoTcp, a, 45000, a, 8080, 100).event);
  t.Add(Connect(kIpProtoTcp, a, 45000, a, 8080, 7, "client", 150));
  CHECK(PidOf(t.Find(kIpProtoTcp, a, 45000, a, 8080, 100)) == 7);
  // Records for a socket whose packets never come expire, counted.
  t.Add(Connect(kIpProtoTcp, a, 45001, a, 8080, 8, "unseen", 200));
  SocketRecordTable::Options o;
  t.Expire(150 + o.ttl_us - 1);
  CHECK(t.stats().records == 2);
  t.Expire(150 + o.ttl_us);
  CHECK(t.stats().records == 1);
  CHECK(t.stats().expired_unmatched == 0);  // That one answered.
  t.Expire(200 + o.ttl_us);
  CHECK(t.stats().records == 0);
  CHECK(t.stats().expired_unmatched == 1);  // The one never asked about.
  CHECK_FALSE(t.Find(kIpProtoTcp, a, 45000, a, 8080, 300).event);
}

TEST_CASE("SocketRecordTable: bounded; the oldest are evicted, counted", "[process][ebpf]") {
  SocketRecordTable::Options o;
  o.max_records = 100;
  SocketRecordTable t(o);
  const IpAddress a = V4("127.0.0.1");
  for (uint16_t i = 0; i < 1000; ++i) {
    t.Add(Connect(kIpProtoTcp, a, static_cast<uint16_t>(10000 + i), a, 80, i, "c", i));
  }
  CHECK(t.stats().records == 100);
  CHECK(t.stats().evicted == 900);
  CHECK_FALSE(t.Find(kIpProtoTcp, a, 10000, a, 80, 0).event);
  CHECK(PidOf(t.Find(kIpProtoTcp, a, 10999, a, 80, 999)) == 999);
  // The same tuple over and over (replaced records) stays bounded too.
  for (uint32_t i = 0; i < 1000; ++i) t.Add(Connect(kIpProtoUdp, a, 5, a, 6, i, "r", 2000 + i));
  CHECK(t.stats().records <= 100);
}

TEST_CASE("SocketRecordTable: loopback records of other namespaces are not ours",
          "[process][ebpf]") {
  SocketRecordTable::Options o;
  o.own_netns_ino = 1000;
  SocketRecordTable t(o);
  const IpAddress lo = V4("127.0.0.1");
  SocketEvent other = Connect(kIpProtoTcp, lo, 5555, lo, 80, 1, "elsewhere", 10);
  other.netns_ino = 2000;
  t.Add(other);
  CHECK_FALSE(t.Find(kIpProtoTcp, lo, 5555, lo, 80, 10).event);
  SocketEvent ours = other;
  ours.netns_ino = 1000;
  ours.tgid = 2;
  t.Add(ours);
  CHECK(PidOf(t.Find(kIpProtoTcp, lo, 5555, lo, 80, 10)) == 2);
  // A veth address of another namespace is: its packets reach our capture.
  SocketEvent veth = Connect(kIpProtoTcp, V4("10.9.0.2"), 3000, V4("10.9.0.1"), 80, 3, "ns", 10);
  veth.netns_ino = 2000;
  t.Add(veth);
  CHECK(PidOf(t.Find(kIpProtoTcp, V4("10.9.0.2"), 3000, V4("10.9.0.1"), 80, 10)) == 3);
}

TEST_CASE("CgroupV2Mount: unified, hybrid and none", "[process][ebpf]") {
  CHECK(CgroupV2Mount("29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n") ==
        "/sys/fs/cgroup");
  CHECK(CgroupV2Mount(
            "30 23 0:27 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
            "31 30 0:28 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n"
            "32 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n") ==
        "/sys/fs/cgroup/unified");
  // A bind mount of a sub-cgroup is not the root.
  CHECK(CgroupV2Mount("40 30 0:28 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n") == "");
  CHECK(CgroupV2Mount("garbage\n\n - \n") == "");
}

}  // namespace
}  // namespace rustnet
