// netco/resolve.hpp: name resolution for TCP (literals at once, names off the loop thread)
#pragma once
#include <coroutine>     // coroutine_handle
#include <cstdint>       // uint16_t
#include <memory>        // shared_ptr: a lookup outlives an awaiter that gave up on it
#include <string>        // string, to_string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <vector>        // vector

#include "netco/detail/asio.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {

/// Resolves a name through Asio's resolver (getaddrinfo on a thread of its own). getaddrinfo
/// cannot be interrupted, so cancellation (with_timeout, cancel_scope) resumes the awaiter at
/// once with operation_canceled and leaves the lookup to finish unheard.
class [[nodiscard]] resolve_awaiter {
 public:
  resolve_awaiter(loop& owner, std::string host, std::uint16_t port, std::error_code* out)
      : owner_(&owner), host_(std::move(host)), port_(port), out_(out) {
    // Literals need no lookup and no trip through the loop.
    asio::ip::address literal = asio::ip::make_address(host_, ec_);
    if (!ec_) results_.emplace_back(literal, port_);
  }
  resolve_awaiter(const resolve_awaiter&) = delete;

  bool await_ready() const noexcept { return !results_.empty(); }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    cancel_ = cancel_signal_of(h);
    if (cancel_ && cancel_->requested()) {
      ec_ = canceled_error();
      return false;
    }
    waiter_ = h;
    lookup_ = std::make_shared<lookup>(*owner_);
    lookup_->awaiter = this;
    owner_->ref();
    if (cancel_) cancel_->install(&on_cancel, this);
    lookup_->resolver.async_resolve(host_, std::to_string(port_),
                                    asio::ip::resolver_base::numeric_service,
                                    [l = lookup_](const std::error_code& ec, auto results) {
                                      resolve_awaiter* self = l->awaiter;
                                      if (!self)
                                        return;  // given up on: the awaiter resumed and may be gone
                                      self->ec_ = ec;
                                      for (const auto& entry : results)
                                        self->results_.push_back(entry.endpoint());
                                      self->finish();
                                    });
    return true;
  }
  std::vector<asio::ip::tcp::endpoint> await_resume() {
    if (!results_.empty())
      ec_.clear();
    else if (!ec_)
      ec_ = asio::error::host_not_found;
    deliver_error(ec_, out_);
    return std::move(results_);
  }

 private:
  struct lookup {
    explicit lookup(loop& l) : resolver(l.context()) {}
    asio::ip::basic_resolver<asio::ip::tcp, executor> resolver;
    resolve_awaiter* awaiter = nullptr;
  };

  void finish() {
    lookup_->awaiter = nullptr;
    if (cancel_) cancel_->clear();
    loop* owner = owner_;
    std::exchange(waiter_, nullptr).resume();  // may destroy *this
    owner->unref();
  }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<resolve_awaiter*>(p);
    self->results_.clear();
    self->ec_ = canceled_error();
    self->lookup_->resolver.cancel();
    self->lookup_->awaiter = nullptr;
    // Resumed on a later turn, never inside the cancel_scope's request().
    asio::post(self->owner_->context(), [self] {
      loop* owner = self->owner_;
      std::exchange(self->waiter_, nullptr).resume();
      owner->unref();
    });
  }

  loop* owner_;
  std::string host_;
  std::uint16_t port_;
  std::error_code* out_;
  std::error_code ec_;
  std::coroutine_handle<> waiter_;
  cancel_signal* cancel_ = nullptr;
  std::shared_ptr<lookup> lookup_;
  std::vector<asio::ip::tcp::endpoint> results_;
};

}  // namespace detail

/// The addresses of host (a name or an IP literal), in the resolver's order. Throws
/// std::system_error (host not found...) on failure; the error_code form stores it instead.
/// A name is looked up off the loop thread; cancellation gives up on it at once.
inline detail::resolve_awaiter resolve(std::string host, std::uint16_t port) {
  return {loop::current(), std::move(host), port, nullptr};
}
inline detail::resolve_awaiter resolve(std::string host, std::uint16_t port, std::error_code& ec) {
  return {loop::current(), std::move(host), port, &ec};
}

/// Blocking resolution, for start-up code (a coroutine-style listen before run()); it blocks
/// the calling thread for as long as getaddrinfo takes.
inline std::vector<asio::ip::tcp::endpoint> resolve_now(std::string_view host, std::uint16_t port,
                                                        std::error_code& ec) {
  std::vector<asio::ip::tcp::endpoint> out;
  asio::ip::address literal = asio::ip::make_address(std::string(host), ec);
  if (!ec) {
    out.emplace_back(literal, port);
    return out;
  }
  asio::io_context io(1);
  asio::ip::basic_resolver<asio::ip::tcp, detail::executor> resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) {
    ec = detail::normalize(ec);
    return out;
  }
  for (const auto& entry : results) out.push_back(entry.endpoint());
  if (out.empty()) ec = asio::error::host_not_found;
  ec = detail::normalize(ec);
  return out;
}

}  // namespace netco
