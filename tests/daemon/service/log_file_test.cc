#include "daemon/service/log_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/spdlog.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("log_file reopen after a rename makes a new 0600 file") {
  const testing::TempDir tmp("rnlog");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/rustnet.log";
  auto sink = ReopenableFileSink::Open(path);
  REQUIRE(sink.ok());
  spdlog::logger logger("t", *sink);
  logger.info("before");
  logger.flush();
  REQUIRE(std::rename(path.c_str(), (path + ".1").c_str()) == 0);
  logger.info("still old");
  REQUIRE((*sink)->Reopen().ok());
  logger.info("after");
  logger.flush();

  const std::string old_text = Slurp(path + ".1");
  const std::string new_text = Slurp(path);
  CHECK(old_text.find("before") != std::string::npos);
  CHECK(old_text.find("still old") != std::string::npos);
  CHECK(old_text.find("after") == std::string::npos);
  CHECK(new_text.find("after") != std::string::npos);
  CHECK(new_text.find("before") == std::string::npos);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  std::remove(path.c_str());
  std::remove((path + ".1").c_str());
}

TEST_CASE("log_file reopen failure keeps the old file") {
  const testing::TempDir tmp("rnlog");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/sub/rustnet.log";
  REQUIRE(mkdir((dir + "/sub").c_str(), 0700) == 0);
  auto sink = ReopenableFileSink::Open(path);
  REQUIRE(sink.ok());
  spdlog::logger logger("t", *sink);
  REQUIRE(std::rename((dir + "/sub").c_str(), (dir + "/moved").c_str()) == 0);
  auto status = (*sink)->Reopen();
  CHECK_FALSE(status.ok());
  CHECK(std::string(status.message()).find("cannot open log file") != std::string::npos);
  logger.info("kept");
  logger.flush();
  CHECK(Slurp(dir + "/moved/rustnet.log").find("kept") != std::string::npos);
  std::remove((dir + "/moved/rustnet.log").c_str());
}

TEST_CASE("log_file the default logger's file sink becomes reopenable") {
  const auto saved = spdlog::default_logger();
  const testing::TempDir tmp("rnlog");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/rustnet.log";
  auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  file_sink->set_level(spdlog::level::info);
  auto logger = std::make_shared<spdlog::logger>("rustnet", file_sink);
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);

  auto sink = MakeLogFileReopenable(path);
  REQUIRE(sink.ok());
  CHECK(spdlog::default_logger()->name() == "rustnet");
  CHECK(spdlog::default_logger()->sinks().size() == 1);
  CHECK(spdlog::default_logger()->sinks()[0] == *sink);
  spdlog::debug("hidden");
  // Raising the logger's level alone lets debug records through.
  spdlog::default_logger()->set_level(spdlog::level::debug);
  spdlog::debug("shown");
  spdlog::default_logger()->flush();
  const std::string text = Slurp(path);
  CHECK(text.find("hidden") == std::string::npos);
  CHECK(text.find("shown") != std::string::npos);
  CHECK_FALSE(MakeLogFileReopenable(dir + "/other.log").ok());

  spdlog::set_default_logger(saved);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace rustnet
