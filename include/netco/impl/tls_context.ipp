// netco/impl/tls_context.ipp: the out-of-line parts of netco/tls/context.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <cctype>         // tolower
#include <cstdio>         // fopen, fread (PEM files)
#include <cstdlib>        // getenv (SSL_CERT_FILE)
#include <cstring>        // memcmp, memcpy
#include <deque>          // deque (the session cache's order)
#include <exception>      // exception_ptr (callbacks that throw)
#include <mutex>          // mutex (ticket keys, session cache, SNI table)
#include <unordered_map>  // unordered_map (session cache)

#include "netco/error.hpp"
#include "netco/impl/tls_certificate.ipp"
#include "netco/impl/tls_detail.ipp"
#include "netco/impl/tls_error.ipp"
#include "netco/tls/certificate.hpp"
#include "netco/tls/context.hpp"

namespace netco::detail {

NETCO_DECL tls_counters_t& tls_counters() noexcept {
  static tls_counters_t counters;
  return counters;
}

/// Node's ticket key layout: 16 bytes of name, 16 of HMAC-SHA256 secret, 16 of AES-128 key.
struct tls_ticket_key {
  unsigned char name[16];
  unsigned char hmac[16];
  unsigned char aes[16];
};
static_assert(sizeof(tls_ticket_key) == 48);

/// What a secure_context shares: the SSL_CTX and what its callbacks need.
struct tls_context_state {
  SSL_CTX* ctx = nullptr;
  bool has_ca = false;
  bool request_cert = false;
  bool reject_unauthorized = true;
  bool release_buffers = true;
  std::string alpn_wire;  // ALPN's wire format: length-prefixed names
  std::function<tls::secure_context(std::string_view)> sni_callback;
  std::function<void(std::span<const std::byte>, buffer)> on_new_session;
  std::function<buffer(std::span<const std::byte>)> on_resume_session;

  // Session ticket keys; the ticket callback runs on whichever thread handshakes.
  std::mutex ticket_mutex;
  tls_ticket_key ticket_current{};
  tls_ticket_key ticket_previous{};
  bool ticket_has_previous = false;
  bool ticket_auto_rotate = true;
  std::chrono::steady_clock::time_point ticket_since{};
  std::chrono::steady_clock::time_point ticket_previous_until{};
  std::chrono::seconds lifetime{300};
  std::chrono::seconds ticket_clock_offset{0};  // tls_advance_ticket_clock(): tests only
  std::chrono::steady_clock::time_point ticket_now() const {
    return std::chrono::steady_clock::now() + ticket_clock_offset;
  }
  EVP_CIPHER* ticket_cipher = nullptr;  // fetched once: OpenSSL 3.0's implicit fetch is slow

  // The server's session-ID cache (TLS 1.2 resumption without tickets), oldest first.
  std::mutex cache_mutex;
  std::unordered_map<std::string, SSL_SESSION*> cache;
  std::deque<std::pair<std::string, SSL_SESSION*>> cache_order;
  std::size_t cache_max = 0;

  tls_context_state() = default;
  tls_context_state(const tls_context_state&) = delete;
  tls_context_state& operator=(const tls_context_state&) = delete;
  ~tls_context_state() {
    SSL_CTX_free(ctx);
    EVP_CIPHER_free(ticket_cipher);
    for (auto& [id, session] : cache) SSL_SESSION_free(session);
    OPENSSL_cleanse(&ticket_current, sizeof ticket_current);
    OPENSSL_cleanse(&ticket_previous, sizeof ticket_previous);
  }
};

/// What the context's callbacks need of a connection (the engine derives from it); found
/// from the SSL through its ex_data.
struct tls_connection_base {
  std::shared_ptr<tls_context_state> context;      // the one the engine was made from
  std::shared_ptr<tls_context_state> sni_context;  // the SNI callback's choice, kept alive
  std::string servername;                          // server: what the client sent
  std::function<void(std::string_view)> on_keylog;
  std::function<void(buffer)> on_session;
  std::exception_ptr callback_error;  // thrown by a user callback inside OpenSSL: rethrown later

