// tests/test_tls_alloc.cpp: what a TLS connection costs in heap: the bytes an idle engine holds
// after its handshake, and the allocations per steady-state round trip, with OpenSSL's
// SSL_MODE_RELEASE_BUFFERS on and off. OpenSSL's allocations are counted through
// CRYPTO_set_mem_functions, netco's through a replaced operator new: its own program.
#include "netco/tls/engine.hpp"

#include <doctest/doctest.h>
#include <malloc.h>  // malloc_usable_size
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "test_tls_support.hpp"

// NOTE: GCC flags free() in a replaced operator delete as mismatched, but the replaced operator
// new mallocs: they match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

struct heap_account {
  std::atomic<long> allocations{0};
  std::atomic<long> bytes{0};  // held now (malloc_usable_size of what is live)
  void add(void* p) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(static_cast<long>(malloc_usable_size(p)), std::memory_order_relaxed);
  }
  void remove(void* p) {
    bytes.fetch_sub(static_cast<long>(malloc_usable_size(p)), std::memory_order_relaxed);
  }
};
heap_account openssl_heap;
heap_account netco_heap;  // operator new: the engine's state, blocks, vectors (and the test's)

void* count_malloc(std::size_t n, const char*, int) {
  void* p = std::malloc(n ? n : 1);
  if (p) openssl_heap.add(p);
  return p;
}
void* count_realloc(void* p, std::size_t n, const char*, int) {
  if (n == 0) {
    if (p) openssl_heap.remove(p);
    std::free(p);
    return nullptr;
  }
  if (p) openssl_heap.remove(p);
  void* q = std::realloc(p, n);
  if (q) {
    openssl_heap.add(q);
  } else if (p) {
    openssl_heap.bytes.fetch_add(static_cast<long>(malloc_usable_size(p)));  // still held
  }
  return q;
}
void count_free(void* p, const char*, int) {
  if (p) openssl_heap.remove(p);
  std::free(p);
}

// Before OpenSSL's first allocation: OpenSSL refuses new functions after it.
const bool openssl_counted = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1;

long held() { return openssl_heap.bytes.load() + netco_heap.bytes.load(); }

}  // namespace

void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) {
    netco_heap.add(p);
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept {
  if (p) netco_heap.remove(p);
  std::free(p);
}
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }

namespace {

using netco::buffer;
using netco::tls::engine;
using netco_test::client_context;
using netco_test::server_context;

/// The wire between two engines as a transport would run it: one gathered write of
/// pending_output(), read on the other side into a pooled block reused once the engine let go.
struct wire {
  buffer pool = buffer::uninitialized(64 * 1024);
  std::vector<char> scratch = std::vector<char>(64 * 1024);

  void carry(engine& from, engine& to) {
    while (from.has_output()) {
      auto spans = from.pending_output();
      std::size_t n = 0;
      for (auto s : spans) {
        std::size_t take = std::min(s.size(), pool.size() - n);
        if (!pool.unique()) pool = buffer::uninitialized(pool.size());  // still queued there
        std::memcpy(pool.mutable_bytes().data() + n, s.data(), take);
        n += take;
        if (take < s.size()) break;
      }
      from.consume_output(n);
      to.feed(pool.slice(0, n));
    }
  }
};

struct connection {
  engine client;
  engine server;
  wire w;

  void pump() {
    for (int i = 0; i < 8 && (client.has_output() || server.has_output()); ++i) {
      w.carry(client, server);
      w.carry(server, client);
    }
  }
  void handshake() {
    for (int i = 0; i < 20 && !(client.handshake_done() && server.handshake_done()); ++i) {
      client.handshake_step();
      pump();
      server.handshake_step();
      pump();
    }
    REQUIRE(client.handshake_done());
    REQUIRE(server.handshake_done());
  }
  // 64 bytes each way, read into a stack buffer.
  void round_trip() {
    static const char message[64] =
        "sixty-four bytes of application data, each way, per round trip";
    std::byte in[256];
    REQUIRE(client.write(std::string_view(message, sizeof message)).size == sizeof message);
    pump();
    auto r = server.read(in);
    REQUIRE(r.status == netco::tls::read_status::data);
    REQUIRE(r.size == sizeof message);
    REQUIRE(server.write(std::string_view(message, sizeof message)).size == sizeof message);
    pump();
    r = client.read(in);
    REQUIRE(r.status == netco::tls::read_status::data);
    REQUIRE(r.size == sizeof message);
    // Nothing else waits (TLS 1.3 tickets were read with the first round trip).
    REQUIRE(client.read(in).status == netco::tls::read_status::want_read);
    REQUIRE(server.read(in).status == netco::tls::read_status::want_read);
  }
};

struct idle_figures {
  long per_connection;  // client + server
  long client;
  long server;
};

idle_figures idle_cost(bool release_buffers, const char* version) {
  auto sctx = server_context({.max_version = version, .release_buffers = release_buffers});
  auto cctx = client_context({.max_version = version, .release_buffers = release_buffers});
  {  // warm-up: OpenSSL fetches and caches algorithms on first use
    connection c{engine::client(cctx), engine::server(sctx), {}};
    c.handshake();
    c.round_trip();
  }
  constexpr int n = 32;
  std::vector<std::unique_ptr<connection>> conns;
  conns.reserve(n);
  long before = held();
  for (int i = 0; i < n; ++i) {
    conns.push_back(
        std::make_unique<connection>(connection{engine::client(cctx), engine::server(sctx), {}}));
    conns.back()->handshake();
    conns.back()->round_trip();
    conns.back()->w = wire{buffer(), {}};  // the transport's read block is not the engine's
  }
  long all = held();
  for (auto& c : conns) c->client = engine();
  long servers_only = held();
  conns.clear();
  idle_figures f;
  f.per_connection = (all - before) / n - static_cast<long>(sizeof(connection));
  f.client = (all - servers_only) / n;
  f.server = f.per_connection - f.client;
  return f;
}

struct round_trip_figures {
  double openssl;  // OpenSSL's allocations per round trip
  double netco;    // the engine's own (operator new)
};

round_trip_figures allocations_per_round_trip(bool release_buffers, const char* version) {
  auto sctx = server_context({.max_version = version, .release_buffers = release_buffers});
  auto cctx = client_context({.max_version = version, .release_buffers = release_buffers});
  connection c{engine::client(cctx), engine::server(sctx), {}};
  c.handshake();
  for (int i = 0; i < 10; ++i) c.round_trip();
  constexpr int rounds = 200;
  long openssl_before = openssl_heap.allocations.load();
  long netco_before = netco_heap.allocations.load();
  for (int i = 0; i < rounds; ++i) c.round_trip();
  return {static_cast<double>(openssl_heap.allocations.load() - openssl_before) / rounds,
          static_cast<double>(netco_heap.allocations.load() - netco_before) / rounds};
}

}  // namespace

