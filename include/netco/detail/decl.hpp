// netco/detail/decl.hpp: NETCO_DECL, the mark of netco's out-of-line functions (Asio's ASIO_DECL)
#pragma once

// Header-only (the default), their definitions are inline in every translation unit that
// includes them. Under NETCO_SEPARATE_COMPILATION they are only declared, and compiled once, in
// the translation unit that includes <netco/impl/src.hpp>.
#if defined(NETCO_SEPARATE_COMPILATION)
#define NETCO_DECL
#else
#define NETCO_DECL inline
#endif
