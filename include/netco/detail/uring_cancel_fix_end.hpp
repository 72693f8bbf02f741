// netco/detail/uring_cancel_fix_end.hpp: undoes uring_cancel_fix.hpp's macros once Asio's
// io_uring code has been seen (no include guard: it pairs with each inclusion of the fix)
#undef io_uring_prep_cancel
#undef io_uring_prep_timeout_remove
