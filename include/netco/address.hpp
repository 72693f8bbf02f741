// netco/address.hpp: address_info, what Node's address() / remoteAddress family of calls return
#pragma once
#include <cstddef>  // size_t
#include <cstdint>  // uint16_t
#include <string>   // string

#include "netco/detail/decl.hpp"

namespace netco {

/// An endpoint as Node reports one: { address, family, port }. A Unix-domain socket gives its
/// path as the address, an empty family and port 0. Node: the object server.address() returns
struct address_info {
  std::string address;  ///< "127.0.0.1", "::1", or a socket file's path
  std::string family;   ///< "IPv4", "IPv6", or "" for a Unix-domain socket
  std::uint16_t port = 0;
  friend bool operator==(const address_info&, const address_info&) = default;
};

namespace detail {
/// The address_info of a sockaddr of len bytes (an IPv4-mapped IPv6 address is reported as
/// the IPv4 address it maps, as Node does); empty for len 0 or an unknown family.
NETCO_DECL address_info to_address_info(const void* sockaddr, std::size_t len);
}  // namespace detail

}  // namespace netco

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/address.ipp"
#endif
