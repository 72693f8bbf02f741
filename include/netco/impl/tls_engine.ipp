// netco/impl/tls_engine.ipp: the out-of-line parts of netco/tls/engine.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // min, max, clamp
#include <cstring>    // memcpy
#include <exception>  // rethrow_exception
#include <utility>    // exchange

#include "netco/error.hpp"
#include "netco/impl/tls_context.ipp"
#include "netco/impl/tls_detail.ipp"
#include "netco/tls/engine.hpp"

namespace netco::detail {

/// Output ciphertext: bytes [begin, end) of a block the engine holds one reference to. Only
/// the last chunk grows (end is its block's fill).
struct tls_out_chunk {
  buffer_block* block;
  std::size_t begin;
  std::size_t end;
};

// A first output block fits a few small records; a larger flush grows in bigger blocks, so a
// 1 MiB write is a few dozen iovecs, not thousands.
inline constexpr std::size_t tls_out_block_min = 4096;
inline constexpr std::size_t tls_out_block_max = 64 * 1024;

struct tls_engine_state : tls_connection_base {
  SSL* ssl = nullptr;
  bool server = false;

  // Ciphertext in: buffers from feed(), taken by the BIO's read side in order.
  std::vector<buffer> input;
  std::size_t input_head = 0;    // the first buffer not yet taken whole
  std::size_t input_offset = 0;  // bytes of input[input_head] already taken
  std::size_t input_bytes = 0;
  bool input_eof = false;

  // Ciphertext out: what the BIO's write side appended, from output_head on.
  std::vector<tls_out_chunk> output;
  std::size_t output_head = 0;
  std::size_t output_bytes = 0;
  std::vector<std::span<const std::byte>> output_spans;
  buffer_block* spare = nullptr;  // a drained block kept for reuse (release_buffers off only)

  bool done = false;        // the handshake finished
  bool sent_close = false;  // close_notify() was called
  bool received_close = false;
  bool truncated = false;
  std::error_code error;  // the connection failed: every later call reports it

  bool verify_requested = false;  // client always; server with request_cert

  tls_engine_state() = default;
  tls_engine_state(const tls_engine_state&) = delete;
  tls_engine_state& operator=(const tls_engine_state&) = delete;
  ~tls_engine_state() {
    SSL_free(ssl);  // first: it may still call back into the context (session removal)
    for (std::size_t i = output_head; i < output.size(); ++i)
      buffer_block::release(output[i].block);
    buffer_block::release(spare);
  }

  void append_output(const char* data, std::size_t n) {
    if (output_head < output.size()) {
      tls_out_chunk& tail = output.back();
      if (tail.block->capacity - tail.end >= n) {
        std::memcpy(tail.block->data() + tail.end, data, n);
        tail.end += n;
        output_bytes += n;
        return;
      }
    }
    buffer_block* block = nullptr;
    if (spare != nullptr && spare->capacity >= n) {
      block = std::exchange(spare, nullptr);
    } else {
      buffer_block::release(std::exchange(spare, nullptr));
      block = buffer_block::create(
          std::max(n, std::clamp(output_bytes, tls_out_block_min, tls_out_block_max)));
    }
    std::memcpy(block->data(), data, n);
    output.push_back({block, 0, n});
    output_bytes += n;
  }

  void consume_output(std::size_t n) noexcept {
    while (n > 0 && output_head < output.size()) {
      tls_out_chunk& chunk = output[output_head];
      std::size_t take = std::min(n, chunk.end - chunk.begin);
      chunk.begin += take;
      output_bytes -= take;
      n -= take;
      if (chunk.begin != chunk.end) break;
      if (output_head + 1 == output.size() && !context->release_buffers && spare == nullptr)
        spare = chunk.block;  // drained, and ours alone: the next flush reuses it
      else
        buffer_block::release(chunk.block);
      ++output_head;
    }
    if (output_head == output.size()) {
      output.clear();  // keeps its capacity: no allocation per flush
      output_head = 0;
    }
  }

  std::size_t read_input(char* out, std::size_t n) noexcept {
    std::size_t copied = 0;
    while (copied < n && input_head < input.size()) {
      const buffer& b = input[input_head];
      std::size_t take = std::min(n - copied, b.size() - input_offset);
      std::memcpy(out + copied, b.data() + input_offset, take);
      copied += take;
      input_offset += take;
      if (input_offset == b.size()) {
        input[input_head] = buffer();  // the transport's block goes back as soon as it can
        ++input_head;
        input_offset = 0;
      }
    }
    input_bytes -= copied;
    if (input_head == input.size()) {
      input.clear();
      input_head = 0;
    }
    return copied;
  }

