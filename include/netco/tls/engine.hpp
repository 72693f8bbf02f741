// netco/tls/engine.hpp: tls::engine, one TLS connection driven over memory (sans-I/O):
// ciphertext in as netco buffers, ciphertext out as blocks for one gathered write
#pragma once
#include <cstddef>       // byte, size_t
#include <functional>    // function
#include <memory>        // unique_ptr
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <vector>        // vector

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/tls/certificate.hpp"
#include "netco/tls/context.hpp"
#include "netco/tls/error.hpp"

struct ssl_st;  // OpenSSL's SSL: only the .ipp files include OpenSSL's headers

namespace netco::detail {
struct tls_engine_state;
}

namespace netco::tls {

/// A replacement host check: the error that fails the handshake, or none.
using server_identity_check =
    std::function<std::error_code(std::string_view host, const certificate& cert)>;

/// What one client connection adds to its context. Node: the options of tls.connect()
struct client_options {
  /// The host connected to: the certificate must name it (an IP literal: an IP SAN), and it
  /// is sent as SNI unless it is an IP literal (RFC 6066).
  std::string host = "localhost";
  /// SNI and the name checked, instead of host. Node: servername
  std::string servername = {};
  /// A get_session() of an earlier connection to the same server, to resume.
  buffer session = {};
  /// ALPN offer, in preference order; empty: the context's. Node: ALPNProtocols
  std::vector<std::string> alpn_protocols = {};
  /// Fail the handshake when the certificate does not verify or name the host; false keeps
  /// going, with authorized() false and authorization_error() saying why.
  bool reject_unauthorized = true;
  /// Replaces the host check (called for the leaf, after its chain verified; the default is
  /// tls::check_server_identity). An error fails it. Node: checkServerIdentity(host, cert)
  server_identity_check check_server_identity = {};
};

enum class handshake_status {
  done,        ///< finished: peer information is available
  want_read,   ///< nothing to send: feed() more ciphertext, then step again
  want_write,  ///< send pending_output(), then feed the answer and step again
  failed,      ///< see error; pending_output() may hold an alert worth sending
};
struct handshake_result {
  handshake_status status;
  std::error_code error = {};
};

enum class read_status {
  data,       ///< size bytes of plaintext
  want_read,  ///< no whole record yet: feed() more ciphertext
  closed,     ///< the peer's close_notify: its side ended cleanly (ours may go on)
  truncated,  ///< the transport ended without close_notify (error says so): maybe an attack
  failed,     ///< see error (a bad record, an alert from the peer)
};
struct read_result {
  read_status status;
  std::size_t size = 0;
  std::error_code error = {};
};

struct write_result {
  std::size_t size = 0;  ///< all of it, unless error
  std::error_code error = {};
};

/// Node: tlsSocket.getCipher()
struct cipher_info {
  std::string_view name;           ///< OpenSSL's name, "ECDHE-ECDSA-AES128-GCM-SHA256"
  std::string_view standard_name;  ///< the IANA name  Node: standardName
  std::string_view version;        ///< the oldest protocol version it belongs to
};

/// One TLS connection over memory, no I/O: feed() it what the transport read, send what
/// pending_output() holds (one gathered write), step the handshake, then read() and write()
/// plaintext. After every call, pending_output() may have grown (handshake flights, alerts,
/// session tickets, key updates): send it. One thread at a time; an exception thrown by a
/// callback (keylog, session, SNI, identity check) propagates from the call that ran it.
/// Node: the TLSWrap under a tls.TLSSocket
class engine {
 public:
  NETCO_DECL engine() noexcept;  ///< an empty engine: make one with client() or server()
  NETCO_DECL engine(engine&& other) noexcept;
  NETCO_DECL engine& operator=(engine&& other) noexcept;
  NETCO_DECL ~engine();

  /// A client connection; throws std::system_error for an empty context or a session that
  /// does not parse. Node: tls.connect(options)
  NETCO_DECL static engine client(const secure_context& context, client_options options = {});
  /// A server connection; the context's sni_callback may switch it to another context.
  /// Node: new tls.TLSSocket(socket, {isServer: true, ...})
  NETCO_DECL static engine server(const secure_context& context);

  explicit operator bool() const noexcept { return state_ != nullptr; }

  // ---- ciphertext in ----
  /// Queues ciphertext the transport read; the engine keeps a reference, never a copy, and
  /// drops it once OpenSSL has taken the bytes (into its record buffer).
  NETCO_DECL void feed(buffer ciphertext);
  /// The transport ended: a read past the queued bytes is then `truncated` unless the peer's
  /// close_notify came first.
  NETCO_DECL void feed_eof() noexcept;
  /// Queued ciphertext OpenSSL has not taken yet.
  NETCO_DECL std::size_t pending_input() const noexcept;

