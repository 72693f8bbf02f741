// netco/detail/buffers.hpp: byte spans as Asio buffer sequences, with a consumed prefix
#pragma once
#include <cstddef>   // byte, size_t, ptrdiff_t
#include <iterator>  // forward_iterator_tag
#include <span>      // span

#include "netco/detail/asio.hpp"

namespace netco::detail {

/// One contiguous buffer; consume() drops what a partial write already sent.
class single_buffer {
 public:
  explicit single_buffer(std::span<const std::byte> bytes) noexcept
      : buffer_(bytes.data(), bytes.size()) {}
  const asio::const_buffer* begin() const noexcept { return &buffer_; }
  const asio::const_buffer* end() const noexcept { return &buffer_ + 1; }
  std::size_t size() const noexcept { return buffer_.size(); }
  void consume(std::size_t n) noexcept { buffer_ += n; }
  /// As Asio's own single-buffer type, for which it calls send() rather than sendmsg().
  const asio::const_buffer& asio_buffers() const noexcept { return buffer_; }

 private:
  asio::const_buffer buffer_;
};

/// Several buffers sent with one writev (Asio passes up to 64 at a time).
class gather_buffers {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = asio::const_buffer;
    using difference_type = std::ptrdiff_t;
    using pointer = const asio::const_buffer*;
    using reference = asio::const_buffer;

    iterator() = default;
    iterator(const std::span<const std::byte>* at, std::size_t offset) noexcept
        : at_(at), offset_(offset) {}
    asio::const_buffer operator*() const noexcept {
      return {at_->data() + offset_, at_->size() - offset_};
    }
    iterator& operator++() noexcept {
      ++at_;
      offset_ = 0;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& other) const noexcept { return at_ == other.at_; }

   private:
    const std::span<const std::byte>* at_ = nullptr;
    std::size_t offset_ = 0;
  };

  explicit gather_buffers(std::span<const std::span<const std::byte>> buffers) noexcept
      : first_(buffers.data()), last_(buffers.data() + buffers.size()) {
    for (auto b : buffers) size_ += b.size();
  }
  iterator begin() const noexcept { return {first_, offset_}; }
  iterator end() const noexcept { return {last_, 0}; }
  std::size_t size() const noexcept { return size_; }
  const gather_buffers& asio_buffers() const noexcept { return *this; }
  void consume(std::size_t n) noexcept {
    size_ -= n;
    while (first_ != last_ && n >= first_->size() - offset_) {
      n -= first_->size() - offset_;
      ++first_;
      offset_ = 0;
    }
    offset_ += n;
  }

 private:
  const std::span<const std::byte>* first_;
  const std::span<const std::byte>* last_;
  std::size_t offset_ = 0;
  std::size_t size_ = 0;
};

}  // namespace netco::detail