  void rethrow_callback_error() {
    if (callback_error) std::rethrow_exception(std::exchange(callback_error, nullptr));
  }

  std::error_code fail(std::error_code ec) {
    ERR_clear_error();
    if (!error) error = ec;
    return error;
  }

  // Why the handshake failed: our verification's verdict when it rejected, else OpenSSL's.
  std::error_code handshake_error() {
    if (verify_error_code && reject) return fail(verify_error_code);
    return fail(tls_take_error());
  }

  // The handshake finished; an error when a resumed session's verdict rejects it.
  std::error_code handshake_finished() {
    done = true;
    // A resumed session ran no verification: it carries the first connection's verdict (as
    // Node, the identity is not checked again), and a lenient client may have made it.
    if (verify_requested && SSL_session_reused(ssl))
      verify_error_code = tls::make_verify_error(SSL_get_verify_result(ssl));
    // Node's verdict for a client that sent no certificate when asked for one.
    if (server && verify_requested && !verify_error_code &&
        SSL_get0_peer_certificate(ssl) == nullptr)
      verify_error_code = tls::errc::unable_to_get_issuer_cert;
    if (!server && verify_error_code && reject) {
      done = false;
      return fail(verify_error_code);
    }
    return {};
  }

  // Frees OpenSSL's record buffers when they hold nothing (OpenSSL refuses otherwise).
  // NOTE: with SSL_MODE_RELEASE_BUFFERS, OpenSSL 3.0 frees its read buffer after application
  // data only: a read that ends in want_read after post-handshake messages (a TLS 1.3
  // client's session tickets) keeps 16.6 KiB until the next record. Freeing here keeps the
  // mode's promise for idle connections.
  bool free_buffers() noexcept {
    bool freed = SSL_free_buffers(ssl) == 1;
    buffer_block::release(std::exchange(spare, nullptr));
    return freed;
  }

  tls::read_result read_failure(int r) {
    int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      if (context->release_buffers && input_bytes == 0) SSL_free_buffers(ssl);
      return {tls::read_status::want_read};
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      ERR_clear_error();
      received_close = true;
      return {tls::read_status::closed};
    }
    unsigned long code = ERR_peek_error();
    if (err == SSL_ERROR_SSL && ERR_GET_LIB(code) == ERR_LIB_SSL &&
        ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      truncated = true;
      return {tls::read_status::truncated, 0, fail(tls::make_openssl_error(code))};
    }
    return {tls::read_status::failed, 0, fail(tls_take_error())};
  }

  // Common checks before reading; true when r holds the answer already.
  bool read_precheck(tls::read_result& r) const {
    if (truncated) {
      r = {tls::read_status::truncated, 0, error};
    } else if (error) {
      r = {tls::read_status::failed, 0, error};
    } else if (!done) {
      r = {tls::read_status::failed, 0, tls::errc::not_connected};
    } else if (received_close) {
      r = {tls::read_status::closed};
    } else {
      return false;
    }
    return true;
  }
};

inline tls_engine_state* tls_engine_of(BIO* bio) {
  return static_cast<tls_engine_state*>(BIO_get_data(bio));
}

// ---- the BIO: OpenSSL's transport, over the engine's queues --------------------------------

NETCO_DECL int tls_bio_write(BIO* bio, const char* data, std::size_t n, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  tls_engine_of(bio)->append_output(data, n);
  *written = n;
  return 1;
}

NETCO_DECL int tls_bio_read(BIO* bio, char* out, std::size_t n, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  tls_engine_state* e = tls_engine_of(bio);
  *read = e->read_input(out, n);
  if (*read > 0) return 1;
  // Nothing queued: "try again" while the transport is open, a real EOF once it ended, so
  // OpenSSL can tell a truncation from a close_notify.
  if (!e->input_eof) BIO_set_retry_read(bio);
  return 0;
}

NETCO_DECL long tls_bio_ctrl(BIO* bio, int cmd, long, void*) {
  tls_engine_state* e = tls_engine_of(bio);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return e->input_eof && e->input_bytes == 0 ? 1 : 0;
    case BIO_CTRL_PENDING:
      return static_cast<long>(e->input_bytes);
    default:
      return 0;  // no kTLS, no push/pop, no datagrams
  }
}

