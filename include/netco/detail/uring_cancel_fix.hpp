// netco/detail/uring_cancel_fix.hpp: replacements for two liburing calls that Asio 1.22's
// io_uring backend misuses; included right before Asio's io_uring code is compiled, and undone
// by uring_cancel_fix_end.hpp right after, so the macros never reach user code. No include
// guard on purpose: the macros are defined again wherever Asio's code is compiled.
//
// NOTE: Asio 1.22's io_uring backend prepares its cancellation and timeout-removal requests
// without setting their user_data, and liburing 2.3 neither clears a reused submission slot,
// so such a request completes carrying whatever operation last used the slot: Asio then ends
// that unrelated operation with the request's result (ENOENT, or 0 bytes). The replacements
// below clear it (Asio ignores completions whose user_data is null). They must be seen before
// Asio's io_uring code is, hence here, the one place netco includes Asio.
#if defined(ASIO_HAS_IO_URING) && !defined(NETCO_NO_URING_CANCEL_FIX)
#include <liburing.h>

#if !defined(NETCO_DETAIL_URING_CANCEL_FIX_FUNCTIONS)
#define NETCO_DETAIL_URING_CANCEL_FIX_FUNCTIONS
inline void netco_io_uring_prep_cancel(::io_uring_sqe* sqe, void* user_data, int flags) {
  ::io_uring_prep_cancel(sqe, user_data, flags);
  ::io_uring_sqe_set_data(sqe, nullptr);
}
inline void netco_io_uring_prep_timeout_remove(::io_uring_sqe* sqe, __u64 user_data,
                                               unsigned flags) {
  ::io_uring_prep_timeout_remove(sqe, user_data, flags);
  ::io_uring_sqe_set_data(sqe, nullptr);
}
#endif
#define io_uring_prep_cancel(sqe, user_data, flags) \
  netco_io_uring_prep_cancel(sqe, user_data, flags)
#define io_uring_prep_timeout_remove(sqe, user_data, flags) \
  netco_io_uring_prep_timeout_remove(sqe, user_data, flags)
#endif