  // Verification (client always; server with request_cert), Node's verdict: the chain's error
  // when there is one, else the identity check's.
  bool reject = true;           // fail the handshake on a verdict (rejectUnauthorized)
  std::error_code chain_error;  // the last one OpenSSL reported, as Node's verifyError()
  std::error_code verify_error_code;
  std::string identity_host;
  std::function<std::error_code(std::string_view, const tls::certificate&)> check_identity;
};

inline int tls_ssl_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
inline int tls_ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
inline tls_connection_base* tls_connection_of(const SSL* ssl) {
  return static_cast<tls_connection_base*>(SSL_get_ex_data(ssl, tls_ssl_index()));
}

/// The DER of a session (i2d_SSL_SESSION), empty when it does not serialize.
inline buffer tls_session_der(SSL_SESSION* session) {
  int len = session ? i2d_SSL_SESSION(session, nullptr) : 0;
  if (len <= 0) return {};
  buffer der = buffer::uninitialized(static_cast<std::size_t>(len));
  auto* out = reinterpret_cast<unsigned char*>(der.mutable_bytes().data());
  i2d_SSL_SESSION(session, &out);
  return der;
}

// ---- the system trust store ---------------------------------------------------------------

/// The system's roots, loaded once per process on first use and shared by every context
/// without its own ca (OpenSSL 3.0 makes each load cost tens of milliseconds).
// NOTE: only the CA file is loaded (SSL_CERT_FILE or OpenSSL's default), not the hashed
// directory: a directory lookup opens files during verification, on the loop's thread.
// SSL_CERT_DIR, when set, is added; a missing file falls back to OpenSSL's default paths.
// The store lives until exit (a static reference, so leak checkers see it as reachable).
NETCO_DECL X509_STORE* tls_system_roots() {
  static X509_STORE* const roots = [] {
    X509_STORE* store = X509_STORE_new();
    if (store == nullptr) return store;
    tls_counters().root_store_loads.fetch_add(1, std::memory_order_relaxed);
    const char* file = std::getenv(X509_get_default_cert_file_env());
    if (file == nullptr || *file == '\0') file = X509_get_default_cert_file();
    if (X509_STORE_load_file(store, file) != 1) X509_STORE_set_default_paths(store);
    if (const char* dir = std::getenv(X509_get_default_cert_dir_env()); dir && *dir)
      X509_STORE_load_path(store, dir);
    ERR_clear_error();
    return store;
  }();
  return roots;
}

// ---- the context's OpenSSL callbacks ---------------------------------------------------

/// Per certificate: notes the chain's error and goes on, so that OpenSSL reports what Node
/// reports (the last error: UNABLE_TO_VERIFY_LEAF_SIGNATURE for a lone leaf of an unknown CA).
/// A host or IP mismatch (SSL_set1_host) is kept apart: it only counts when the chain is good.
NETCO_DECL int tls_verify_callback(int ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  tls_connection_base* c = ssl ? tls_connection_of(ssl) : nullptr;
  if (c == nullptr || ok) return ok;
  int err = X509_STORE_CTX_get_error(store);
  if (err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    if (!c->verify_error_code) c->verify_error_code = tls::errc::cert_altname_invalid;
  } else {
    c->chain_error = tls::make_verify_error(err);
  }
  return 1;
}

/// The X509_V_ERR_* code of a verdict, for the alert OpenSSL sends and the session it keeps.
inline int tls_x509_code_of(const std::error_code& ec) {
  if (!ec) return X509_V_OK;
  if (ec == tls::errc::cert_altname_invalid) return X509_V_ERR_HOSTNAME_MISMATCH;
  if (tls::is_verify_error(ec)) return ec.value() - tls_verify_base;
  return X509_V_ERR_APPLICATION_VERIFICATION;
}

/// The whole verification of the peer's chain (every netco context's), around OpenSSL's: the
/// verdict, then the handshake goes on or fails with the alert for it.
NETCO_DECL int tls_cert_verify_callback(X509_STORE_CTX* store, void*) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  tls_connection_base* c = ssl ? tls_connection_of(ssl) : nullptr;
  if (c == nullptr) return X509_verify_cert(store);
  c->chain_error = {};
  c->verify_error_code = {};
  if (X509_verify_cert(store) < 0) return -1;  // not a verdict: OpenSSL itself failed
  if (c->chain_error) {
    c->verify_error_code = c->chain_error;
  } else if (c->check_identity) {
    try {
      c->verify_error_code =
          c->check_identity(c->identity_host, tls_certificate_of(X509_STORE_CTX_get0_cert(store)));
    } catch (...) {
      c->callback_error = std::current_exception();
      c->verify_error_code = tls::errc::tls_failure;
    }
  }
  X509_STORE_CTX_set_error(store, tls_x509_code_of(c->verify_error_code));
  return c->verify_error_code && c->reject ? 0 : 1;
}

