// src/netco_separate.cpp: the one translation unit of netco_separate_dep (meson), compiled with
// NETCO_SEPARATE_COMPILATION. See include/netco/impl/src.hpp.
#include "netco/impl/src.hpp"
