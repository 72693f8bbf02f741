// netco/buffer.hpp: netco::buffer, a cheap shared handle to immutable bytes (Node's Buffer)
#pragma once
#include <atomic>       // atomic: a buffer may be handed to another thread (worker pool)
#include <cstddef>      // byte, size_t
#include <cstring>      // memcpy
#include <new>          // operator new, placement new
#include <ostream>      // ostream: printing a buffer prints its bytes
#include <span>         // span
#include <string>       // string
#include <string_view>  // string_view
#include <utility>      // exchange

namespace netco {

namespace detail {

/// The refcounted block behind buffers: a header followed by its bytes, one allocation.
struct buffer_block {
  std::atomic<std::size_t> refs{1};
  std::size_t capacity = 0;
  std::byte* bytes = nullptr;  // right after this header, in the same allocation

  std::byte* data() noexcept { return bytes; }

  static buffer_block* create(std::size_t capacity) {
    void* p = ::operator new(sizeof(buffer_block) + capacity);
    auto* b = ::new (p) buffer_block;
    b->capacity = capacity;
    b->bytes = static_cast<std::byte*>(p) + sizeof(buffer_block);
    return b;
  }
  static void retain(buffer_block* b) noexcept {
    if (b) b->refs.fetch_add(1, std::memory_order_relaxed);
  }
  static void release(buffer_block* b) noexcept {
    if (b && b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      b->~buffer_block();
      ::operator delete(b);
    }
  }
};

}  // namespace detail

/// Bytes shared by reference, as Node's Buffer: copying a buffer copies a pointer, never the
/// bytes, and a "data" chunk stays valid for as long as someone holds it. The bytes are
/// immutable once handed out. Text accessors treat the bytes as UTF-8 (or whatever they are).
class buffer {
 public:
  buffer() noexcept = default;
  buffer(const buffer& other) noexcept
      : block_(other.block_), offset_(other.offset_), size_(other.size_) {
    detail::buffer_block::retain(block_);
  }
  buffer(buffer&& other) noexcept
      : block_(std::exchange(other.block_, nullptr)),
        offset_(std::exchange(other.offset_, 0)),
        size_(std::exchange(other.size_, 0)) {}
  buffer& operator=(buffer other) noexcept {
    swap(other);
    return *this;
  }
  ~buffer() { detail::buffer_block::release(block_); }

  /// A copy of bytes / text in a buffer of its own. Node: Buffer.from()
  static buffer copy_of(std::span<const std::byte> bytes) {
    buffer b = uninitialized(bytes.size());
// NOTE: GCC 12 at -O2 loses track of the block's trailing bytes and warns (array-bounds), and
// on a size it cannot bound, inlined from a branch a small literal never takes (overread).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
    if (!bytes.empty()) std::memcpy(b.block_->data(), bytes.data(), bytes.size());
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    return b;
  }
  static buffer from(std::string_view text) {
    return copy_of(std::as_bytes(std::span(text.data(), text.size())));
  }
  /// A fresh buffer of n bytes to fill through mutable_bytes() before handing it out.
  /// Node: Buffer.allocUnsafe()
  static buffer uninitialized(std::size_t n) {
    buffer b;
    if (n == 0) return b;
    b.block_ = detail::buffer_block::create(n);
    b.size_ = n;
    return b;
  }
  /// Adopts a block the caller holds one reference to (used by sockets' read buffers).
  static buffer adopt(detail::buffer_block* block, std::size_t offset, std::size_t size) noexcept {
    buffer b;
    b.block_ = block;
    b.offset_ = offset;
    b.size_ = size;
    return b;
  }

  const std::byte* data() const noexcept { return block_ ? block_->data() + offset_ : nullptr; }
  std::size_t size() const noexcept { return size_; }
  /// Node: buf.length
  std::size_t length() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::byte> bytes() const noexcept { return {data(), size_}; }
  /// The bytes as characters, valid while this buffer (or a copy of it) lives.
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), size_}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: Node's implicit toString
  /// Node: buf.toString()
  std::string to_string() const { return std::string(view()); }
  /// For the creator only, before the buffer is shared.
  std::span<std::byte> mutable_bytes() noexcept {
    return {block_ ? block_->data() + offset_ : nullptr, size_};
  }

  /// A view of [start, end) sharing the same bytes. Node: buf.subarray(start, end)
  buffer slice(std::size_t start, std::size_t end = static_cast<std::size_t>(-1)) const {
    if (end > size_) end = size_;
    if (start > end) start = end;
    buffer b(*this);
    b.offset_ += start;
    b.size_ = end - start;
    return b;
  }

  /// True when nobody else holds these bytes.
  bool unique() const noexcept {
    return !block_ || block_->refs.load(std::memory_order_acquire) == 1;
  }

  void swap(buffer& other) noexcept {
    std::swap(block_, other.block_);
    std::swap(offset_, other.offset_);
    std::swap(size_, other.size_);
  }

  friend bool operator==(const buffer& a, const buffer& b) noexcept { return a.view() == b.view(); }
  friend bool operator==(const buffer& a, std::string_view b) noexcept { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& os, const buffer& b) { return os << b.view(); }

 private:
  detail::buffer_block* block_ = nullptr;
  std::size_t offset_ = 0;
  std::size_t size_ = 0;
};

}  // namespace netco
