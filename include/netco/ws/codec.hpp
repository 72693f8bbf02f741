// netco/ws/codec.hpp: the WebSocket protocol without I/O: a receiver that turns read chunks into
// messages, pings, pongs and closes, and a sender that frames outgoing data
#pragma once
#include <array>         // array (gathered write buffers, a control payload)
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint8_t, uint16_t, uint64_t
#include <memory>        // unique_ptr (zlib streams, made on the first compressed message)
#include <span>          // span
#include <string_view>   // string_view (close reasons)
#include <system_error>  // error_code

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/ws_growable_buffer.hpp"
#include "netco/ws/deflate.hpp"
#include "netco/ws/error.hpp"
#include "netco/ws/frame.hpp"
#include "netco/ws/utf8.hpp"

// The receiver is strict (RFC 6455 §5, §7, §8; RFC 7692 §6): every rule below fails the
// connection with errc and its close code, and the receiver then ignores all further input.
//  - a server requires masked frames, a client refuses them;
//  - RSV2/RSV3 never; RSV1 only with permessage-deflate, on the first frame of a data message;
//  - reserved opcodes; a continuation with no message started, a text/binary frame inside one;
//  - control frames: at most 125 bytes, never fragmented (they may come between fragments);
//  - close: 0 bytes (code 1005) or a valid code (is_valid_close_code) and a UTF-8 reason;
//  - text: UTF-8 checked as bytes arrive (inflated bytes when compressed), so the frame or read
//    that breaks it fails at once; the end of the message must end a code point;
//  - sizes: max_payload on every header (the sum of the message's frames) before anything is
//    allocated for it, and on the inflated size; max_fragments frames per message.
// After a close frame the receiver stops: later bytes are not the peer's to send (§5.5.1).

namespace netco::ws {

/// Which end of the connection this is: a server receives masked frames and sends unmasked
/// ones, a client the other way round.
enum class role : std::uint8_t { server, client };

/// The receiver's limits (ws's option names and defaults).
struct receiver_options {
  ws::role role = ws::role::server;
  std::size_t max_payload = 100 * 1024 * 1024;  ///< a message's size; 0: no limit. Node: maxPayload
  std::size_t max_fragments = 16 * 1024;  ///< frames per message; 0: no limit. Node: maxFragments
  bool skip_utf8_validation = false;      ///< trusted peers only. Node: skipUTF8Validation
  /// A message buffer up to this size is kept for the next message (when the application has
  /// let go of it); larger ones are freed.
  std::size_t retain_buffer = 64 * 1024;
};

/// What a receiver reports, in the order of the frames. The handler must not destroy the
/// receiver, nor feed it, from inside these calls.
class receiver_handler {
 public:
  /// A whole message: text (valid UTF-8) or binary.
  virtual void on_message(buffer data, bool binary) = 0;
  virtual void on_ping(buffer payload) = 0;
  virtual void on_pong(buffer payload) = 0;
  /// The peer's close frame: code 1005 when it carried none. The receiver stops here.
  virtual void on_close(std::uint16_t code, buffer reason) = 0;
  /// A protocol failure: the connection must be failed with close_code (RFC 6455 §7.1.7).
  virtual void on_error(std::error_code ec, std::uint16_t close_code) = 0;

 protected:
  ~receiver_handler() = default;
};

/// Parses what a peer sends, chunk by chunk, into handler calls. Zero-copy where it can be: a
/// message of one uncompressed frame wholly inside a chunk is a slice of that chunk (unmasked
/// in place when the chunk's block is the receiver's alone); other messages are assembled in
/// one buffer, reused for the next message once the application lets go of it.
class receiver {
 public:
  // NOTE: out of line, like the destructor: an inline constructor would instantiate
  // unique_ptr<inflate_state>'s deleter where the type is incomplete (separate compilation).
  NETCO_DECL explicit receiver(receiver_handler& handler, receiver_options options = {}) noexcept;
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  NETCO_DECL ~receiver();

  /// Inflates messages whose first frame has RSV1, as params agreed (no effect without zlib).
  NETCO_DECL void enable_deflate(const deflate_params& params);

  /// Parses every complete frame in chunk and keeps what is left of a partial one. Pass the
  /// chunk by move: a block nobody else holds can be unmasked in place.
  NETCO_DECL void feed(buffer chunk);

  /// The peer's close frame has arrived.
  bool closed() const noexcept { return state_ == state::closed; }
  /// A protocol failure was reported.
  bool failed() const noexcept { return state_ == state::failed; }
  /// Bytes this receiver holds: its message buffer and zlib state.
  NETCO_DECL std::size_t memory() const noexcept;
  /// Frees what is not needed between messages (the kept message buffer).
  NETCO_DECL void trim() noexcept;

 private:
  enum class state : std::uint8_t { open, closed, failed };
  struct inflate_state;

