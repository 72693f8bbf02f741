// tests/counting_allocator.hpp: a global operator new that counts every allocation, on every
// thread. Include it in exactly one file of a test program: that program is then its own suite.
#pragma once
#include <atomic>
#include <cstdlib>
#include <new>

// NOTE: GCC flags free() in a replaced operator delete as mismatched, but the replaced operator
// new mallocs: they match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace netco_test {
inline std::atomic<long> allocations{0};
}

void* operator new(std::size_t n) {
  netco_test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