  // ---- the handshake ----
  /// Advances the handshake as far as the queued ciphertext allows.
  NETCO_DECL handshake_result handshake_step();
  NETCO_DECL bool handshake_done() const noexcept;

  // ---- plaintext ----
  /// Decrypts into out (at most one record). Before the handshake: failed, not_connected.
  NETCO_DECL read_result read(std::span<std::byte> out);
  /// Decrypts one record (up to max_size bytes of it) into a fresh buffer of exactly its size,
  /// allocated only once a whole record is there: for a "data" event without another copy.
  NETCO_DECL read_result read_chunk(buffer& chunk, std::size_t max_size = 16 * 1024);
  /// Encrypts all of plaintext into pending_output() (records of up to 16 KiB). Fails with
  /// netco::errc::write_after_end after close_notify(), not_connected before the handshake.
  NETCO_DECL write_result write(std::span<const std::byte> plaintext);
  write_result write(std::string_view text) { return write(std::as_bytes(std::span(text))); }

  // ---- ciphertext out ----
  NETCO_DECL bool has_output() const noexcept;
  NETCO_DECL std::size_t output_size() const noexcept;
  /// The ciphertext to send, in order, for one gathered write; valid until the next call that
  /// is not const. Then consume_output(bytes sent).
  NETCO_DECL std::span<const std::span<const std::byte>> pending_output();
  NETCO_DECL void consume_output(std::size_t n) noexcept;
  /// Moves all pending ciphertext out as buffers (for a write queue), appended to out.
  NETCO_DECL void take_output(std::vector<buffer>& out);

  /// Frees OpenSSL's record buffers and the engine's spare output block now: for a connection
  /// gone idle when its context keeps them (release_buffers off). False when they hold data;
  /// they come back with the next record.
  NETCO_DECL bool free_buffers() noexcept;

  // ---- shutdown ----
  /// Queues our close_notify (once): we write no more, but may keep reading (a half-close,
  /// as Node's end() with allowHalfOpen). Never waits for the peer's. Node: tlsSocket.end()
  NETCO_DECL void close_notify();
  NETCO_DECL bool close_notify_sent() const noexcept;
  /// The peer's close_notify came (a read returned closed).
  NETCO_DECL bool close_notify_received() const noexcept;

  // ---- the peer, after the handshake (Node's names) ----
  NETCO_DECL bool is_server() const noexcept;
  /// Client: the server's certificate verified and named the host. Server: a client certificate
  /// was requested and verified. Node: tlsSocket.authorized
  NETCO_DECL bool authorized() const noexcept;
  /// Why not: Node's code ("DEPTH_ZERO_SELF_SIGNED_CERT", "ERR_TLS_CERT_ALTNAME_INVALID",
  /// "CERT_HAS_EXPIRED" ...), empty when verified. Node: tlsSocket.authorizationError
  NETCO_DECL std::string authorization_error() const;
  /// The same as an error_code (a check_server_identity error as it returned it).
  NETCO_DECL std::error_code verify_error() const noexcept;
  /// Node: tlsSocket.getPeerCertificate()
  NETCO_DECL certificate get_peer_certificate() const;
  /// Our own certificate. Node: tlsSocket.getCertificate()
  NETCO_DECL certificate get_certificate() const;
  /// "TLSv1.3", "TLSv1.2"; empty before the handshake. Node: tlsSocket.getProtocol()
  NETCO_DECL std::string_view get_protocol() const noexcept;
  /// Node: tlsSocket.getCipher()
  NETCO_DECL cipher_info get_cipher() const noexcept;
  /// The protocol ALPN chose, empty when none (Node: false). Node: tlsSocket.alpnProtocol
  NETCO_DECL std::string_view alpn_protocol() const noexcept;
  /// Server: the name the client sent (SNI); client: the one we sent. Node: tlsSocket.servername
  NETCO_DECL std::string_view servername() const noexcept;
  /// The session, serialized, to resume with client_options::session (with TLS 1.3, one that
  /// came in a ticket after the handshake: see on_session). Node: tlsSocket.getSession()
  NETCO_DECL buffer get_session() const;
  /// Node: tlsSocket.isSessionReused()
  NETCO_DECL bool is_session_reused() const noexcept;

  // ---- events the socket layer forwards ----
  /// NSS key log lines (for Wireshark's SSLKEYLOGFILE), one per secret. Node: 'keylog'
  NETCO_DECL void on_keylog(std::function<void(std::string_view line)> listener);
  /// Client: a resumable session (TLS 1.3: each ticket, after the handshake). Node: 'session'
  NETCO_DECL void on_session(std::function<void(buffer session)> listener);

  NETCO_DECL ssl_st* native_handle() const noexcept;

 private:
  NETCO_DECL explicit engine(std::unique_ptr<detail::tls_engine_state> state) noexcept;
  std::unique_ptr<detail::tls_engine_state> state_;
};

}  // namespace netco::tls

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_engine.ipp"
#endif
