// tests/test_fs.cpp: fs::write_stream: writes in order on the file thread, Node's events and
// errors (a failed open, write after end, destroy)
#include "netco/fs.hpp"

#include <sys/stat.h>  // mkfifo
#include <unistd.h>    // getpid: a file name of this process's own

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netco/error.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "support.hpp"

namespace fs = netco::fs;
using namespace std::chrono_literals;

namespace {

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          ("netco_test_fs_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs the default loop until nothing keeps it alive, under the suite's watchdog.
void run_loop() { netco_test::detail::run_with_watchdog(netco::loop::current(), 20s); }

}  // namespace

TEST_CASE("writes land in order; finish, then close; bytes_written counts them") {
  const std::string path = temp_path("order");
  std::vector<std::string> events;
  fs::write_stream ws = fs::create_write_stream(path);
  ws.on("open", [&](int fd) { events.push_back(fd >= 0 ? "open" : "open:bad-fd"); });
  ws.on("ready", [&] { events.push_back("ready"); });
  ws.on("finish", [&] { events.push_back("finish"); });
  ws.on("close", [&] { events.push_back("close"); });
  ws.on("error", [&](std::error_code ec) { events.push_back("error:" + ec.message()); });
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    ws.write(line);
    expected += line;
  }
  ws.end("last");
  expected += "last";
  run_loop();
  CHECK(events == std::vector<std::string>{"open", "ready", "finish", "close"});
  CHECK(ws.bytes_written() == expected.size());
  CHECK(ws.destroyed());
  CHECK(contents(path) == expected);
  std::remove(path.c_str());
}

TEST_CASE("a failed open: \"error\" with the errno, then close; nothing written is kept") {
  const std::string path = temp_path("no-such-dir") + "/file";
  std::vector<std::string> events;
  fs::write_stream ws = fs::create_write_stream(path);
  ws.on("open", [&](int) { events.push_back("open"); });
  ws.on("error", [&](std::error_code ec) {
    events.push_back(ec == std::errc::no_such_file_or_directory ? "error:ENOENT" : ec.message());
  });
  ws.on("close", [&] { events.push_back("close"); });
  ws.write("before the open failed");  // accepted now, failed with the open
  run_loop();
  CHECK(events == std::vector<std::string>{"error:ENOENT", "close"});
  CHECK(ws.writable_length() == 0);
  CHECK(ws.bytes_written() == 0);
  // And after it: a write is refused, not accepted and dropped.
  CHECK_FALSE(ws.write("after"));
  CHECK(ws.writable_length() == 0);
}

TEST_CASE("write after end: \"error\" write_after_end, the data not written") {
  const std::string path = temp_path("after-end");
  std::vector<std::error_code> errors;
  fs::write_stream ws = fs::create_write_stream(path);
  ws.on("error", [&](std::error_code ec) { errors.push_back(ec); });
  ws.end("done");
  CHECK_FALSE(ws.write("late"));
  run_loop();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == netco::make_error_code(netco::errc::write_after_end));
  CHECK(contents(path) == "done");
  std::remove(path.c_str());
}

TEST_CASE("write after destroy is refused; close still comes") {
  const std::string path = temp_path("destroyed");
  bool closed = false;
  fs::write_stream ws = fs::create_write_stream(path);
  ws.on("close", [&] { closed = true; });
  ws.destroy();
  CHECK_FALSE(ws.write("x"));
  CHECK(ws.writable_length() == 0);
  run_loop();
  CHECK(closed);
  std::remove(path.c_str());
}

TEST_CASE("the file is opened on the file thread, not on the loop's") {
  // A FIFO with no reader: open(O_WRONLY) blocks until one comes. On the loop thread that
  // would hang the loop; on the file thread, the loop goes on and runs its timer meanwhile.
  const std::string path = temp_path("fifo");
  std::remove(path.c_str());
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  bool ticked = false, opened = false;
  std::thread reader;
  fs::write_stream ws = fs::create_write_stream(path);
  ws.on("open", [&](int) { opened = true; });
  netco::spawn([](bool& flag, std::string p, std::thread& r) -> netco::task<> {
    co_await netco::sleep_for(20ms);  // runs although the open is still blocked
    flag = true;
    // The reader lets the open finish, and takes the one byte written (a reader that
    // left early would make that write raise SIGPIPE).
    r = std::thread([p] {
      std::ifstream in(p);
      char c = 0;
      in.get(c);
    });
  }(ticked, path, reader));
  ws.end("x");
  run_loop();
  if (reader.joinable()) reader.join();
  CHECK(ticked);
  CHECK(opened);
  std::remove(path.c_str());
}