NETCO_DECL int tls_bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

NETCO_DECL int tls_bio_destroy(BIO*) { return 1; }  // the engine owns what the BIO points to

/// The one BIO method, made on first use and kept until exit.
NETCO_DECL BIO_METHOD* tls_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "netco");
    if (m == nullptr) return m;
    BIO_meth_set_write_ex(m, tls_bio_write);
    BIO_meth_set_read_ex(m, tls_bio_read);
    BIO_meth_set_ctrl(m, tls_bio_ctrl);
    BIO_meth_set_create(m, tls_bio_create);
    BIO_meth_set_destroy(m, tls_bio_destroy);
    return m;
  }();
  return method;
}

/// An SSL for the engine, wired to its BIO and ex_data.
NETCO_DECL std::unique_ptr<tls_engine_state> tls_new_engine(const tls::secure_context& context,
                                                            bool server) {
  if (!context) {
    throw std::system_error(make_error_code(netco::errc::invalid_argument),
                            "tls::engine: an empty secure_context");
  }
  auto e = std::make_unique<tls_engine_state>();
  e->context = context.state();
  e->server = server;
  ERR_clear_error();
  e->ssl = SSL_new(context.state()->ctx);
  BIO* bio = e->ssl ? BIO_new(tls_bio_method()) : nullptr;
  if (bio == nullptr) tls_throw("tls::engine: SSL_new");
  BIO_set_data(bio, e.get());
  SSL_set_bio(e->ssl, bio, bio);  // one BIO both ways: the SSL owns it
  SSL_set_ex_data(e->ssl, tls_ssl_index(), static_cast<tls_connection_base*>(e.get()));
  tls_counters().engines.fetch_add(1, std::memory_order_relaxed);
  return e;
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL engine::engine(std::unique_ptr<detail::tls_engine_state> state) noexcept
    : state_(std::move(state)) {}
// NOTE: out of line, as the destructor: under NETCO_SEPARATE_COMPILATION the header never
// sees tls_engine_state complete (the implicit cleanup would need its size).
NETCO_DECL engine::engine() noexcept = default;
NETCO_DECL engine::engine(engine&& other) noexcept = default;
NETCO_DECL engine& engine::operator=(engine&& other) noexcept = default;
NETCO_DECL engine::~engine() = default;

NETCO_DECL engine engine::client(const secure_context& context, client_options options) {
  using namespace detail;
  auto e = tls_new_engine(context, false);
  SSL* ssl = e->ssl;
  const tls_context_state& ctx = *context.state();
  SSL_set_connect_state(ssl);

  e->verify_requested = true;
  e->reject = options.reject_unauthorized;
  SSL_set_verify(ssl, SSL_VERIFY_PEER, tls_verify_callback);
  if (!ctx.has_ca && SSL_set1_verify_cert_store(ssl, tls_system_roots()) != 1)
    tls_throw("tls::engine: the system trust store");

  // Node: the name checked is servername, else host; SNI is never an IP literal.
  std::string name = options.servername.empty() ? options.host : options.servername;
  bool ip = !name.empty() && tls_is_ip_literal(name);
  if (!name.empty() && !ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
    tls_throw("tls::engine: servername \"" + name + "\"");
  e->servername = ip ? std::string() : name;
  e->identity_host = name;
  if (options.check_server_identity) {
    e->check_identity = std::move(options.check_server_identity);
  } else if (ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1)
      tls_throw("tls::engine: host \"" + name + "\"");
  } else if (!name.empty()) {
    if (SSL_set1_host(ssl, name.c_str()) != 1) tls_throw("tls::engine: host \"" + name + "\"");
  }

  std::string wire;
  for (const std::string& protocol : options.alpn_protocols) {
    if (protocol.empty() || protocol.size() > 255)
      throw std::system_error(make_error_code(netco::errc::invalid_argument),
                              "tls::engine: alpn_protocols \"" + protocol + "\"");
    wire += static_cast<char>(protocol.size());
    wire += protocol;
  }
  const std::string& offer = options.alpn_protocols.empty() ? ctx.alpn_wire : wire;
  // NOTE: SSL_set_alpn_protos returns 0 on success, unlike the rest of OpenSSL.
  if (!offer.empty() &&
      SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(offer.data()),
                          static_cast<unsigned int>(offer.size())) != 0)
    tls_throw("tls::engine: alpn_protocols");

  if (!options.session.empty()) {
    const auto* p = reinterpret_cast<const unsigned char*>(options.session.data());
    SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(options.session.size()));
    if (session == nullptr) tls_throw("tls::engine: session", errc::invalid_session);
    int ok = SSL_set_session(ssl, session);
    SSL_SESSION_free(session);
    if (ok != 1) tls_throw("tls::engine: session", errc::invalid_session);
  }
  ERR_clear_error();
  return engine(std::move(e));
}

