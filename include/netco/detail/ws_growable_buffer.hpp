// netco/detail/ws_growable_buffer.hpp: bytes appended into one refcounted block and handed
// out as a netco::buffer without a copy; the block is reused once its buffer is gone
#pragma once
#include <algorithm>  // max, min
#include <cstddef>    // byte, size_t
#include <cstring>    // memcpy
#include <span>       // span
#include <utility>    // exchange

#include "netco/buffer.hpp"

namespace netco::detail {

/// A WebSocket message (or an outgoing frame) under construction. take() shares the block with
/// the buffer it returns; the next write reuses the block only if that buffer has let go of
/// it, so bytes handed out never change.
class ws_growable_buffer {
 public:
  ws_growable_buffer() noexcept = default;
  ws_growable_buffer(const ws_growable_buffer&) = delete;
  ws_growable_buffer& operator=(const ws_growable_buffer&) = delete;
  ws_growable_buffer(ws_growable_buffer&& o) noexcept
      : block_(std::exchange(o.block_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  ws_growable_buffer& operator=(ws_growable_buffer&& o) noexcept {
    if (this != &o) {
      buffer_block::release(block_);
      block_ = std::exchange(o.block_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~ws_growable_buffer() { buffer_block::release(block_); }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return block_ ? block_->capacity : 0; }
  std::byte* data() noexcept { return block_ ? block_->data() : nullptr; }

  /// Writable room for at least n more bytes after size(). Growth doubles the capacity but
  /// stays within limit when limit leaves room for n, so an announced length is never
  /// allocated ahead of the bytes that fill it.
  std::span<std::byte> prepare(std::size_t n, std::size_t limit = static_cast<std::size_t>(-1)) {
    const std::size_t need = size_ + n;
    const bool shared = block_ && block_->refs.load(std::memory_order_acquire) != 1;
    if (!block_ || shared || block_->capacity < need) {
      std::size_t cap = std::max({need, 2 * capacity(), std::size_t{256}});
      cap = std::max(need, std::min(cap, limit));
      if (shared && block_->capacity >= need) cap = block_->capacity;
      buffer_block* b = buffer_block::create(cap);
      if (size_ != 0) std::memcpy(b->data(), block_->data(), size_);
      buffer_block::release(std::exchange(block_, b));
    }
    return {block_->data() + size_, block_->capacity - size_};
  }
  /// Makes n bytes written into prepare()'s room part of the contents.
  void commit(std::size_t n) noexcept { size_ += n; }
  void append(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    std::memcpy(prepare(bytes.size()).data(), bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  /// Drops the last n bytes.
  void shrink_by(std::size_t n) noexcept { size_ -= std::min(n, size_); }

  /// The contents as a buffer that shares the block; this one is then empty.
  buffer take() {
    if (size_ == 0) return {};
    buffer_block::retain(block_);
    return buffer::adopt(block_, 0, std::exchange(size_, 0));
  }
  /// Empties it, keeping the block for reuse unless it is larger than keep.
  void clear(std::size_t keep = static_cast<std::size_t>(-1)) noexcept {
    size_ = 0;
    if (block_ && block_->capacity > keep) buffer_block::release(std::exchange(block_, nullptr));
  }

 private:
  buffer_block* block_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace netco::detail
