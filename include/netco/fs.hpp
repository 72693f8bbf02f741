// netco/fs.hpp: a minimal writable file stream (Node's fs.createWriteStream) for pipe()
#pragma once
#include <fcntl.h>   // open, O_*
#include <unistd.h>  // write, close

#include <cerrno>              // errno
#include <condition_variable>  // condition_variable: the file thread waits for work
#include <cstddef>             // size_t
#include <memory>              // shared_ptr, enable_shared_from_this
#include <mutex>               // mutex
#include <string>              // string
#include <string_view>         // string_view
#include <system_error>        // error_code
#include <thread>              // thread: file writes never block the loop
#include <utility>             // exchange, move
#include <vector>              // vector

#include "netco/buffer.hpp"
#include "netco/detail/emitter_handle.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"

namespace netco::fs {

namespace detail {

using write_stream_emitter =
    basic_event_emitter<event<"open", int>, event<"ready">, event<"drain">, event<"finish">,
                        event<"close">, event<"error", std::error_code>>;

/// The state behind a write_stream. The loop thread queues buffers; one file thread writes
/// them in order and posts each completion back to the loop, which holds a reference while
/// anything is in flight (Node's rule: pending file writes keep the process alive).
class write_stream_state final : public write_stream_emitter,
                                 public std::enable_shared_from_this<write_stream_state> {
 public:
  write_stream_state(loop& owner, std::string path, std::string_view flags)
      : owner_(&owner), path_(std::move(path)) {
    const int mode =
        flags == "a" ? (O_WRONLY | O_CREAT | O_APPEND) : (O_WRONLY | O_CREAT | O_TRUNC);
    fd_ = ::open(path_.c_str(), mode | O_CLOEXEC, 0666);
    open_error_ = fd_ < 0 ? std::error_code(errno, std::system_category()) : std::error_code();
  }
  ~write_stream_state() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();  // flushes what is queued
    if (fd_ >= 0) ::close(fd_);
    if (in_flight_ > 0) owner_->unref();  // completions for a dead stream are dropped
  }

  void start() {
    auto self = shared_from_this();
    post_counted([self] {
      if (self->open_error_) {
        self->fail(self->open_error_);
        return;
      }
      self->emit_event<"open">(self->fd_);
      self->emit_event<"ready">();
    });
    weak_ = weak_from_this();
    if (fd_ >= 0) thread_ = std::thread([this] { run(); });
  }

  bool write(buffer data) {
    if (ended_ || destroyed_) {
      post_counted(
          [self = shared_from_this()] { self->fail(make_error_code(errc::write_after_end)); });
      return false;
    }
    writable_length_ += data.size();
    if (fd_ >= 0 && !data.empty()) {
      if (in_flight_++ == 0) owner_->ref();
      {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(data));
      }
      wake_.notify_one();
    } else {
      writable_length_ -= data.size();
    }
    const bool ok = writable_length_ < high_water_mark_;
    if (!ok) need_drain_ = true;
    return ok;
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    if (in_flight_ == 0) finish();
  }

  void destroy() {
    if (destroyed_) return;
    destroyed_ = true;
    post_counted([self = shared_from_this()] {
      self->emit_event<"close">();
      self->clear_all();
    });
  }

  loop* owner_;
  std::string path_;
  std::size_t bytes_written_ = 0;
  std::size_t writable_length_ = 0;

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      std::vector<buffer> batch = std::exchange(queue_, {});
      lock.unlock();
      std::size_t written = 0;
      std::error_code ec;
      for (const buffer& b : batch) {
        std::size_t at = 0;
        while (at < b.size() && !ec) {
          const ssize_t n = ::write(fd_, b.data() + at, b.size() - at);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0)
            ec = std::error_code(errno, std::system_category());
          else
            at += static_cast<std::size_t>(n);
        }
        written += at;
      }
      const std::size_t count = batch.size();
      lock.lock();
      if (!stop_) {
        owner_->post([weak = weak_, written, count, ec] {
          if (auto self = weak.lock()) self->completed(written, count, ec);
        });
      }
    }
  }

  void completed(std::size_t written, std::size_t count, std::error_code ec) {
    bytes_written_ += written;
    writable_length_ -= written;
    in_flight_ -= count;
    if (in_flight_ == 0) owner_->unref();
    if (ec) {
      fail(ec);
      return;
    }
    if (in_flight_ == 0) {
      if (need_drain_) {
        need_drain_ = false;
        emit_event<"drain">();
      }
      if (ended_) finish();
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    post_counted([self = shared_from_this()] {
      self->emit_event<"finish">();
      self->destroy();
    });
  }

  void fail(std::error_code ec) {
    emit_event<"error">(ec);
    destroy();
  }

  template <class Fn>
  void post_counted(Fn fn) {
    owner_->ref();
    owner_->post([l = owner_, fn = std::move(fn)]() mutable {
      try {
        fn();
      } catch (...) {
        l->report(std::current_exception());
      }
      l->unref();
    });
  }

  int fd_ = -1;
  std::error_code open_error_;
  std::size_t high_water_mark_ = 16 * 1024;  // Node's default for file streams
  std::size_t in_flight_ = 0;
  bool need_drain_ = false;
  bool ended_ = false;
  bool finished_ = false;
  bool destroyed_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<buffer> queue_;
  bool stop_ = false;
  std::weak_ptr<write_stream_state> weak_;  // set before the thread starts
  std::thread thread_;
};

}  // namespace detail

/// A file opened for writing; writes go to a file thread, never blocking the loop. Events:
/// "open"(fd), "ready", "drain", "finish", "close", "error"(error_code). A cheap handle.
class write_stream : public netco::detail::emitter_handle<write_stream> {
 public:
  write_stream() = default;
  explicit write_stream(std::shared_ptr<detail::write_stream_state> s) : s_(std::move(s)) {}

  /// Node: writable.write(chunk) — false past 16 KiB queued: wait for "drain"
  bool write(const buffer& data) { return s_->write(data); }
  bool write(std::string_view text) { return s_->write(buffer::from(text)); }
  /// Node: writable.end()
  write_stream& end() {
    s_->end();
    return *this;
  }
  write_stream& end(std::string_view text) {
    write(text);
    return end();
  }
  /// Node: writable.destroy()
  write_stream& destroy() {
    s_->destroy();
    return *this;
  }
  // (events: on, once, off, emit... from emitter_handle)
  /// Node: fs.WriteStream.bytesWritten
  std::size_t bytes_written() const { return s_->bytes_written_; }
  /// Node: writable.writableLength
  std::size_t writable_length() const { return s_->writable_length_; }
  /// Node: fs.WriteStream.path
  const std::string& path() const { return s_->path_; }

 private:
  friend netco::detail::emitter_handle<write_stream>;
  detail::write_stream_state& emitter() const { return *s_; }
  std::shared_ptr<detail::write_stream_state> s_;
};

/// Opens path for writing ("w": truncate, "a": append); failures arrive as "error".
/// Node: fs.createWriteStream(path, { flags })
inline write_stream create_write_stream(std::string path, std::string_view flags = "w") {
  auto s = std::make_shared<detail::write_stream_state>(loop::current(), std::move(path), flags);
  s->start();
  return write_stream(s);
}

}  // namespace netco::fs
