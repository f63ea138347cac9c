#include "daemon/service/listen_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace rustnet {
namespace {

// Puts `fds` where systemd would (from SD_LISTEN_FDS_START on) and sets
// LISTEN_*. Descriptors already there are kept aside and restored.
class PassedFds {
 public:
  explicit PassedFds(std::vector<int> fds) {
    // Out of the way first: socket() may have returned a target number.
    for (int& fd : fds) {
      const int high = fcntl(fd, F_DUPFD_CLOEXEC, 200);
      REQUIRE(high >= 0);
      close(fd);
      fd = high;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      const int target = SD_LISTEN_FDS_START + static_cast<int>(i);
      saved_.push_back(fcntl(target, F_DUPFD_CLOEXEC, 100));
      REQUIRE(dup2(fds[i], target) == target);
      close(fds[i]);
    }
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDS", std::to_string(fds.size()).c_str(), 1);
  }
  ~PassedFds() {
    for (size_t i = 0; i < saved_.size(); ++i) {
      const int target = SD_LISTEN_FDS_START + static_cast<int>(i);
      close(target);
      if (saved_[i] >= 0) {
        dup2(saved_[i], target);
        close(saved_[i]);
      }
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
  }

 private:
  std::vector<int> saved_;
};

int UnixListener(const std::string& path, int type, bool listening) {
  unlink(path.c_str());
  const int fd = socket(AF_UNIX, type, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  if (listening) REQUIRE(listen(fd, 4) == 0);
  return fd;
}

TEST_CASE("listen_fds nothing passed") {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  auto s = TakePassedSocket();
  REQUIRE(s.ok());
  CHECK_FALSE(s->has_value());
}

TEST_CASE("listen_fds a listening Unix socket is taken, with its path") {
  const std::string path = "/tmp/rnlisten." + std::to_string(getpid()) + ".sock";
  PassedFds passed({UnixListener(path, SOCK_STREAM, true)});
  auto s = TakePassedSocket();
  REQUIRE(s.ok());
  REQUIRE(s->has_value());
  CHECK((*s)->fd == SD_LISTEN_FDS_START);
  CHECK((*s)->path == path);
  CHECK((fcntl((*s)->fd, F_GETFD) & FD_CLOEXEC) != 0);
  // The environment is consumed: a second call sees nothing.
  CHECK(std::getenv("LISTEN_FDS") == nullptr);
  auto again = TakePassedSocket();
  REQUIRE(again.ok());
  CHECK_FALSE(again->has_value());
  unlink(path.c_str());
}

TEST_CASE("listen_fds a socket that is not listening is refused") {
  const std::string path = "/tmp/rnlisten2." + std::to_string(getpid()) + ".sock";
  PassedFds passed({UnixListener(path, SOCK_STREAM, false)});
  auto s = TakePassedSocket();
  REQUIRE_FALSE(s.ok());
  CHECK(std::string(s.status().message()).find("not a listening Unix stream socket") !=
        std::string::npos);
  unlink(path.c_str());
}

TEST_CASE("listen_fds a TCP socket is refused") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listen(fd, 1) == 0);  // Binds an ephemeral port.
  PassedFds passed({fd});
  auto s = TakePassedSocket();
  REQUIRE_FALSE(s.ok());
  CHECK(std::string(s.status().message()).find("ListenStream=") != std::string::npos);
}

TEST_CASE("listen_fds two sockets are refused") {
  const std::string a = "/tmp/rnlisten3." + std::to_string(getpid()) + ".sock";
  const std::string b = "/tmp/rnlisten4." + std::to_string(getpid()) + ".sock";
  PassedFds passed({UnixListener(a, SOCK_STREAM, true), UnixListener(b, SOCK_STREAM, true)});
  auto s = TakePassedSocket();
  REQUIRE_FALSE(s.ok());
  CHECK(std::string(s.status().message()).find("passed 2 sockets") != std::string::npos);
  unlink(a.c_str());
  unlink(b.c_str());
}

}  // namespace
}  // namespace rustnet
