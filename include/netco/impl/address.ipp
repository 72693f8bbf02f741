// netco/impl/address.ipp: the out-of-line part of netco/address.hpp
#pragma once
#include <arpa/inet.h>   // inet_ntop
#include <netinet/in.h>  // sockaddr_in, sockaddr_in6, IN6_IS_ADDR_V4MAPPED
#include <sys/socket.h>  // sockaddr, AF_*
#include <sys/un.h>      // sockaddr_un

#include <cstring>  // memcpy, strnlen

#include "netco/address.hpp"

namespace netco::detail {

NETCO_DECL address_info to_address_info(const void* sockaddr, std::size_t len) {
  address_info out;
  if (len < sizeof(sa_family_t)) return out;
  sa_family_t family;
  std::memcpy(&family, static_cast<const char*>(sockaddr) + offsetof(::sockaddr, sa_family),
              sizeof family);
  char text[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in in;
    std::memcpy(&in, sockaddr, sizeof in);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    out.address = text;
    out.family = "IPv4";
    out.port = ntohs(in.sin_port);
  } else if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sockaddr, sizeof in6);
    out.port = ntohs(in6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {  // a dual-stack socket's IPv4 peer
      ::inet_ntop(AF_INET, in6.sin6_addr.s6_addr + 12, text, sizeof text);
      out.family = "IPv4";
    } else {
      ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      out.family = "IPv6";
    }
    out.address = text;
  } else if (family == AF_UNIX) {
    const std::size_t at = offsetof(sockaddr_un, sun_path);
    if (len > at) {
      const char* path = static_cast<const char*>(sockaddr) + at;
      out.address.assign(path, strnlen(path, len - at));
    }
  }
  return out;
}

}  // namespace netco::detail
