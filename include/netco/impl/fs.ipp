// netco/impl/fs.ipp: the out-of-line parts of netco/fs.hpp
#pragma once
#include <fcntl.h>   // open, O_*
#include <unistd.h>  // write, close

#include <cerrno>   // errno
#include <utility>  // exchange, move

#include "netco/fs.hpp"

namespace netco::detail {

NETCO_DECL write_stream_state::write_stream_state(loop& owner, std::string path,
                                                  std::string_view flags)
    : owner_(&owner),
      path_(std::move(path)),
      open_flags_(flags == "a" ? (O_WRONLY | O_CREAT | O_APPEND) : (O_WRONLY | O_CREAT | O_TRUNC)) {
  owner.hook(*this);
}

NETCO_DECL write_stream_state::~write_stream_state() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();  // flushes what is queued
  if (fd_ >= 0) ::close(fd_);
  if (!owner_->gone()) {  // what was in flight for it is dropped, with its references
    if (open_pending_) owner_->unref();
    if (in_flight_ > 0) owner_->unref();
  }
}

NETCO_DECL void write_stream_state::start() {
  weak_ = weak_from_this();
  owner_->ref();  // the open in flight keeps the loop alive
  thread_ = std::thread([this] { run(); });
}

NETCO_DECL void write_stream_state::run() {
  const int fd = ::open(path_.c_str(), open_flags_ | O_CLOEXEC, 0666);
  const std::error_code open_error =
      fd < 0 ? std::error_code(errno, std::system_category()) : std::error_code();
  std::unique_lock lock(mutex_);
  if (stop_) {  // the state is going (its destructor joins us): nothing to tell
    if (fd >= 0) fd_ = fd;
    return;
  }
  owner_->post([weak = weak_, fd, open_error] {
    if (auto self = weak.lock()) {
      self->opened(fd, open_error);
    } else if (fd >= 0) {
      ::close(fd);
    }
  });
  if (fd < 0) return;
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
        const ssize_t n = ::write(fd, b.data() + at, b.size() - at);
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

NETCO_DECL void write_stream_state::opened(int fd, std::error_code ec) {
  struct release {
    loop* l;
    ~release() { l->unref(); }  // the open's reference
  } counted{owner_};
  open_pending_ = false;
  if (ec) {
    // What was written meanwhile fails with the open: nothing of it reached a file.
    writable_length_ = 0;
    if (in_flight_ > 0) {
      in_flight_ = 0;
      owner_->unref();
    }
    {
      std::lock_guard lock(mutex_);
      queue_.clear();
    }
    fail(ec, "open");
    return;
  }
  {
    std::lock_guard lock(mutex_);
    fd_ = fd;
  }
  is_open_ = true;
  if (destroyed_) return;
  emit_event<"open">(fd);
  emit_event<"ready">();
  if (ended_ && in_flight_ == 0) finish();
}

NETCO_DECL bool write_stream_state::write(buffer data) {
  // As Node: refused once destroyed (a failed open destroys), without an event, since its
  // listeners are gone with its "close"; after end(), an "error".
  if (destroyed_) return false;
  if (ended_) {
    const std::error_code ec = make_error_code(errc::write_after_end);
    post_counted([self = shared_from_this(), ec] {
      if (self->count_of<"error">() > 0) {
        self->emit_event<"error">(ec);
      } else {
        throw std::system_error(ec, "write " + self->path_);  // Node: an unhandled 'error'
      }
      self->destroy();
    });
    return false;
  }
  writable_length_ += data.size();
  if (!data.empty()) {
    if (in_flight_++ == 0) owner_->ref();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(data));
    }
    wake_.notify_one();
  }
  const bool ok = writable_length_ < high_water_mark_;
  if (!ok) need_drain_ = true;
  return ok;
}

NETCO_DECL void write_stream_state::end() {
  if (ended_ || destroyed_) return;
  ended_ = true;
  if (in_flight_ == 0 && is_open_) finish();
}

NETCO_DECL void write_stream_state::destroy() {
  if (destroyed_) return;
  destroyed_ = true;
  post_counted([self = shared_from_this()] {
    self->emit_event<"close">();
    self->clear_all();
    self->unhook();
  });
}

NETCO_DECL void write_stream_state::completed(std::size_t written, std::size_t count,
                                              std::error_code ec) {
  bytes_written_ += written;
  writable_length_ -= std::min(writable_length_, written);
  in_flight_ -= count;
  if (in_flight_ == 0) owner_->unref();
  if (ec) {
    fail(ec, "write");
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

NETCO_DECL void write_stream_state::finish() {
  if (finished_ || destroyed_) return;
  finished_ = true;
  post_counted([self = shared_from_this()] {
    self->emit_event<"finish">();
    self->destroy();
  });
}

NETCO_DECL void write_stream_state::fail(std::error_code ec, const char* syscall) {
  if (destroyed_) return;
  if (count_of<"error">() > 0) {
    emit_event<"error">(ec);
  } else {  // Node: an unhandled 'error' throws
    owner_->report(std::make_exception_ptr(std::system_error(ec, syscall + (" " + path_))));
  }
  destroy();
}

NETCO_DECL void write_stream_state::on_loop_gone() noexcept {
  auto keep = weak_from_this().lock();
  {
    std::lock_guard lock(mutex_);
    stop_ = true;  // the file thread posts nothing more to the loop
  }
  wake_.notify_one();
  destroyed_ = true;
  clear_all();
}

}  // namespace netco::detail

namespace netco::fs {

NETCO_DECL write_stream create_write_stream(std::string path, std::string_view flags) {
  auto s =
      std::make_shared<netco::detail::write_stream_state>(loop::current(), std::move(path), flags);
  s->start();
  return write_stream(s);
}

}  // namespace netco::fs
