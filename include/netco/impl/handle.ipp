// netco/impl/handle.ipp: the out-of-line part of netco/detail/handle.hpp
#pragma once
#include <stdexcept>  // logic_error
#include <string>     // string

#include "netco/detail/handle.hpp"

namespace netco::detail {

NETCO_DECL void throw_empty_handle(const char* kind) {
  throw std::logic_error(std::string("netco: use of an empty ") + kind + " handle");
}

}  // namespace netco::detail
