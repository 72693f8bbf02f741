// netco/detail/frame_allocator.hpp: per-thread recycling allocator for coroutine frames
#pragma once
#include <cstddef>  // size_t
#include <new>      // operator new / delete

namespace netco::detail {

// Frames are rounded up to 64-byte classes up to 2 KiB and cached per thread, so a steady
// stream of short-lived tasks never reaches malloc. Larger frames go straight to operator new.
// Under AddressSanitizer the cache is off so that use-after-free in frames stays visible.
#if defined(__SANITIZE_ADDRESS__)
#define NETCO_DETAIL_NO_FRAME_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETCO_DETAIL_NO_FRAME_CACHE 1
#endif
#endif

inline constexpr std::size_t frame_granule = 64;
inline constexpr std::size_t frame_classes = 32;
inline constexpr std::size_t frame_cache_bytes_per_class = 256 * 1024;

inline void free_frame_memory(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, size);
#else
  ::operator delete(p);  // clang enables sized deallocation only with -fsized-deallocation
#endif
}

class frame_cache {
 public:
  frame_cache() = default;
  frame_cache(const frame_cache&) = delete;
  frame_cache& operator=(const frame_cache&) = delete;
  ~frame_cache() {
    gone() = true;
    for (std::size_t c = 0; c < frame_classes; ++c) {
      while (node* n = heads_[c]) {
        heads_[c] = n->next;
        free_frame_memory(n, block_size(c));
      }
    }
  }

  void* allocate(std::size_t size) {
    const std::size_t c = class_of(size);
    if (c >= frame_classes) return ::operator new(size);
    if (node* n = heads_[c]) {
      heads_[c] = n->next;
      --counts_[c];
      return n;
    }
    return ::operator new(block_size(c));
  }

  void deallocate(void* p, std::size_t size) noexcept {
    const std::size_t c = class_of(size);
    if (c >= frame_classes) return free_frame_memory(p, size);
    if (counts_[c] * block_size(c) >= frame_cache_bytes_per_class) {
      return free_frame_memory(p, block_size(c));
    }
    heads_[c] = ::new (p) node{heads_[c]};
    ++counts_[c];
  }

  static frame_cache& local() noexcept {
    thread_local frame_cache cache;
    return cache;
  }
  /// True once this thread's cache was destroyed: a frame freed later (by a thread-local
  /// destroyed after it) goes straight back to the heap. Trivially destructible on purpose.
  static bool& gone() noexcept {
    thread_local bool is_gone = false;
    return is_gone;
  }

  /// What allocate(size) takes from the heap (a whole class for cached sizes), so a frame can
  /// be freed with the size it was made with whether or not the cache is still there.
  static constexpr std::size_t allocated_size(std::size_t size) noexcept {
    const std::size_t c = class_of(size);
    return c >= frame_classes ? size : block_size(c);
  }

 private:
  struct node {
    node* next;
  };
  static constexpr std::size_t class_of(std::size_t size) noexcept {
    return (size + frame_granule - 1) / frame_granule - 1;
  }
  static constexpr std::size_t block_size(std::size_t c) noexcept {
    return (c + 1) * frame_granule;
  }

  node* heads_[frame_classes] = {};
  std::size_t counts_[frame_classes] = {};
};

inline void* frame_allocate(std::size_t size) {
#ifdef NETCO_DETAIL_NO_FRAME_CACHE
  return ::operator new(size);
#else
  if (frame_cache::gone()) return ::operator new(frame_cache::allocated_size(size));
  return frame_cache::local().allocate(size);
#endif
}

inline void frame_deallocate(void* p, std::size_t size) noexcept {
#ifdef NETCO_DETAIL_NO_FRAME_CACHE
  free_frame_memory(p, size);
#else
  if (frame_cache::gone()) return free_frame_memory(p, frame_cache::allocated_size(size));
  frame_cache::local().deallocate(p, size);
#endif
}

}  // namespace netco::detail
