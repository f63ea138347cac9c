#include "daemon/service/accept_loop.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rustnet {
namespace {

sockaddr_un Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  return addr;
}

int Connect(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = Address(path);
  REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

TEST_CASE("accept_loop hands every connection over, non-blocking, and stops") {
  const std::string path = "/tmp/rnaccept." + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = Address(path);
  REQUIRE(bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(listener, 16) == 0);

  std::mutex mu;
  std::vector<int> accepted;
  auto loop = AcceptLoop::Start(listener, [&](int fd) {
    std::lock_guard<std::mutex> lock(mu);
    accepted.push_back(fd);
  });
  REQUIRE(loop.ok());

  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(Connect(path));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (accepted.size() == clients.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*loop)->Stop();
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(accepted.size() == clients.size());
    for (int fd : accepted) {
      CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
      CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
      close(fd);
    }
  }
  CHECK((*loop)->accepted() == clients.size());

  // Stopped: the listener stays open and a new client waits in the backlog.
  CHECK(fcntl(listener, F_GETFD) >= 0);
  const int late = Connect(path);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK((*loop)->accepted() == clients.size());
  loop->reset();  // Stop twice: harmless.

  close(late);
  for (int fd : clients) close(fd);
  close(listener);
  unlink(path.c_str());
}

}  // namespace
}  // namespace rustnet
