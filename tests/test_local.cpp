// tests/test_local.cpp: Unix-domain stream sockets (echo, busy and stale paths, cleanup)
#include "netco/local.hpp"

#include <unistd.h>
#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "netco/spawn.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using netco::task;

namespace {
std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("netco-") + name + "-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

task<> echo_once(netco::local::acceptor& acceptor) {
  auto peer = co_await acceptor.accept();
  std::array<std::byte, 4096> buf;
  while (std::size_t n = co_await peer.read_some(buf))
    co_await peer.write_all(std::span(buf).first(n));
  peer.shutdown_send();
}
}  // namespace

TEST_CASE("echo over a Unix-domain socket; closing the listener removes its file") {
  const std::string path = temp_path("echo");
  std::filesystem::remove(path);
  netco_test::run([](std::string p) -> task<> {
    auto acceptor = netco::local::listen(p);
    CHECK(std::filesystem::exists(p));
    netco::spawn(echo_once(acceptor));
    auto client = co_await netco::local::connect(p);
    const auto payload = netco_test::random_bytes(300'000, 3);
    auto reader = [](netco::local::stream& s) -> task<std::vector<std::byte>> {
      std::vector<std::byte> got;
      std::array<std::byte, 4096> buf;
      while (std::size_t n = co_await s.read_some(buf))
        got.insert(got.end(), buf.begin(), buf.begin() + n);
      co_return got;
    };
    auto writer = [](netco::local::stream& s, const std::vector<std::byte>& data) -> task<> {
      co_await s.write_all(data);
      s.shutdown_send();
    };
    auto [none, got] = co_await netco::when_all(writer(client, payload), reader(client));
    (void)none;
    CHECK(got == payload);
    acceptor.close();
    CHECK_FALSE(std::filesystem::exists(p));
  }(path));
}

TEST_CASE("a busy path and a stale file both fail with EADDRINUSE, as in Node") {
  const std::string path = temp_path("busy");
  std::filesystem::remove(path);
  {
    auto first = netco::local::listen(path);
    std::error_code ec;
    auto second = netco::local::listen(path, 16, ec);
    CHECK(ec == std::errc::address_in_use);
    CHECK(std::filesystem::exists(path));  // the failed listen must not remove the live file
  }
  CHECK_FALSE(std::filesystem::exists(path));
  std::ofstream(path) << "stale";
  std::error_code ec;
  auto third = netco::local::listen(path, 16, ec);
  CHECK(ec == std::errc::address_in_use);
  CHECK(std::filesystem::exists(path));  // not ours: left alone
  std::filesystem::remove(path);
}

TEST_CASE("connecting to a missing path fails clearly") {
  netco_test::run([]() -> task<> {
    std::error_code ec;
    auto s = co_await netco::local::connect(temp_path("missing"), ec);
    CHECK((ec == std::errc::no_such_file_or_directory || ec == std::errc::connection_refused));
    CHECK_THROWS_AS(co_await netco::local::connect(temp_path("missing")), std::system_error);
  }());
}
