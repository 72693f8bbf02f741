// netco/detail/spare_blocks.hpp: the per-thread pool of read blocks that socket reads take
// from once data is there (so a waiting connection holds no read buffer)
#pragma once
#include <cstddef>  // size_t, ptrdiff_t
#include <cstring>  // memcpy: a short read moves to a small block
#include <vector>   // vector: the spare blocks

#include "netco/buffer.hpp"

namespace netco::detail {

/// Read blocks that nobody kept, for the next read on this thread: full-size ones to read
/// into, and small ones that short reads move to, so that a chunk kept by a listener, or
/// waiting for its completion to run, holds 512 bytes, not a full-size block. Loop thread only.
class spare_blocks {
 public:
  static constexpr std::size_t small_size = 512;

  /// A spare block of exactly this capacity, or a new one; the caller holds its reference.
  static buffer_block* take(std::size_t capacity) {
    if (gone()) return buffer_block::create(capacity);
    auto& spare = capacity == small_size ? local().small : local().large;
    for (std::size_t i = spare.size(); i-- > 0;) {
      if (spare[i]->capacity != capacity) continue;
      buffer_block* b = spare[i];
      spare.erase(spare.begin() + static_cast<std::ptrdiff_t>(i));
      return b;
    }
    return buffer_block::create(capacity);
  }
  /// Gives the caller's reference back: the block becomes a spare unless someone else holds
  /// it (a listener kept its chunk) or there are spares enough.
  static void put_back(buffer_block* b) noexcept {
    if (!b) return;
    if (gone()) return buffer_block::release(b);
    const bool small = b->capacity == small_size;
    auto& spare = small ? local().small : local().large;
    if (b->refs.load(std::memory_order_acquire) == 1 &&
        spare.size() < (small ? most_small : most_large)) {
      spare.push_back(b);  // never allocates: reserved
    } else {
      buffer_block::release(b);
    }
  }
  /// Moves a short read (n bytes of b) to a small block, giving b back; else returns b.
  static buffer_block* shrink(buffer_block* b, std::size_t n) {
    if (n > small_size || b->capacity <= small_size) return b;
    buffer_block* s = take(small_size);
    std::memcpy(s->data(), b->data(), n);
    put_back(b);
    return s;
  }

 private:
  // Reads whose completions wait their turn hold a block each (a speculative read that found
  // data completes on a later turn): enough small ones for a busy turn of many connections.
  static constexpr std::size_t most_small = 256;
  static constexpr std::size_t most_large = 8;
  struct lists {
    std::vector<buffer_block*> small, large;
    lists() {
      small.reserve(most_small);
      large.reserve(most_large);
    }
    ~lists() {
      gone() = true;
      for (buffer_block* b : small) buffer_block::release(b);
      for (buffer_block* b : large) buffer_block::release(b);
    }
  };
  static lists& local() {
    thread_local lists spares;
    return spares;
  }
  // NOTE: thread-locals die in reverse order of construction; a loop destroyed after these
  // lists (a thread's default loop made first) still gives blocks back: they are then freed.
  static bool& gone() noexcept {
    thread_local bool is_gone = false;
    return is_gone;
  }
};

}  // namespace netco::detail