NETCO_DECL int tls_servername_callback(SSL* ssl, int* alert, void*) {
  tls_connection_base* c = tls_connection_of(ssl);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (c == nullptr || name == nullptr) return SSL_TLSEXT_ERR_OK;
  c->servername = name;
  if (!c->context->sni_callback) return SSL_TLSEXT_ERR_OK;
  try {
    tls::secure_context chosen = c->context->sni_callback(c->servername);
    if (chosen && chosen.state()->ctx != SSL_get_SSL_CTX(ssl)) {
      if (SSL_set_SSL_CTX(ssl, chosen.state()->ctx) == nullptr) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
      }
      c->sni_context = chosen.state();
      // Client certificates stay the server's business (as Node's requestCert): the switch
      // replaced the connection's trust store with the new context's.
      if (c->context->request_cert &&
          SSL_set1_verify_cert_store(ssl, c->context->has_ca
                                              ? SSL_CTX_get_cert_store(c->context->ctx)
                                              : tls_system_roots()) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
      }
    }
  } catch (...) {
    c->callback_error = std::current_exception();
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// ALPN is the server's (the context the engine was made from, as Node's server option), in
// the server's order; no overlap is fatal (no_application_protocol), as Node >= 19.
NETCO_DECL int tls_alpn_select_callback(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                                        const unsigned char* in, unsigned int inlen, void*) {
  tls_connection_base* c = tls_connection_of(ssl);
  if (c == nullptr || c->context->alpn_wire.empty()) return SSL_TLSEXT_ERR_NOACK;
  const std::string& wire = c->context->alpn_wire;
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  if (SSL_select_next_proto(
          &selected, &selected_len, reinterpret_cast<const unsigned char*>(wire.data()),
          static_cast<unsigned int>(wire.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  *outlen = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

NETCO_DECL void tls_keylog_callback(const SSL* ssl, const char* line) {
  tls_connection_base* c = tls_connection_of(ssl);
  if (c == nullptr || !c->on_keylog) return;
  try {
    c->on_keylog(line);
  } catch (...) {
    c->callback_error = std::current_exception();
  }
}

NETCO_DECL int tls_new_session_callback(SSL* ssl, SSL_SESSION* session) {
  tls_connection_base* c = tls_connection_of(ssl);
  if (c == nullptr) return 0;
  try {
    if (!SSL_is_server(ssl)) {
      if (c->on_session) c->on_session(tls_session_der(session));
      return 0;
    }
    tls_context_state& st = *c->context;
    unsigned int id_len = 0;
    const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
    if (id_len == 0) return 0;
    if (st.on_new_session) {
      st.on_new_session(std::as_bytes(std::span(id, id_len)), tls_session_der(session));
      return 0;
    }
    if (st.cache_max == 0) return 0;
    std::string key(reinterpret_cast<const char*>(id), id_len);
    std::lock_guard lock(st.cache_mutex);
    // Oldest first; the order list also drops what OpenSSL already removed.
    while (!st.cache_order.empty() &&
           (st.cache.size() >= st.cache_max || st.cache_order.size() >= 2 * st.cache_max)) {
      auto& [old_key, old_session] = st.cache_order.front();
      auto it = st.cache.find(old_key);
      if (it != st.cache.end() && it->second == old_session) {
        SSL_SESSION_free(it->second);
        st.cache.erase(it);
      }
      st.cache_order.pop_front();
    }
    auto [it, inserted] = st.cache.try_emplace(key, session);
    if (!inserted) {
      SSL_SESSION_free(it->second);
      it->second = session;
    }
    st.cache_order.emplace_back(std::move(key), session);
    return 1;  // the cache keeps OpenSSL's reference
  } catch (...) {
    c->callback_error = std::current_exception();
    return 0;
  }
}

NETCO_DECL SSL_SESSION* tls_get_session_callback(SSL* ssl, const unsigned char* id, int id_len,
                                                 int* copy) {
  tls_connection_base* c = tls_connection_of(ssl);
  if (c == nullptr || id_len <= 0) return nullptr;
  tls_context_state& st = *c->context;
  try {
    if (st.on_resume_session) {
      buffer der =
          st.on_resume_session(std::as_bytes(std::span(id, static_cast<std::size_t>(id_len))));
      if (der.empty()) return nullptr;
      const auto* p = reinterpret_cast<const unsigned char*>(der.data());
      SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(der.size()));
      ERR_clear_error();
      *copy = 0;  // OpenSSL takes the reference d2i made
      return session;
    }
    std::lock_guard lock(st.cache_mutex);
    auto it = st.cache.find(
        std::string(reinterpret_cast<const char*>(id), static_cast<std::size_t>(id_len)));
    if (it == st.cache.end()) return nullptr;
    *copy = 1;  // OpenSSL adds its own reference; the cache keeps its one
    return it->second;
  } catch (...) {
    c->callback_error = std::current_exception();
    return nullptr;
  }
}

NETCO_DECL void tls_remove_session_callback(SSL_CTX* ctx, SSL_SESSION* session) {
  auto* st = static_cast<tls_context_state*>(SSL_CTX_get_ex_data(ctx, tls_ctx_index()));
  if (st == nullptr) return;
  unsigned int id_len = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
  std::lock_guard lock(st->cache_mutex);
  auto it = st->cache.find(std::string(reinterpret_cast<const char*>(id), id_len));
  if (it != st->cache.end() && it->second == session) {
    SSL_SESSION_free(it->second);
    st->cache.erase(it);
  }
}

inline bool tls_random_ticket_key(tls_ticket_key& key) {
  return RAND_bytes(reinterpret_cast<unsigned char*>(&key), sizeof key) == 1;
}

NETCO_DECL int tls_ticket_key_callback(SSL* ssl, unsigned char* name, unsigned char* iv,
                                       EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  tls_connection_base* c = tls_connection_of(ssl);
  if (c == nullptr) return -1;
  tls_context_state& st = *c->context;  // tickets belong to the initial context, as in OpenSSL
  tls_ticket_key key;
  int result = 1;
  {
    std::lock_guard lock(st.ticket_mutex);
    auto now = st.ticket_now();
    if (encrypt) {
      if (st.ticket_auto_rotate && now - st.ticket_since >= st.lifetime) {
        tls_ticket_key next;
        if (tls_random_ticket_key(next)) {
          st.ticket_previous = st.ticket_current;
          st.ticket_has_previous = true;
          st.ticket_previous_until = now + st.lifetime;  // its tickets expire by then
          st.ticket_current = next;
          st.ticket_since = now;
        }
      }
      key = st.ticket_current;
    } else if (std::memcmp(name, st.ticket_current.name, 16) == 0) {
      key = st.ticket_current;
    } else if (st.ticket_has_previous && now < st.ticket_previous_until &&
               std::memcmp(name, st.ticket_previous.name, 16) == 0) {
      key = st.ticket_previous;
      result = 2;  // accepted, and renewed under the current key
    } else {
      return 0;  // unknown key: a full handshake
    }
  }
  bool ok;
  if (encrypt) {
    std::memcpy(name, key.name, 16);
    ok = RAND_bytes(iv, 16) == 1 &&
         EVP_EncryptInit_ex2(cipher, st.ticket_cipher, key.aes, iv, nullptr) == 1;
  } else {
    ok = EVP_DecryptInit_ex2(cipher, st.ticket_cipher, key.aes, iv, nullptr) == 1;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof key.hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  ok = ok && EVP_MAC_CTX_set_params(mac, params) == 1;
  OPENSSL_cleanse(&key, sizeof key);
  return ok ? result : -1;
}

NETCO_DECL int tls_pem_passphrase_callback(char* buf, int size, int, void* user) {
  const auto* passphrase = static_cast<const std::string*>(user);
  if (passphrase == nullptr || passphrase->empty() ||
      passphrase->size() > static_cast<std::size_t>(size))
    return 0;  // not -1: OpenSSL would otherwise prompt on the terminal
  std::memcpy(buf, passphrase->data(), passphrase->size());
  return static_cast<int>(passphrase->size());
}

// ---- making a context -----------------------------------------------------------------

inline constexpr const char* tls_default_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

inline int tls_parse_version(const std::string& name) {
  if (name == "TLSv1") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

/// Builds a context; on failure returns the error and says in what which part failed.
class tls_context_builder {
 public:
  tls_context_builder(const tls::context_options& o, tls_context_state& st) : o_(o), st_(st) {}

  std::error_code build(std::string& what) {
    ERR_clear_error();
    std::error_code ec = run();
    if (ec) what = "tls::secure_context: " + what_;
    ERR_clear_error();
    return ec;
  }

 private:
  const tls::context_options& o_;
  tls_context_state& st_;
  std::string what_;

  std::error_code fail(std::string what, tls::errc fallback = tls::errc::tls_failure) {
    what_ = std::move(what);
    return tls_take_error(fallback);
  }
  std::error_code fail_with(std::error_code ec, std::string what) {
    ERR_clear_error();
    what_ = std::move(what);
    return ec;
  }

  std::error_code read_pem(const tls::pem& p, const std::string& field, std::string& text) {
    if (!p.is_file()) {
      text = p.value();
      return {};
    }
    std::FILE* f = std::fopen(p.value().c_str(), "rb");
    if (f == nullptr)
      return fail_with({errno, std::generic_category()},
                       "cannot read " + field + " file \"" + p.value() + "\"");
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) text.append(chunk, n);
    bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed)
      return fail_with({EIO, std::generic_category()},
                       "cannot read " + field + " file \"" + p.value() + "\"");
    return {};
  }

  static std::string source(const tls::pem& p, const std::string& field) {
    return p.is_file() ? field + " file \"" + p.value() + "\"" : field;
  }

  std::error_code load_identity() {
    if (o_.key.empty() != o_.cert.empty())
      return fail_with(make_error_code(netco::errc::invalid_argument),
                       o_.key.empty() ? "a cert needs its key" : "a key needs its cert");
    if (o_.key.empty()) return {};
    std::string text;
    if (auto ec = read_pem(o_.key, "key", text)) return ec;
    tls_bio_ptr bio = tls_memory_bio(text);
    tls_pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, tls_pem_passphrase_callback,
                                             const_cast<std::string*>(&o_.passphrase)));
    OPENSSL_cleanse(text.data(), text.size());
    if (!key) return fail(source(o_.key, "key"));
    text.clear();
    if (auto ec = read_pem(o_.cert, "cert", text)) return ec;
    bio = tls_memory_bio(text);
    tls_x509_ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
    if (!leaf) return fail(source(o_.cert, "cert"));
    if (SSL_CTX_use_certificate(st_.ctx, leaf.get()) != 1) return fail(source(o_.cert, "cert"));
    // The rest of the PEM is the chain the server sends after its leaf.
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add0_chain_cert(st_.ctx, extra) != 1) {
        X509_free(extra);
        return fail(source(o_.cert, "cert") + " (chain)");
      }
    }
    ERR_clear_error();  // the end of the PEM ("no start line")
    if (SSL_CTX_use_PrivateKey(st_.ctx, key.get()) != 1 || SSL_CTX_check_private_key(st_.ctx) != 1)
      return fail(source(o_.key, "key") + " does not match " + source(o_.cert, "cert"));
    return {};
  }

  std::error_code load_ca() {
    if (o_.ca.empty()) return {};
    st_.has_ca = true;
    X509_STORE* store = X509_STORE_new();
    if (store == nullptr) return fail("ca");
    SSL_CTX_set_cert_store(st_.ctx, store);  // the context owns it from here
    for (std::size_t i = 0; i < o_.ca.size(); ++i) {
      std::string field = "ca[" + std::to_string(i) + "]";
      std::string text;
      if (auto ec = read_pem(o_.ca[i], field, text)) return ec;
      tls_bio_ptr bio = tls_memory_bio(text);
      int count = 0;
      while (X509* x509 = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        tls_x509_ptr owned(x509);
        ++count;
        // The client-CA list tells a client which certificate to send (mutual TLS).
        if (X509_STORE_add_cert(store, x509) != 1 || SSL_CTX_add_client_CA(st_.ctx, x509) != 1)
          return fail(source(o_.ca[i], field));
      }
      if (count == 0) return fail(source(o_.ca[i], field) + " holds no certificate");
      ERR_clear_error();
    }
    return {};
  }

  std::error_code configure_protocol() {
    SSL_CTX* ctx = st_.ctx;
    // Secure defaults on every context: no compression (CRIME), no renegotiation, no SSLv3.
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_SSLv3 |
                                 (o_.honor_cipher_order ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0) |
                                 o_.secure_options);
    SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (o_.release_buffers) SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    st_.release_buffers = o_.release_buffers;

    int min = tls_parse_version(o_.min_version);
    int max = tls_parse_version(o_.max_version);
    if (min == 0)
      return fail_with(tls::errc::invalid_protocol_version,
                       "min_version \"" + o_.min_version + "\"");
    if (max == 0)
      return fail_with(tls::errc::invalid_protocol_version,
                       "max_version \"" + o_.max_version + "\"");
    if (min > max)
      return fail_with(tls::errc::protocol_version_conflict,
                       "min_version " + o_.min_version + " > max_version " + o_.max_version);
    if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, max) != 1)
      return fail("versions");

    // As Node, TLS 1.3 suites (TLS_...) may be given in ciphers too.
    std::string tls12 = tls_default_ciphers;
    std::string tls13 = o_.ciphersuites;
    if (!o_.ciphers.empty()) {
      std::string from_ciphers;
      tls12.clear();
      for (std::size_t at = 0; at <= o_.ciphers.size();) {
        std::size_t end = std::min(o_.ciphers.find(':', at), o_.ciphers.size());
        std::string_view name(o_.ciphers.data() + at, end - at);
        std::string& list = name.substr(0, 4) == "TLS_" ? from_ciphers : tls12;
        if (!name.empty()) list += (list.empty() ? "" : ":") + std::string(name);
        at = end + 1;
      }
      if (tls13.empty()) tls13 = from_ciphers;
    }
    if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1)
      return fail("ciphers \"" + o_.ciphers + "\"");
    if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1)
      return fail("ciphersuites \"" + tls13 + "\"");
    std::string groups = o_.ecdh_curve == "auto" ? "X25519:P-256:P-384" : o_.ecdh_curve;
    if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1)
      return fail("ecdh_curve \"" + o_.ecdh_curve + "\"");
    if (!o_.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(ctx, o_.sigalgs.c_str()) != 1)
      return fail("sigalgs \"" + o_.sigalgs + "\"");

    for (const std::string& protocol : o_.alpn_protocols) {
      if (protocol.empty() || protocol.size() > 255)
        return fail_with(make_error_code(netco::errc::invalid_argument),
                         "alpn_protocols: \"" + protocol + "\" is not 1 to 255 bytes");
      st_.alpn_wire += static_cast<char>(protocol.size());
      st_.alpn_wire += protocol;
    }
    return {};
  }

  std::error_code configure_sessions() {
    SSL_CTX* ctx = st_.ctx;
    st_.lifetime = std::max(o_.session_timeout, std::chrono::seconds(1));
    SSL_CTX_set_timeout(ctx, static_cast<long>(st_.lifetime.count()));
    if (o_.session_id_context.size() > SSL_MAX_SID_CTX_LENGTH ||
        SSL_CTX_set_session_id_context(
            ctx, reinterpret_cast<const unsigned char*>(o_.session_id_context.data()),
            static_cast<unsigned int>(o_.session_id_context.size())) != 1)
      return fail("session_id_context (at most 32 bytes)");
    // No internal store: a client's sessions go to its engine's callback (OpenSSL would keep
    // every one for session_timeout), a server's to the cache below.
    SSL_CTX_set_session_cache_mode(
        ctx, SSL_SESS_CACHE_BOTH | SSL_SESS_CACHE_NO_INTERNAL | SSL_SESS_CACHE_NO_AUTO_CLEAR);
    st_.cache_max = o_.session_cache_size;
    SSL_CTX_sess_set_new_cb(ctx, tls_new_session_callback);
    SSL_CTX_sess_set_get_cb(ctx, tls_get_session_callback);
    SSL_CTX_sess_set_remove_cb(ctx, tls_remove_session_callback);

    st_.ticket_cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
    if (st_.ticket_cipher == nullptr) return fail("ticket cipher AES-128-CBC");
    if (!o_.ticket_keys.empty()) {
      if (o_.ticket_keys.size() != sizeof(tls_ticket_key))
        return fail_with(tls::errc::invalid_ticket_keys, "ticket_keys");
      std::memcpy(&st_.ticket_current, o_.ticket_keys.data(), sizeof(tls_ticket_key));
      st_.ticket_auto_rotate = false;
    } else if (!tls_random_ticket_key(st_.ticket_current)) {
      return fail("ticket_keys (RAND_bytes)");
    }
    st_.ticket_since = st_.ticket_now();
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_key_callback);
    return {};
  }

  std::error_code run() {
    tls_counters().contexts.fetch_add(1, std::memory_order_relaxed);
    st_.ctx = SSL_CTX_new(TLS_method());
    if (st_.ctx == nullptr) return fail("SSL_CTX_new");
    SSL_CTX_set_ex_data(st_.ctx, tls_ctx_index(), &st_);
    if (auto ec = configure_protocol()) return ec;
    if (auto ec = load_identity()) return ec;
    if (auto ec = load_ca()) return ec;
    if (auto ec = configure_sessions()) return ec;

    st_.request_cert = o_.request_cert;
    st_.reject_unauthorized = o_.reject_unauthorized;
    int mode = SSL_VERIFY_NONE;
    if (o_.request_cert)
      mode = SSL_VERIFY_PEER | (o_.reject_unauthorized ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(st_.ctx, mode, nullptr);  // the engine adds its callback per connection
    SSL_CTX_set_cert_verify_callback(st_.ctx, tls_cert_verify_callback, nullptr);

    st_.sni_callback = o_.sni_callback;
    st_.on_new_session = o_.on_new_session;
    st_.on_resume_session = o_.on_resume_session;
    SSL_CTX_set_tlsext_servername_callback(st_.ctx, tls_servername_callback);
    SSL_CTX_set_alpn_select_cb(st_.ctx, tls_alpn_select_callback, nullptr);
    // The lines are only formatted, per handshake, for engines with a keylog listener.
    SSL_CTX_set_keylog_callback(st_.ctx, tls_keylog_callback);
    return {};
  }
};

