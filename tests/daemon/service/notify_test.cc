#include "daemon/service/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace rustnet {
namespace {

// Sets (or unsets, for nullptr) environment variables for one scope.
class ScopedEnv {
 public:
  void Set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.push_back({name, old != nullptr, old != nullptr ? old : ""});
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->had) {
        setenv(it->name.c_str(), it->value.c_str(), 1);
      } else {
        unsetenv(it->name.c_str());
      }
    }
  }

 private:
  struct Saved {
    std::string name;
    bool had;
    std::string value;
  };
  std::vector<Saved> saved_;
};

// A datagram socket standing in for systemd's notification socket.
class FakeManager {
 public:
  FakeManager() {
    path_ = "/tmp/rnnotify." + std::to_string(getpid()) + ".sock";
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    timeval timeout{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~FakeManager() {
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string Receive() {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST_CASE("notify without NOTIFY_SOCKET does nothing") {
  ScopedEnv env;
  env.Set("NOTIFY_SOCKET", nullptr);
  env.Set("WATCHDOG_USEC", nullptr);
  ServiceNotifier n;
  CHECK_FALSE(n.enabled());
  CHECK_FALSE(n.watchdog_interval().has_value());
  n.Ready();
  n.Status("x");
  n.Watchdog();
  n.Stopping();
  CHECK(n.sent() == 0);
}

TEST_CASE("notify sends the protocol's messages") {
  FakeManager manager;
  ScopedEnv env;
  env.Set("NOTIFY_SOCKET", manager.path().c_str());
  env.Set("WATCHDOG_USEC", "4000000");
  env.Set("WATCHDOG_PID", std::to_string(getpid()).c_str());
  ServiceNotifier n;
  REQUIRE(n.enabled());
  REQUIRE(n.watchdog_interval().has_value());
  CHECK(*n.watchdog_interval() == absl::Seconds(2));

  n.Ready();
  CHECK(manager.Receive() == "READY=1");
  n.Status("eth0: 5 packets/s\nsecond line");
  CHECK(manager.Receive() == "STATUS=eth0: 5 packets/s second line");
  n.Watchdog();
  CHECK(manager.Receive() == "WATCHDOG=1");
  n.Reloading();
  const std::string reloading = manager.Receive();
  CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  n.Stopping();
  CHECK(manager.Receive() == "STOPPING=1");
  CHECK(n.sent() == 5);
}

TEST_CASE("notify a watchdog meant for another process is not ours") {
  ScopedEnv env;
  env.Set("NOTIFY_SOCKET", "/tmp/none.sock");
  env.Set("WATCHDOG_USEC", "4000000");
  env.Set("WATCHDOG_PID", "1");
  ServiceNotifier n;
  CHECK_FALSE(n.watchdog_interval().has_value());
}

TEST_CASE("notify status line") {
  CHECK(ServiceStatusLine("eth0", 1234.4, 56, 7) ==
        "eth0: 1234 packets/s, 56 connections, 7 dropped");
  CHECK(ServiceStatusLine("f.pcap", -1, 0, 0) == "f.pcap: 0 packets/s, 0 connections, 0 dropped");
}

}  // namespace
}  // namespace rustnet