NETCO_DECL engine engine::server(const secure_context& context) {
  using namespace detail;
  auto e = tls_new_engine(context, true);
  SSL* ssl = e->ssl;
  const tls_context_state& ctx = *context.state();
  SSL_set_accept_state(ssl);
  e->reject = ctx.reject_unauthorized;
  e->verify_requested = ctx.request_cert;
  if (ctx.request_cert) {
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx.ctx), tls_verify_callback);
    if (!ctx.has_ca && SSL_set1_verify_cert_store(ssl, tls_system_roots()) != 1)
      tls_throw("tls::engine: the system trust store");
  }
  ERR_clear_error();
  return engine(std::move(e));
}

NETCO_DECL void engine::feed(buffer ciphertext) {
  if (ciphertext.empty()) return;
  state_->input_bytes += ciphertext.size();
  state_->input.push_back(std::move(ciphertext));
}

NETCO_DECL void engine::feed_eof() noexcept { state_->input_eof = true; }

NETCO_DECL std::size_t engine::pending_input() const noexcept { return state_->input_bytes; }

NETCO_DECL handshake_result engine::handshake_step() {
  detail::tls_engine_state& e = *state_;
  if (e.error) return {handshake_status::failed, e.error};
  if (e.done) return {handshake_status::done};
  ERR_clear_error();
  int r = SSL_do_handshake(e.ssl);
  e.rethrow_callback_error();
  if (r == 1) {
    ERR_clear_error();
    if (auto ec = e.handshake_finished()) return {handshake_status::failed, ec};
    if (e.context->release_buffers && e.input_bytes == 0) SSL_free_buffers(e.ssl);
    return {handshake_status::done};
  }
  int err = SSL_get_error(e.ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    ERR_clear_error();
    return {e.output_bytes > 0 ? handshake_status::want_write : handshake_status::want_read};
  }
  return {handshake_status::failed, e.handshake_error()};
}

NETCO_DECL bool engine::handshake_done() const noexcept { return state_->done; }

NETCO_DECL read_result engine::read(std::span<std::byte> out) {
  detail::tls_engine_state& e = *state_;
  read_result r;
  if (e.read_precheck(r)) return r;
  if (out.empty()) return {read_status::data, 0};
  ERR_clear_error();
  std::size_t n = 0;
  int ok = SSL_read_ex(e.ssl, out.data(), out.size(), &n);
  e.rethrow_callback_error();
  if (ok == 1) return {read_status::data, n};
  return e.read_failure(ok);
}

NETCO_DECL read_result engine::read_chunk(buffer& chunk, std::size_t max_size) {
  detail::tls_engine_state& e = *state_;
  read_result r;
  if (e.read_precheck(r)) return r;
  ERR_clear_error();
  // Peek one byte: OpenSSL decrypts the whole record (once) and then tells its size, so the
  // chunk is allocated only for a record that is there, and at the size it needs.
  unsigned char probe;
  std::size_t n = 0;
  int ok = SSL_peek_ex(e.ssl, &probe, 1, &n);
  e.rethrow_callback_error();
  if (ok != 1) return e.read_failure(ok);
  std::size_t size = std::clamp<std::size_t>(static_cast<std::size_t>(SSL_pending(e.ssl)), 1,
                                             std::max<std::size_t>(max_size, 1));
  buffer b = buffer::uninitialized(size);
  ok = SSL_read_ex(e.ssl, b.mutable_bytes().data(), size, &n);
  if (ok != 1) return e.read_failure(ok);
  chunk = n == size ? std::move(b) : b.slice(0, n);
  return {read_status::data, n};
}

NETCO_DECL write_result engine::write(std::span<const std::byte> plaintext) {
  detail::tls_engine_state& e = *state_;
  if (e.error) return {0, e.error};
  if (!e.done) return {0, errc::not_connected};
  if (e.sent_close) return {0, netco::errc::write_after_end};
  if (plaintext.empty()) return {};
  ERR_clear_error();
  std::size_t n = 0;
  int ok = SSL_write_ex(e.ssl, plaintext.data(), plaintext.size(), &n);
  e.rethrow_callback_error();
  if (ok == 1) return {n};
  return {0, e.fail(detail::tls_take_error())};
}