/// '*' matches any run of characters but '.', other characters match case-insensitively.
inline bool tls_host_pattern_match(std::string_view pattern, std::string_view host) {
  std::size_t p = 0, h = 0, star = std::string_view::npos, star_h = 0;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  while (h < host.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_h = h;
    } else if (p < pattern.size() && lower(pattern[p]) == lower(host[h])) {
      ++p;
      ++h;
    } else if (star != std::string_view::npos && host[star_h] != '.') {
      p = star + 1;
      h = ++star_h;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct tls_sni_state {
  std::mutex mutex;
  std::vector<std::pair<std::string, tls::secure_context>> entries;
};

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL secure_context::secure_context(const context_options& options) {
  std::error_code ec;
  std::string what;
  auto st = std::make_shared<detail::tls_context_state>();
  ec = detail::tls_context_builder(options, *st).build(what);
  if (ec) throw std::system_error(ec, what);
  state_ = std::move(st);
}

NETCO_DECL secure_context::secure_context(const context_options& options, std::error_code& ec) {
  std::string what;
  auto st = std::make_shared<detail::tls_context_state>();
  ec = detail::tls_context_builder(options, *st).build(what);
  if (!ec) state_ = std::move(st);
}

NETCO_DECL ssl_ctx_st* secure_context::native_handle() const noexcept {
  return state_ ? state_->ctx : nullptr;
}

NETCO_DECL std::array<std::byte, 48> secure_context::get_ticket_keys() const {
  std::array<std::byte, 48> keys{};
  if (!state_) return keys;
  std::lock_guard lock(state_->ticket_mutex);
  std::memcpy(keys.data(), &state_->ticket_current, keys.size());
  return keys;
}

NETCO_DECL void secure_context::set_ticket_keys(std::span<const std::byte> keys,
                                                std::error_code& ec) const {
  ec = {};
  if (!state_ || keys.size() != sizeof(detail::tls_ticket_key)) {
    ec = errc::invalid_ticket_keys;
    return;
  }
  std::lock_guard lock(state_->ticket_mutex);
  std::memcpy(&state_->ticket_current, keys.data(), keys.size());
  OPENSSL_cleanse(&state_->ticket_previous, sizeof state_->ticket_previous);
  state_->ticket_has_previous = false;
  state_->ticket_auto_rotate = false;
  state_->ticket_since = state_->ticket_now();
}

NETCO_DECL void secure_context::set_ticket_keys(std::span<const std::byte> keys) const {
  std::error_code ec;
  set_ticket_keys(keys, ec);
  if (ec) throw std::system_error(ec, "tls::secure_context::set_ticket_keys");
}

}  // namespace netco::tls

namespace netco::detail {

NETCO_DECL void tls_advance_ticket_clock(const tls::secure_context& context,
                                         std::chrono::seconds by) {
  std::lock_guard lock(context.state()->ticket_mutex);
  context.state()->ticket_clock_offset += by;
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL sni_table::sni_table() : state_(std::make_shared<detail::tls_sni_state>()) {}

NETCO_DECL void sni_table::add_context(std::string hostname, secure_context context) const {
  std::lock_guard lock(state_->mutex);
  state_->entries.emplace_back(std::move(hostname), std::move(context));
}

NETCO_DECL secure_context sni_table::operator()(std::string_view servername) const {
  std::lock_guard lock(state_->mutex);
  for (auto it = state_->entries.rbegin(); it != state_->entries.rend(); ++it)
    if (detail::tls_host_pattern_match(it->first, servername)) return it->second;
  return {};
}

}  // namespace netco::tls