  NETCO_DECL bool begin_frame(const frame_header& h);
  NETCO_DECL std::size_t fast_frame(buffer& chunk, std::size_t pos, bool writable);
  NETCO_DECL std::size_t frame_piece(buffer& chunk, std::size_t pos, bool writable);
  NETCO_DECL void end_frame();
  NETCO_DECL void control(buffer payload);
  NETCO_DECL bool check_text();
  NETCO_DECL void deliver_message();
  NETCO_DECL void fail(errc e);
  std::size_t limit() const noexcept {
    return options_.max_payload ? options_.max_payload : static_cast<std::size_t>(-1) - 1;
  }

  receiver_handler& handler_;
  receiver_options options_;
  state state_ = state::open;
  header_decoder header_;
  bool in_frame_ = false;
  // The frame being read.
  std::uint8_t opcode_ = 0;
  bool fin_ = false;
  bool masked_ = false;
  std::uint32_t key_ = 0;
  std::uint64_t remaining_ = 0;  // payload bytes still to come
  std::uint64_t offset_ = 0;     // payload bytes seen (the mask's phase)
  // The message being assembled.
  bool in_message_ = false;
  bool binary_ = false;
  bool compressed_ = false;
  std::uint64_t wire_size_ = 0;  // the sum of its frames' lengths
  std::size_t fragments_ = 0;
  std::size_t checked_ = 0;  // bytes of message_ already UTF-8 checked
  utf8_validator utf8_;
  detail::ws_growable_buffer message_;
  // A control frame split across chunks (a block only while one is: idle costs 16 bytes).
  detail::ws_growable_buffer control_;
  // permessage-deflate: agreed parameters, and the zlib stream made on first use.
  bool deflate_ = false;
  std::uint8_t inflate_window_ = 15;
  bool inflate_reset_ = false;
  std::unique_ptr<inflate_state> inflate_;
};

/// One frame ready for a gathered write: its header, then its payload (the caller's bytes
/// unchanged, or a masked or compressed copy).
struct outgoing_frame {
  frame_header_buffer header;
  buffer payload;
  std::array<std::span<const std::byte>, 2> buffers() const noexcept {
    return {header.bytes(), payload.bytes()};
  }
  std::size_t size() const noexcept { return header.size() + payload.size(); }
};

/// Frames what this end sends. A client masks each frame with a fresh key (into a buffer of the
/// sender's, reused once a previous frame's write has let go of it); a server sends payloads
/// as they are, so a message is never copied. With permessage-deflate, messages of at least
/// options.threshold bytes are compressed.
class sender {
 public:
  NETCO_DECL explicit sender(ws::role role) noexcept;  // out of line: see receiver's
  sender(const sender&) = delete;
  sender& operator=(const sender&) = delete;
  NETCO_DECL ~sender();

  /// Compresses messages as params and opts agreed (no effect without zlib).
  NETCO_DECL void enable_deflate(const deflate_params& params, const deflate_options& opts);

  /// One frame of a message: the first carries text or binary, the frames after a fin=false
  /// one are continuations (binary is then ignored). compress=false sends this message plain.
  /// Node: websocket.send(data, {binary, fin, compress})
  NETCO_DECL void message(buffer payload, bool binary, bool fin, outgoing_frame& out,
                          bool compress = true);
  /// A ping; errc invalid_control_payload_length over 125 bytes. Node: websocket.ping()
  NETCO_DECL std::error_code ping(buffer payload, outgoing_frame& out);
  /// A pong; errc invalid_control_payload_length over 125 bytes. Node: websocket.pong()
  NETCO_DECL std::error_code pong(buffer payload, outgoing_frame& out);
  /// A close frame without a status code (the peer sees 1005).
  NETCO_DECL void close(outgoing_frame& out);
  /// A close frame; errc invalid_close_code unless is_valid_close_code(code),
  /// close_reason_too_long past 123 bytes, invalid_utf8. Node: websocket.close(code, reason)
  NETCO_DECL std::error_code close(std::uint16_t code, std::string_view reason,
                                   outgoing_frame& out);

  /// A message was begun with fin=false and not finished.
  bool in_message() const noexcept { return in_message_; }
  /// Bytes this sender holds: its frame buffer and zlib state.
  NETCO_DECL std::size_t memory() const noexcept;

 private:
  struct deflate_state;
  NETCO_DECL void frame(std::uint8_t op, bool fin, bool rsv1, buffer payload, bool owned,
                        outgoing_frame& out);

  ws::role role_;
  bool in_message_ = false;
  [[maybe_unused]] bool compressing_ = false;  // the message is compressed (zlib builds only)
  detail::ws_growable_buffer scratch_;
  std::unique_ptr<deflate_state> deflate_;
};

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_codec.ipp"
#endif