NETCO_DECL bool engine::has_output() const noexcept { return state_->output_bytes > 0; }

NETCO_DECL std::size_t engine::output_size() const noexcept { return state_->output_bytes; }

NETCO_DECL std::span<const std::span<const std::byte>> engine::pending_output() {
  detail::tls_engine_state& e = *state_;
  e.output_spans.clear();
  for (std::size_t i = e.output_head; i < e.output.size(); ++i) {
    const detail::tls_out_chunk& c = e.output[i];
    if (c.end > c.begin) e.output_spans.emplace_back(c.block->data() + c.begin, c.end - c.begin);
  }
  return e.output_spans;
}

NETCO_DECL void engine::consume_output(std::size_t n) noexcept { state_->consume_output(n); }

NETCO_DECL void engine::take_output(std::vector<buffer>& out) {
  detail::tls_engine_state& e = *state_;
  for (std::size_t i = e.output_head; i < e.output.size(); ++i) {
    detail::tls_out_chunk& c = e.output[i];
    if (c.end > c.begin)
      out.push_back(buffer::adopt(c.block, c.begin, c.end - c.begin));  // our reference moves
    else
      detail::buffer_block::release(c.block);
  }
  e.output.clear();
  e.output_head = 0;
  e.output_bytes = 0;
}

NETCO_DECL void engine::close_notify() {
  detail::tls_engine_state& e = *state_;
  if (e.sent_close) return;
  e.sent_close = true;
  if (!e.done || e.error) return;  // nothing to close cleanly: the transport just closes
  ERR_clear_error();
  SSL_shutdown(e.ssl);  // sends close_notify; never waits for the peer's
  ERR_clear_error();
}

NETCO_DECL bool engine::free_buffers() noexcept { return state_->free_buffers(); }

NETCO_DECL bool engine::close_notify_sent() const noexcept { return state_->sent_close; }

NETCO_DECL bool engine::close_notify_received() const noexcept { return state_->received_close; }

NETCO_DECL bool engine::is_server() const noexcept { return state_->server; }

NETCO_DECL bool engine::authorized() const noexcept {
  const detail::tls_engine_state& e = *state_;
  return e.done && e.verify_requested && !e.verify_error_code &&
         SSL_get0_peer_certificate(e.ssl) != nullptr;
}

NETCO_DECL std::string engine::authorization_error() const {
  const std::error_code& ec = state_->verify_error_code;
  if (!ec) return {};
  std::string code = node_code(ec);
  return code.empty() ? ec.message() : code;
}

NETCO_DECL std::error_code engine::verify_error() const noexcept {
  return state_->verify_error_code;
}

NETCO_DECL certificate engine::get_peer_certificate() const {
  return detail::tls_certificate_of(SSL_get0_peer_certificate(state_->ssl));
}

NETCO_DECL certificate engine::get_certificate() const {
  return detail::tls_certificate_of(SSL_get_certificate(state_->ssl));
}

NETCO_DECL std::string_view engine::get_protocol() const noexcept {
  if (!state_->done) return {};
  return SSL_get_version(state_->ssl);
}

NETCO_DECL cipher_info engine::get_cipher() const noexcept {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(state_->ssl);
  if (cipher == nullptr) return {};
  const char* standard = SSL_CIPHER_standard_name(cipher);
  return {SSL_CIPHER_get_name(cipher), standard ? standard : "", SSL_CIPHER_get_version(cipher)};
}

NETCO_DECL std::string_view engine::alpn_protocol() const noexcept {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(state_->ssl, &data, &len);
  return {reinterpret_cast<const char*>(data), len};
}

NETCO_DECL std::string_view engine::servername() const noexcept { return state_->servername; }

NETCO_DECL buffer engine::get_session() const {
  return detail::tls_session_der(SSL_get_session(state_->ssl));
}

NETCO_DECL bool engine::is_session_reused() const noexcept {
  return SSL_session_reused(state_->ssl) == 1;
}

NETCO_DECL void engine::on_keylog(std::function<void(std::string_view)> listener) {
  state_->on_keylog = std::move(listener);
}

NETCO_DECL void engine::on_session(std::function<void(buffer)> listener) {
  state_->on_session = std::move(listener);
}

NETCO_DECL ssl_st* engine::native_handle() const noexcept { return state_->ssl; }

}  // namespace netco::tls
