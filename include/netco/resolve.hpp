// netco/resolve.hpp: name resolution for TCP (literals at once, names through Asio's resolver)
#pragma once
#include <coroutine>     // coroutine_handle
#include <cstdint>       // uint16_t
#include <string>        // string, to_string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <vector>        // vector

#include "netco/detail/asio.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"

namespace netco {

namespace detail {

class [[nodiscard]] resolve_awaiter {
 public:
  resolve_awaiter(loop& owner, std::string host, std::uint16_t port, std::error_code* out)
      : owner_(&owner), resolver_(owner.context()), host_(std::move(host)), port_(port), out_(out) {
    // Literals need no lookup and no trip through the loop.
    asio::ip::address literal = asio::ip::make_address(host_, ec_);
    if (!ec_) results_.emplace_back(literal, port_);
  }
  resolve_awaiter(const resolve_awaiter&) = delete;

  bool await_ready() const noexcept { return !results_.empty(); }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_ = h;
    owner_->ref();
    resolver_.async_resolve(host_, std::to_string(port_), asio::ip::resolver_base::numeric_service,
                            [this](const std::error_code& ec, auto results) {
                              ec_ = ec;
                              for (const auto& entry : results)
                                results_.push_back(entry.endpoint());
                              loop* owner = owner_;
                              waiter_.resume();
                              owner->unref();
                            });
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
  loop* owner_;
  asio::ip::basic_resolver<asio::ip::tcp, executor> resolver_;
  std::string host_;
  std::uint16_t port_;
  std::error_code* out_;
  std::error_code ec_;
  std::coroutine_handle<> waiter_;
  std::vector<asio::ip::tcp::endpoint> results_;
};

}  // namespace detail

/// The addresses of host (a name or an IP literal), in the resolver's order. Throws
/// std::system_error (host not found...) on failure; the error_code form stores it instead.
inline detail::resolve_awaiter resolve(std::string host, std::uint16_t port) {
  return {loop::current(), std::move(host), port, nullptr};
}
inline detail::resolve_awaiter resolve(std::string host, std::uint16_t port, std::error_code& ec) {
  return {loop::current(), std::move(host), port, &ec};
}

/// Blocking resolution, for start-up (listen before run()).
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
