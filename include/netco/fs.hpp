// netco/fs.hpp: a writable file stream (Node's fs.createWriteStream), e.g. for pipe()
#pragma once
#include <condition_variable>  // condition_variable: the file thread waits for work
#include <cstddef>             // size_t
#include <memory>              // shared_ptr, enable_shared_from_this
#include <mutex>               // mutex
#include <string>              // string
#include <string_view>         // string_view
#include <system_error>        // error_code
#include <thread>              // thread: opening and writing never block the loop
#include <vector>              // vector

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"

namespace netco::detail {

using write_stream_emitter =
    basic_event_emitter<event<"open", int>, event<"ready">, event<"drain">, event<"finish">,
                        event<"close">, event<"error", std::error_code>>;

/// The state behind a write_stream. The loop thread queues buffers; one file thread opens the
/// file, then writes them in order and posts each completion back to the loop, which holds a
/// reference while anything is in flight (Node's rule: pending file work keeps the process
/// alive). Writes made before the file is open wait for it; if opening fails, they fail with
/// it, and every later write fails with ERR_STREAM_DESTROYED.
class write_stream_state final : public write_stream_emitter,
                                 public loop_hook,
                                 public std::enable_shared_from_this<write_stream_state> {
 public:
  NETCO_DECL write_stream_state(loop& owner, std::string path, std::string_view flags);
  NETCO_DECL ~write_stream_state() override;

  NETCO_DECL void start();
  NETCO_DECL bool write(buffer data);
  NETCO_DECL void end();
  NETCO_DECL void destroy();

  loop* owner_;
  std::string path_;
  std::size_t bytes_written_ = 0;
  std::size_t writable_length_ = 0;
  bool destroyed_ = false;

 private:
  void run();
  void opened(int fd, std::error_code ec);
  void completed(std::size_t written, std::size_t count, std::error_code ec);
  void finish();
  void fail(std::error_code ec, const char* syscall);
  void on_loop_gone() noexcept override;
  template <class Fn>
  void post_counted(Fn fn) {
    defer(*owner_, std::move(fn));
  }

  int open_flags_;
  int fd_ = -1;  // written by the file thread before it posts "opened"; loop thread after
  std::size_t high_water_mark_ = 16 * 1024;  // Node's default for file streams
  std::size_t in_flight_ = 0;
  bool need_drain_ = false;
  bool ended_ = false;
  bool finished_ = false;
  bool is_open_ = false;
  bool open_pending_ = true;  // the file thread has not reported the open yet
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<buffer> queue_;
  bool stop_ = false;
  std::weak_ptr<write_stream_state> weak_;  // set before the thread starts
  std::thread thread_;
};

}  // namespace netco::detail

namespace netco::fs {

/// A file opened for writing, on a file thread: opening and writes never block the loop.
/// Events: "open"(fd), "ready", "drain", "finish", "close", "error"(error_code). A cheap
/// handle; its methods are const.
class write_stream : public netco::detail::handle<write_stream, netco::detail::write_stream_state> {
 public:
  static constexpr const char* kind = "fs::write_stream";
  write_stream() = default;
  explicit write_stream(std::shared_ptr<netco::detail::write_stream_state> s) noexcept
      : handle(std::move(s)) {}

  // (events: on, once, off, emit... from the handle base)

  /// Queues data; false past 16 KiB queued: wait for "drain". After end(): "error"
  /// (write_after_end); after destroy() or a failed open: refused (false), nothing queued.
  /// Node: writable.write(chunk)
  bool write(const buffer& data) const { return s().write(data); }
  bool write(std::string_view text) const { return s().write(buffer::from(text)); }
  /// Node: writable.end()
  const write_stream& end() const {
    s().end();
    return *this;
  }
  const write_stream& end(std::string_view text) const {
    write(text);
    return end();
  }
  /// Node: writable.destroy()
  const write_stream& destroy() const {
    s().destroy();
    return *this;
  }
  /// Node: fs.WriteStream.bytesWritten
  std::size_t bytes_written() const { return s().bytes_written_; }
  /// Node: writable.writableLength
  std::size_t writable_length() const { return s().writable_length_; }
  /// Node: fs.WriteStream.path
  const std::string& path() const { return s().path_; }
  /// Node: writable.destroyed
  bool destroyed() const { return s().destroyed_; }
};

/// Opens path for writing ("w": truncate, "a": append) on the file thread; "open" and "ready"
/// follow, or "error" (ENOENT, EACCES...) and "close". Node: fs.createWriteStream(path, {flags})
NETCO_DECL write_stream create_write_stream(std::string path, std::string_view flags = "w");

}  // namespace netco::fs

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/fs.ipp"
#endif
