// tests/test_tls_support.hpp: a throwaway PKI for the TLS suites, and a client/server engine
// pair pumped against each other in memory (whole flights, random splits, byte by byte)
#pragma once
#include <doctest/doctest.h>

#include <stdlib.h>    // mkdtemp
#include <sys/wait.h>  // WIFEXITED

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "netco/tls/engine.hpp"
#include "netco/tls/self_signed.hpp"

namespace netco_test {

/// Certificates made once per process: a CA, leaves it signed, and the bad ones.
struct tls_pki {
  netco::tls::key_and_cert ca;            // "netco test CA"
  netco::tls::key_and_cert localhost;     // CA-signed: localhost, 127.0.0.1, ::1
  netco::tls::key_and_cert other;         // CA-signed: other.example, *.wild.example
  netco::tls::key_and_cert expired;       // CA-signed localhost, expired yesterday
  netco::tls::key_and_cert self_signed;   // localhost, signed by itself
  netco::tls::key_and_cert client;        // CA-signed client certificate, CN=alice
  netco::tls::key_and_cert rogue_ca;      // a CA nobody trusts
  netco::tls::key_and_cert rogue_leaf;    // localhost, signed by rogue_ca
  netco::tls::key_and_cert rogue_client;  // CN=mallory, signed by rogue_ca

  static const tls_pki& get() {
    static const tls_pki pki = make();
    return pki;
  }

 private:
  static tls_pki make() {
    using netco::tls::generate_self_signed;
    using clock = std::chrono::system_clock;
    tls_pki p;
    p.ca = generate_self_signed(
        {.names = {}, .common_name = "netco test CA", .organization = "netco", .is_ca = true});
    auto signed_by = [](const netco::tls::key_and_cert& ca, netco::tls::self_signed_options o) {
      o.issuer_key = ca.key;
      o.issuer_cert = ca.cert;
      return generate_self_signed(o);
    };
    p.localhost = signed_by(p.ca, {});
    p.other = signed_by(p.ca, {.names = {"other.example", "*.wild.example"}});
    p.expired = signed_by(p.ca, {.not_before = clock::now() - std::chrono::hours(72),
                                 .not_after = clock::now() - std::chrono::hours(24)});
    p.self_signed = generate_self_signed({});
    p.client = signed_by(p.ca, {.names = {}, .common_name = "alice"});
    p.rogue_ca = generate_self_signed({.names = {}, .common_name = "rogue CA", .is_ca = true});
    p.rogue_leaf = signed_by(p.rogue_ca, {});
    p.rogue_client = signed_by(p.rogue_ca, {.names = {}, .common_name = "mallory"});
    return p;
  }
};

/// A fresh directory under TMPDIR, removed with the object.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "netco-tls-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  /// Writes text to name in the directory; its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::filesystem::path file = path / name;
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }
};

/// A program the meson test found (NETCO_TEST_OPENSSL, NETCO_TEST_NODE), or "" when absent.
inline std::string test_tool(const char* env) {
  const char* p = std::getenv(env);
  return p ? p : "";
}

/// Runs a shell command line (under `timeout`, so a stuck tool fails instead of hanging);
/// its exit status and what it printed (stdout and stderr).
struct tool_result {
  int status = -1;
  std::string output;
};
inline tool_result run_tool(const std::string& command) {
  tool_result r;
  std::FILE* p = ::popen(("timeout 60 " + command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, p)) > 0) r.output.append(chunk, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A shell word for s.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// How ciphertext is cut between the engines.
enum class chunking { whole, random, byte };

/// A client and a server engine with the wire between them.
struct tls_pair {
  netco::tls::engine client;
  netco::tls::engine server;
  chunking cut = chunking::whole;
  std::mt19937 rng{12345};
  std::size_t wire_bytes = 0;

  /// Moves what from has to send into to, cut as asked; true when something moved.
  bool transfer(netco::tls::engine& from, netco::tls::engine& to) {
    if (!from.has_output()) return false;
    std::vector<netco::buffer> out;
    from.take_output(out);
    for (const netco::buffer& b : out) {
      wire_bytes += b.size();
      std::size_t at = 0;
      while (at < b.size()) {
        std::size_t n = b.size() - at;
        if (cut == chunking::byte) n = 1;
        if (cut == chunking::random) n = std::uniform_int_distribution<std::size_t>(1, n)(rng);
        to.feed(b.slice(at, at + n));
        at += n;
      }
    }
    return true;
  }
  bool pump() {
    bool a = transfer(client, server);
    bool b = transfer(server, client);
    return a || b;
  }

  struct outcome {
    netco::tls::handshake_result client;
    netco::tls::handshake_result server;
    bool ok() const {
      return client.status == netco::tls::handshake_status::done &&
             server.status == netco::tls::handshake_status::done;
    }
  };
  /// Steps both sides until both are done, one failed and the other heard of it, or nothing
  /// moves (a stall fails the test rather than hangs it).
  outcome handshake() {
    using netco::tls::handshake_status;
    outcome r{client.handshake_step(), server.handshake_step()};
    for (int round = 0; round < 100000; ++round) {
      bool moved = pump();
      r.server = server.handshake_step();
      moved = pump() || moved;
      r.client = client.handshake_step();
      bool client_end =
          r.client.status == handshake_status::done || r.client.status == handshake_status::failed;
      bool server_end =
          r.server.status == handshake_status::done || r.server.status == handshake_status::failed;
      if (client_end && server_end && !client.has_output() && !server.has_output()) return r;
      if (!moved && !client.has_output() && !server.has_output()) return r;
    }
    FAIL("the handshake did not finish");
    return r;
  }

  /// Everything `to` can read now, appended to into; the last read's result.
  static netco::tls::read_result drain(netco::tls::engine& to, std::string& into) {
    std::byte buf[16 * 1024];
    for (;;) {
      netco::tls::read_result r = to.read(buf);
      if (r.status != netco::tls::read_status::data) return r;
      into.append(reinterpret_cast<const char*>(buf), r.size);
    }
  }
};

/// A context for the PKI's localhost server.
inline netco::tls::secure_context server_context(netco::tls::context_options o = {}) {
  if (o.key.empty()) {
    o.key = tls_pki::get().localhost.key;
    o.cert = tls_pki::get().localhost.cert;
  }
  return netco::tls::secure_context(o);
}
/// A client context trusting the PKI's CA.
inline netco::tls::secure_context client_context(netco::tls::context_options o = {}) {
  if (o.ca.empty()) o.ca = {tls_pki::get().ca.cert};
  return netco::tls::secure_context(o);
}

inline tls_pair make_pair(const netco::tls::secure_context& server_ctx,
                          const netco::tls::secure_context& client_ctx,
                          netco::tls::client_options options = {}) {
  return {netco::tls::engine::client(client_ctx, std::move(options)),
          netco::tls::engine::server(server_ctx)};
}

}  // namespace netco_test