TEST_CASE("the counters are in place") {
  REQUIRE(openssl_counted);
  long a = openssl_heap.allocations.load();
  auto ctx = server_context();
  CHECK(openssl_heap.allocations.load() > a);
}

TEST_CASE("an idle connection's heap after the handshake, RELEASE_BUFFERS on and off") {
  REQUIRE(openssl_counted);
  MESSAGE("sizeof(tls::engine) = " << sizeof(engine) << " B, sizeof(detail::tls_engine_state) = "
                                   << sizeof(netco::detail::tls_engine_state) << " B");
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    idle_figures on = idle_cost(true, version);
    idle_figures off = idle_cost(false, version);
    MESSAGE(std::string(version) << " idle heap per connection, RELEASE_BUFFERS on: client "
                                 << on.client << " B + server " << on.server
                                 << " B = " << on.per_connection << " B");
    MESSAGE(std::string(version) << " idle heap per connection, RELEASE_BUFFERS off: client "
                                 << off.client << " B + server " << off.server
                                 << " B = " << off.per_connection << " B");
    CAPTURE(version);
    // Released record buffers: some 34 KiB less on each side.
    CHECK(on.client + 30000 < off.client);
    CHECK(on.server + 30000 < off.server);
    // Each side well under nginx's idle connection (~60-90 KiB with OpenSSL's buffers held).
    CHECK(on.client < 24 * 1024);
    CHECK(on.server < 24 * 1024);
  }
}

TEST_CASE("allocations per steady-state round trip (64 B each way), RELEASE_BUFFERS on and off") {
  REQUIRE(openssl_counted);
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    round_trip_figures on = allocations_per_round_trip(true, version);
    round_trip_figures off = allocations_per_round_trip(false, version);
    MESSAGE(std::string(version) << " heap allocations per round trip (OpenSSL + engine): "
                                 << "RELEASE_BUFFERS on " << on.openssl << " + " << on.netco
                                 << ", off " << off.openssl << " + " << off.netco);
    CAPTURE(version);
    // Held buffers: the engine allocates nothing. OpenSSL 3.0's record writer still mallocs
    // (and frees) two or four 40-byte WPACKET frames per SSL_write (crypto/packet.c), which
    // no API avoids.
    CHECK(off.netco == 0);
    CHECK(off.openssl <= 8);
    // Released buffers: a record buffer per read and per write, an output block per flush.
    CHECK(on.netco <= 2);
    CHECK(on.openssl <= 16);
  }
}

TEST_CASE("free_buffers(): an idle connection of a context that keeps its buffers") {
  REQUIRE(openssl_counted);
  auto sctx = server_context({.release_buffers = false});
  auto cctx = client_context({.release_buffers = false});
  connection c{engine::client(cctx), engine::server(sctx), {}};
  c.handshake();
  c.round_trip();
  long before = held();
  CHECK(c.server.free_buffers());
  long after = held();
  MESSAGE("free_buffers() gave back " << before - after << " B");
  CHECK(before - after > 30000);
  c.round_trip();  // they come back
  CHECK(held() > after + 30000);
  // With a record half read, OpenSSL keeps them.
  REQUIRE(c.client.write("x").size == 1);
  auto spans = c.client.pending_output();
  REQUIRE(spans.size() == 1);
  c.server.feed(buffer::copy_of(spans[0].first(3)));
  std::byte in[16];
  CHECK(c.server.read(in).status == netco::tls::read_status::want_read);
  CHECK_FALSE(c.server.free_buffers());
  c.server.feed(buffer::copy_of(spans[0].subspan(3)));
  c.client.consume_output(spans[0].size());
  auto r = c.server.read(in);
  CHECK(r.status == netco::tls::read_status::data);
  CHECK(r.size == 1);
}
