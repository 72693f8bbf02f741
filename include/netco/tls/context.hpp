// netco/tls/context.hpp: tls::secure_context, a cheap shared handle to one configured OpenSSL
// SSL_CTX (certificates, trust, versions, ciphers, sessions, ALPN, SNI)
#pragma once
#include <array>         // array (ticket keys)
#include <atomic>        // atomic (detail::tls_counters)
#include <chrono>        // seconds
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint64_t
#include <functional>    // function
#include <memory>        // shared_ptr
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <utility>       // move
#include <vector>        // vector

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/tls/error.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX: only the .ipp files include OpenSSL's headers

namespace netco::detail {
struct tls_context_state;
struct tls_sni_state;
}  // namespace netco::detail

namespace netco::tls {

/// PEM text, or the name of a file that holds it: `.cert = cert_pem` or
/// `.cert = tls::pem::file("server.crt")`. Empty: not given.
class pem {
 public:
  pem() = default;
  pem(std::string text) : value_(std::move(text)) {}   // NOLINT: PEM text, as Node
  pem(std::string_view text) : value_(text) {}         // NOLINT
  pem(const char* text) : value_(text ? text : "") {}  // NOLINT
  /// The PEM text in file path, read when the context is made.
  static pem file(std::string path) {
    pem p(std::move(path));
    p.is_file_ = true;
    return p;
  }
  bool empty() const noexcept { return value_.empty(); }
  bool is_file() const noexcept { return is_file_; }
  /// The text, or the file's name.
  const std::string& value() const noexcept { return value_; }

 private:
  std::string value_;
  bool is_file_ = false;
};

class secure_context;

/// Node's tls.createSecureContext() options (and the server options that live on a context
/// here: request_cert, reject_unauthorized, ALPN, SNI, sessions), with Node's defaults.
struct context_options {
  pem key = {};                         ///< private key, PEM (encrypted: give passphrase)
  std::string passphrase = {};          ///< for an encrypted key
  pem cert = {};                        ///< certificate chain, PEM, leaf first
  std::vector<pem> ca = {};             ///< trust anchors; replace the system roots when given
  std::string min_version = "TLSv1.2";  ///< "TLSv1", "TLSv1.1", "TLSv1.2" or "TLSv1.3"
  std::string max_version = "TLSv1.3";
  /// TLS 1.2 list, OpenSSL syntax (TLS_... names in it go to TLS 1.3, as Node); empty:
  /// ECDHE with AEAD only (stricter than Node's default, which keeps CBC and DHE)
  std::string ciphers = {};
  std::string ciphersuites = {};     ///< TLS 1.3 list; empty: OpenSSL's (AES-GCM, ChaCha20)
  std::string ecdh_curve = "auto";   ///< groups, "auto": X25519:P-256:P-384
  std::string sigalgs = {};          ///< empty: OpenSSL's
  bool honor_cipher_order = false;   ///< the server's cipher order wins
  std::uint64_t secure_options = 0;  ///< SSL_OP_* bits added to netco's  Node: secureOptions
  std::chrono::seconds session_timeout{300};  ///< sessions and tickets
  /// 48 bytes (name, HMAC secret, AES key) as Node; empty: random, rotated every
  /// session_timeout (tickets of the previous key are still accepted, and renewed).
  std::vector<std::byte> ticket_keys = {};
  std::string session_id_context = "netco";  ///< Node: sessionIdContext
  std::size_t session_cache_size = 20480;    ///< server's TLS 1.2 session-ID cache; 0: none
  bool request_cert = false;                 ///< server: ask for a client certificate
  bool reject_unauthorized = true;           ///< server, with request_cert: fail unverified clients
  std::vector<std::string> alpn_protocols = {};  ///< in preference order  Node: ALPNProtocols
  /// server: the context for the name a client sent (an empty context keeps this one); called
  /// on the handshake's thread.
  /// Node: SNICallback (synchronous here)
  std::function<secure_context(std::string_view servername)> sni_callback = {};
  /// server: an external session cache instead of the built-in one.
  /// Node: 'newSession'
  std::function<void(std::span<const std::byte> id, buffer session)> on_new_session = {};
  /// server: the session stored under id, or an empty buffer.
  /// Node: 'resumeSession'
  std::function<buffer(std::span<const std::byte> id)> on_resume_session = {};
  /// SSL_MODE_RELEASE_BUFFERS: OpenSSL's (and the engine's) record buffers are freed when
  /// drained, ~34 KiB less per idle connection for a malloc/free per record. netco's option.
  bool release_buffers = true;
};

/// One immutable OpenSSL SSL_CTX, shared: copies are cheap and every engine made from one
/// shares its certificates, trust store, session cache and ticket keys. Make one per
/// configuration, never one per connection (OpenSSL 3.0 makes that expensive).
/// Node: SecureContext
class secure_context {
 public:
  secure_context() noexcept = default;  ///< an empty handle
  /// Throws std::system_error naming the file or field that failed, with OpenSSL's reason.
  /// Node: tls.createSecureContext(options)
  NETCO_DECL explicit secure_context(const context_options& options);
  /// The same, the failure in ec (an empty context).
  NETCO_DECL secure_context(const context_options& options, std::error_code& ec);

  explicit operator bool() const noexcept { return state_ != nullptr; }
  NETCO_DECL ssl_ctx_st* native_handle() const noexcept;

  /// The current session ticket keys (name, HMAC secret, AES key).
  /// Node: server.getTicketKeys()
  NETCO_DECL std::array<std::byte, 48> get_ticket_keys() const;
  /// Replaces the ticket keys (tickets made with the old ones no longer resume), and stops the
  /// automatic rotation; throws std::system_error unless 48 bytes.
  /// Node: server.setTicketKeys()
  NETCO_DECL void set_ticket_keys(std::span<const std::byte> keys) const;
  NETCO_DECL void set_ticket_keys(std::span<const std::byte> keys, std::error_code& ec) const;

  friend bool operator==(const secure_context& a, const secure_context& b) noexcept {
    return a.state_ == b.state_;
  }

  /// For the engine.
  const std::shared_ptr<detail::tls_context_state>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<detail::tls_context_state> state_;
};

/// Node: tls.createSecureContext(options)
inline secure_context create_secure_context(const context_options& options) {
  return secure_context(options);
}

/// Host name -> context, for context_options::sni_callback: `.sni_callback = table`. Copies
/// share the table; add_context is safe while handshakes look it up. A '*' matches within one
/// label ("*.example.com"); the context added last wins, as Node.
/// Node: server.addContext()
class sni_table {
 public:
  NETCO_DECL sni_table();
  /// Node: server.addContext(hostname, context)
  NETCO_DECL void add_context(std::string hostname, secure_context context) const;
  /// The context for servername, or an empty one.
  NETCO_DECL secure_context operator()(std::string_view servername) const;

 private:
  std::shared_ptr<detail::tls_sni_state> state_;
};

}  // namespace netco::tls

namespace netco::detail {
/// Process-wide counts, for tests: contexts made, system trust store loads, engines made.
struct tls_counters_t {
  std::atomic<long> contexts{0};
  std::atomic<long> root_store_loads{0};
  std::atomic<long> engines{0};
};
NETCO_DECL tls_counters_t& tls_counters() noexcept;
/// Tests: the context's ticket key clock jumps ahead (the rotation without the wait).
NETCO_DECL void tls_advance_ticket_clock(const tls::secure_context& context,
                                         std::chrono::seconds by);
}  // namespace netco::detail

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_context.ipp"
#endif
