/* benchmarks/kit/loadgen.c: netco's ping-pong load generator (one thread, epoll, Linux only).
 *
 *   loadgen [-h HOST] [-p PORT] [-c CONNS] [-s BYTES] [-d SECS] [-w SECS] [-S SERVER_PID]
 *           [-l LABEL] [-t echo|ws] [-f binary|text] [-u PATH]
 *   loadgen -i N [-h HOST] [-p PORT] [-H SECS] [-t echo|ws] [-u PATH]    idle connections
 *   loadgen -T                                                          self-test, then exit
 *
 * Ping-pong: every connection has exactly one message in flight; when its whole echo is back,
 * the round trip is timed and the next message goes out at once. The first -w seconds warm up
 * (nothing recorded), the next -d seconds are measured. One line of key=value pairs comes out
 * at the end (benchmarks/kit/README.md lists the keys); the exit status is 1 when a connection
 * failed (errors=N), 2 when the run could not start.
 *
 * -t ws: each connection first upgrades (HTTP/1.1, random Sec-WebSocket-Key, no extension
 * offered, the Sec-WebSocket-Accept checked); a message is then one masked frame with FIN set
 * and S payload bytes, and its echo is complete when the server's frames have carried S
 * payload bytes of the same type. Server pings and pongs are skipped; anything else unexpected
 * (close, RSV bits, a mask, the wrong type, too many bytes) counts as an error and drops the
 * connection.
 *
 * -i N: opens N connections, does one 64-byte echo on each (ws: the upgrade and one 64-byte
 * frame), prints "READY n=N" and holds them for -H seconds (default 30) or until SIGTERM: the
 * idle-memory test reads the server's RSS meanwhile.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>    /* inet_pton, htons */
#include <dirent.h>       /* /proc/PID/task listing */
#include <errno.h>        /* EAGAIN, EINTR */
#include <fcntl.h>        /* O_NONBLOCK */
#include <netdb.h>        /* getaddrinfo for a host name */
#include <netinet/in.h>   /* sockaddr_in */
#include <netinet/tcp.h>  /* TCP_NODELAY */
#include <signal.h>       /* sigaction: SIGTERM/SIGINT end the run early */
#include <stdbool.h>      /* bool */
#include <stdint.h>       /* uint64_t */
#include <stdio.h>        /* printf, fopen */
#include <stdlib.h>       /* malloc, strtod */
#include <string.h>       /* memcpy, strstr */
#include <strings.h>      /* strncasecmp */
#include <sys/epoll.h>    /* the event loop */
#include <sys/random.h>   /* getrandom: WebSocket key and mask */
#include <sys/resource.h> /* RLIMIT_NOFILE */
#include <sys/socket.h>   /* socket, connect */
#include <time.h>         /* clock_gettime */
#include <unistd.h>       /* read, write, close */

/* ---- options ----------------------------------------------------------------------------- */

static const char* opt_host = "127.0.0.1";
static int opt_port = 9000;
static int opt_conns = 50;
static size_t opt_size = 64;
static double opt_secs = 5, opt_warm = 1, opt_hold = 30;
static int opt_server_pid;
static const char* opt_label = "-";
static int opt_idle;
static bool opt_ws, opt_text;
static const char* opt_path = "/";

static volatile sig_atomic_t stop_requested;

static void fail(const char* what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill_random(void* p, size_t n) {
  if (getrandom(p, n, 0) != (ssize_t)n) fail("getrandom");
}

/* ---- latency histogram ---------------------------------------------------------------------
 * Log-linear: exact below 256 ns, then 128 buckets per power of two, so a percentile is off by
 * at most 1/256 of its value, with fixed memory however long the run (no sample array). */

enum { HIST_SUB_BITS = 7, HIST_SUB = 1 << HIST_SUB_BITS, HIST_MAX_SHIFT = 42 };
enum { HIST_BUCKETS = HIST_SUB * (HIST_MAX_SHIFT + 2) };

static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count, hist_max_ns;

static unsigned hist_bucket(uint64_t ns) {
  if (ns < 2 * HIST_SUB) return (unsigned)ns;
  unsigned shift = (unsigned)(63 - __builtin_clzll(ns)) - HIST_SUB_BITS;
  if (shift > HIST_MAX_SHIFT) return HIST_BUCKETS - 1;
  return HIST_SUB * shift + (unsigned)(ns >> shift);
}

static double hist_bucket_mid_ns(unsigned i) {
  if (i < 2 * HIST_SUB) return i;
  unsigned shift = i / HIST_SUB - 1;
  uint64_t low = (uint64_t)(i - HIST_SUB * shift) << shift;
  return (double)low + (double)((uint64_t)1 << shift) / 2;
}

static void hist_add(uint64_t ns) {
  hist[hist_bucket(ns)]++;
  hist_count++;
  if (ns > hist_max_ns) hist_max_ns = ns;
}

/* nearest-rank percentile in microseconds, never above the exact maximum */
static double hist_percentile_us(double p) {
  if (hist_count == 0) return 0;
  uint64_t rank = (uint64_t)(p * (double)hist_count + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i];
    if (seen >= rank) {
      double mid = hist_bucket_mid_ns(i);
      return (mid < (double)hist_max_ns ? mid : (double)hist_max_ns) / 1e3;
    }
  }
  return (double)hist_max_ns / 1e3;
}

/* ---- CPU accounting ------------------------------------------------------------------------ */

/* CPU seconds of every thread of pid: the first field of /proc/PID/task/TID/schedstat is the
 * exact on-CPU time in ns (utime/stime in /proc/PID/stat only count 10 ms ticks). A thread that
 * exited during the window takes its time with it: the servers measured here keep theirs. */
static double process_cpu_s(int pid) {
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d/task", pid);
  DIR* d = opendir(dir);
  if (!d) return -1;
  unsigned long long total_ns = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[sizeof dir + sizeof e->d_name + 16];
    snprintf(path, sizeof path, "%s/%s/schedstat", dir, e->d_name);
    FILE* f = fopen(path, "r");
    unsigned long long ns;
    if (f && fscanf(f, "%llu", &ns) == 1) total_ns += ns;
    if (f) fclose(f);
  }
  closedir(d);
  return (double)total_ns / 1e9;
}

static double own_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whole-machine busy and stolen CPU seconds from /proc/stat's first line; busy = user + nice
 * + system + irq + softirq (guest time is inside user). More busy time than the client and
 * the server used together means something else ran: a noisy run. */
struct machine_cpu {
  double busy_s, steal_s;
};

static struct machine_cpu machine_cpu_now(void) {
  struct machine_cpu m = {0, 0};
  unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
  FILE* f = fopen("/proc/stat", "r");
  if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
                  &iowait, &irq, &softirq, &steal) == 8) {
    double hz = (double)sysconf(_SC_CLK_TCK);
    m.busy_s = (double)(user + nice + sys + irq + softirq) / hz;
    m.steal_s = (double)steal / hz;
  }
  if (f) fclose(f);
  return m;
}

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept -------------------------------------------- */

struct sha1_ctx {
  uint32_t h[5];
  uint64_t bytes;
  unsigned char block[64];
  size_t used;
};

static uint32_t rotl32(uint32_t x, unsigned n) { return x << n | x >> (32 - n); }

static void sha1_compress(uint32_t h[5], const unsigned char* p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f;
    uint32_t k;
    switch (i / 20) {
      case 0:
        f = d ^ (b & (c ^ d)), k = 0x5a827999;
        break;
      case 1:
        f = b ^ c ^ d, k = 0x6ed9eba1;
        break;
      case 2:
        f = (b & c) | (d & (b | c)), k = 0x8f1bbcdc;
        break;
      default:
        f = b ^ c ^ d, k = 0xca62c1d6;
        break;
    }
    uint32_t next = rotl32(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rotl32(b, 30), b = a, a = next;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

static void sha1_init(struct sha1_ctx* s) {
  static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  memcpy(s->h, iv, sizeof iv);
  s->bytes = 0;
  s->used = 0;
}

static void sha1_update(struct sha1_ctx* s, const void* data, size_t n) {
  const unsigned char* p = data;
  s->bytes += n;
  while (n > 0) {
    size_t take = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->block + s->used, p, take);
    s->used += take, p += take, n -= take;
    if (s->used == 64) {
      sha1_compress(s->h, s->block);
      s->used = 0;
    }
  }
}

static void sha1_final(struct sha1_ctx* s, unsigned char out[20]) {
  const uint64_t bits = s->bytes * 8;
  unsigned char pad[72] = {0x80};
  size_t pad_len = (s->used < 56 ? 56 : 120) - s->used;
  for (int i = 0; i < 8; i++) pad[pad_len + i] = (unsigned char)(bits >> (56 - 8 * i));
  sha1_update(s, pad, pad_len + 8);
  for (int i = 0; i < 20; i++) out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* RFC 4648 base64 with padding; out holds 4 * ((n + 2) / 3) + 1 bytes */
static void base64_encode(const unsigned char* in, size_t n, char* out) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *out++ = abc[v >> 18], *out++ = abc[v >> 12 & 63], *out++ = abc[v >> 6 & 63];
    *out++ = abc[v & 63];
  }
  if (n - i == 1) {
    *out++ = abc[in[i] >> 2], *out++ = abc[(in[i] & 3) << 4], *out++ = '=', *out++ = '=';
  } else if (n - i == 2) {
    *out++ = abc[in[i] >> 2], *out++ = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
    *out++ = abc[(in[i + 1] & 15) << 2], *out++ = '=';
  }
  *out = 0;
}

/* the Sec-WebSocket-Accept value a server must answer key with (RFC 6455, 4.2.2) */
static void ws_accept_for(const char* key, char out[29]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  struct sha1_ctx s;
  unsigned char digest[20];
  sha1_init(&s);
  sha1_update(&s, key, strlen(key));
  sha1_update(&s, guid, sizeof guid - 1);
  sha1_final(&s, digest);
  base64_encode(digest, sizeof digest, out);
}

static int self_test(void) {
  static const struct {
    const char* in;
    size_t repeat;
    const char* hex;
  } sha[] = {
      /* FIPS 180 examples: one block, the empty message, two blocks, a million 'a's */
      {"abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {"", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
       "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
      {"a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
  };
  int bad = 0;
  for (size_t t = 0; t < sizeof sha / sizeof sha[0]; t++) {
    struct sha1_ctx s;
    unsigned char d[20];
    char hex[41];
    sha1_init(&s);
    for (size_t r = 0; r < sha[t].repeat; r++) sha1_update(&s, sha[t].in, strlen(sha[t].in));
    sha1_final(&s, d);
    for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    if (strcmp(hex, sha[t].hex) != 0) printf("FAIL sha1 #%zu: %s\n", t, hex), bad++;
  }
  static const char* b64[][2] = {{"", ""},
                                 {"f", "Zg=="},
                                 {"fo", "Zm8="},
                                 {"foo", "Zm9v"},
                                 {"foob", "Zm9vYg=="},
                                 {"fooba", "Zm9vYmE="},
                                 {"foobar", "Zm9vYmFy"}};
  for (size_t t = 0; t < sizeof b64 / sizeof b64[0]; t++) {
    char out[16];
    base64_encode((const unsigned char*)b64[t][0], strlen(b64[t][0]), out);
    if (strcmp(out, b64[t][1]) != 0) printf("FAIL base64 \"%s\": %s\n", b64[t][0], out), bad++;
  }
  char accept[29];
  ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept); /* the example in RFC 6455, 1.3 */
  if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0)
    printf("FAIL Sec-WebSocket-Accept: %s\n", accept), bad++;
  uint64_t probes[] = {0, 1, 255, 256, 257, 511, 512, 1000, 12345, 999999, 123456789, 1ull << 40};
  for (size_t t = 0; t < sizeof probes / sizeof probes[0]; t++) {
    double mid = hist_bucket_mid_ns(hist_bucket(probes[t])), v = (double)probes[t];
    if (mid < v - v / 256 - 0.5 || mid > v + v / 256 + 0.5)
      printf("FAIL histogram: %llu ns -> %.1f\n", (unsigned long long)probes[t], mid), bad++;
  }
  printf("loadgen self-test: %s\n", bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}

/* ---- WebSocket client side ------------------------------------------------------------------ */

static void read_head(int fd, char* buf, size_t cap, const char* what) {
  size_t used = 0;
  for (;;) {
    if (used + 1 >= cap) {
      fprintf(stderr, "loadgen: %s: response head over %zu bytes\n", what, cap);
      exit(2);
    }
    ssize_t n = read(fd, buf + used, cap - 1 - used);
    if (n <= 0) {
      buf[used] = 0;
      fprintf(stderr, "loadgen: %s: %s before the response head ended\n%s\n", what,
              n == 0 ? "connection closed" : strerror(errno), buf);
      exit(2);
    }
    used += (size_t)n;
    buf[used] = 0;
    char* end = strstr(buf, "\r\n\r\n");
    if (!end) continue;
    if ((size_t)(end + 4 - buf) != used) {
      /* the server may not talk before our first frame: nothing was asked for yet */
      fprintf(stderr, "loadgen: %s: bytes after the response head\n%s\n", what, buf);
      exit(2);
    }
    return;
  }
}

/* the value of header name (no colon) in an HTTP head, trimmed, or NULL */
static const char* find_header(const char* head, const char* name, char* val, size_t cap) {
  size_t len = strlen(name);
  for (const char* line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    const char* p = line + 2;
    if (strncasecmp(p, name, len) != 0 || p[len] != ':') continue;
    p += len + 1;
    while (*p == ' ' || *p == '\t') p++;
    const char* e = strstr(p, "\r\n");
    while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t n = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
    memcpy(val, p, n);
    val[n] = 0;
    return val;
  }
  return NULL;
}

/* the opening handshake on a blocking socket; any failure ends the run (exit 2) */
static void ws_upgrade(int fd) {
  unsigned char nonce[16];
  char key[25], want[29], got[128], req[1024], head[8192];
  fill_random(nonce, sizeof nonce);
  base64_encode(nonce, sizeof nonce, key);
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   opt_path, opt_host, opt_port, key);
  if (n <= 0 || (size_t)n >= sizeof req) {
    fprintf(stderr, "loadgen: -u path too long\n");
    exit(2);
  }
  if (write(fd, req, (size_t)n) != n) fail("upgrade request");
  read_head(fd, head, sizeof head, "WebSocket upgrade");
  const char* why = NULL;
  ws_accept_for(key, want);
  if (strncmp(head, "HTTP/1.1 101", 12) != 0)
    why = "status is not 101";
  else if (!find_header(head, "Sec-WebSocket-Accept", got, sizeof got))
    why = "no Sec-WebSocket-Accept";
  else if (strcmp(got, want) != 0)
    why = "wrong Sec-WebSocket-Accept";
  else if (find_header(head, "Sec-WebSocket-Extensions", got, sizeof got))
    why = "an extension nobody offered";
  if (why) {
    fprintf(stderr, "loadgen: WebSocket upgrade of %s:%d%s failed: %s\n%s\n", opt_host, opt_port,
            opt_path, why, head);
    exit(2);
  }
}

/* One masked client frame, FIN set, carrying payload; returns its length (payload + 6..14).
 * NOTE: RFC 6455 asks for a new mask key per frame; one key for the whole run is used instead:
 * a server cannot tell and unmasks every frame all the same, and the client (which shares CPU 0
 * with the server under -P same) does no XOR work per message. */
static size_t ws_frame(unsigned char* out, const unsigned char* payload, size_t n) {
  unsigned char key[4];
  size_t h = 0;
  fill_random(key, sizeof key);
  out[h++] = (unsigned char)(0x80 | (opt_text ? 0x1 : 0x2));
  if (n <= 125) {
    out[h++] = (unsigned char)(0x80 | n);
  } else if (n <= 0xffff) {
    out[h++] = 0x80 | 126;
    out[h++] = (unsigned char)(n >> 8), out[h++] = (unsigned char)n;
  } else {
    out[h++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) out[h++] = (unsigned char)((uint64_t)n >> shift);
  }
  memcpy(out + h, key, 4);
  h += 4;
  for (size_t i = 0; i < n; i++) out[h + i] = payload[i] ^ key[i % 4];
  return h + n;
}

/* Receiving side of one connection: where it is in the server's frame stream. */
struct ws_reader {
  unsigned char head[10]; /* server frames are unmasked: 2 bytes + at most 8 of length */
  unsigned have, need;
  uint64_t left;   /* payload bytes of the current frame still to come */
  uint64_t got;    /* payload bytes of the echo so far */
  bool control;    /* the current frame is a ping or pong: skipped */
  bool fin;        /* the current frame ends its message */
  bool awaiting;   /* a message is out and its echo incomplete */
  bool in_message; /* the echo's first data frame has been seen */
};

enum { WS_MORE = 0, WS_DONE = 1, WS_BAD = -1 };

static void ws_reader_expect(struct ws_reader* r) {
  r->got = 0;
  r->awaiting = true;
  r->in_message = false;
}

/* frame header complete: check it against what may come now */
static int ws_frame_start(struct ws_reader* r, size_t expect) {
  uint64_t len = r->head[1] & 0x7f;
  if (len >= 126) {
    len = 0;
    for (unsigned i = 2; i < r->need; i++) len = len << 8 | r->head[i];
  }
  unsigned op = r->head[0] & 0x0f;
  r->fin = (r->head[0] & 0x80) != 0;
  r->control = op >= 8;
  r->left = len;
  if (op == 0x9 || op == 0xa) return r->fin && len <= 125 ? WS_MORE : WS_BAD;
  if (op == 0x0 ? !r->in_message : r->in_message || op != (opt_text ? 0x1u : 0x2u)) return WS_BAD;
  if (!r->awaiting || r->got + len > expect) return WS_BAD; /* unasked-for or too long */
  r->in_message = true;
  return WS_MORE; /* close (0x8) and reserved opcodes were refused above */
}

/* Feed bytes from the server: WS_DONE when they completed the echo of expect payload bytes. */
static int ws_feed(struct ws_reader* r, const unsigned char* p, size_t n, size_t expect) {
  int result = WS_MORE;
  while (n > 0) {
    if (r->have < r->need) {
      r->head[r->have++] = *p++, n--;
      if (r->have == 2) {
        if ((r->head[1] & 0x80) || (r->head[0] & 0x70)) return WS_BAD; /* mask or RSV bits */
        unsigned len7 = r->head[1] & 0x7f;
        r->need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
      }
      if (r->have < r->need) continue;
      if (ws_frame_start(r, expect) == WS_BAD) return WS_BAD;
    } else {
      size_t take = r->left < n ? (size_t)r->left : n;
      r->left -= take, p += take, n -= take;
      if (!r->control) r->got += take;
    }
    if (r->have == r->need && r->left == 0) { /* the frame is over */
      r->have = 0, r->need = 2;
      if (!r->control && r->fin) {
        if (r->got != expect) return WS_BAD;
        r->awaiting = r->in_message = false;
        result = WS_DONE;
      }
    }
  }
  return result;
}

/* ---- connections ---------------------------------------------------------------------------- */

static struct sockaddr_in server_addr(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
  if (inet_pton(AF_INET, opt_host, &sa.sin_addr) == 1) return sa;
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
  if (getaddrinfo(opt_host, NULL, &hints, &res) != 0) {
    fprintf(stderr, "loadgen: cannot resolve %s\n", opt_host);
    exit(2);
  }
  sa.sin_addr = ((struct sockaddr_in*)res->ai_addr)->sin_addr;
  freeaddrinfo(res);
  return sa;
}

/* a blocking, connected socket with TCP_NODELAY (setup is never timed) */
static int dial(const struct sockaddr_in* sa) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr*)sa, sizeof *sa) != 0) fail("connect");
  return fd;
}

struct conn {
  int fd;
  bool dead;
  bool out_armed;  /* EPOLLOUT registered: the message is only partly written */
  size_t out_done; /* bytes of the message (ws: of the frame) written */
  size_t in_done;  /* echo bytes received (ws mode counts in reader.got instead) */
  uint64_t sent_ns;
  struct ws_reader reader;
};

static int epfd;
static const unsigned char* message; /* what each connection writes: payload, or a whole frame */
static size_t message_len;
static unsigned char* inbuf;
static size_t inbuf_cap;
static bool measuring;
static uint64_t completed, errors;

static void watch(struct conn* c, bool want_out) {
  if (c->out_armed == want_out) return;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->out_armed = want_out;
}

static void drop(struct conn* c) {
  if (c->dead) return;
  c->dead = true;
  errors++;
  close(c->fd); /* also leaves the epoll set */
}

static void flush_message(struct conn* c) {
  while (c->out_done < message_len) {
    ssize_t n = write(c->fd, message + c->out_done, message_len - c->out_done);
    if (n > 0) {
      c->out_done += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      watch(c, true);
      return;
    } else {
      drop(c);
      return;
    }
  }
  watch(c, false);
}

static void send_message(struct conn* c, uint64_t now) {
  c->out_done = c->in_done = 0;
  c->sent_ns = now;
  ws_reader_expect(&c->reader);
  flush_message(c);
}

static void round_trip_done(struct conn* c) {
  uint64_t now = mono_ns();
  completed++;
  if (measuring) hist_add(now - c->sent_ns);
  if (!stop_requested) send_message(c, now);
}

/* one read per readiness report (level-triggered: epoll reports again if more is queued) */
static void on_input(struct conn* c) {
  ssize_t n = read(c->fd, inbuf, inbuf_cap);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop(c); /* the server closed or reset a connection in the middle of a run */
    return;
  }
  if (opt_ws) {
    int r = ws_feed(&c->reader, inbuf, (size_t)n, opt_size);
    if (r == WS_BAD || (r == WS_DONE && c->out_done != message_len)) {
      drop(c);
      return;
    }
    if (r == WS_DONE) round_trip_done(c);
    return;
  }
  c->in_done += (size_t)n;
  if (c->in_done > opt_size) {
    drop(c); /* more than was sent: the server is not echoing */
  } else if (c->in_done == opt_size && c->out_done == message_len) {
    round_trip_done(c);
  }
}

/* ---- the two modes -------------------------------------------------------------------------- */

/* one 64-byte echo on a blocking socket (ws: as one frame), so the server has set it all up */
static void idle_echo(int fd) {
  unsigned char payload[64], frame[64 + 14], buf[512];
  memset(payload, 'i', sizeof payload);
  size_t len = sizeof payload;
  const unsigned char* out = payload;
  if (opt_ws) {
    len = ws_frame(frame, payload, sizeof payload);
    out = frame;
  }
  if (write(fd, out, len) != (ssize_t)len) fail("idle write");
  struct ws_reader r = {.need = 2};
  ws_reader_expect(&r);
  for (size_t got = 0; got < sizeof payload;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) fail("idle read");
    if (!opt_ws) {
      got += (size_t)n;
      continue;
    }
    int st = ws_feed(&r, buf, (size_t)n, sizeof payload);
    if (st == WS_BAD) {
      fprintf(stderr, "loadgen: idle: not a valid WebSocket echo\n");
      exit(2);
    }
    if (st == WS_DONE) break;
  }
}

static int run_idle(void) {
  struct sockaddr_in sa = server_addr();
  int* fds = malloc(sizeof(int) * (size_t)opt_idle);
  if (!fds) fail("malloc");
  for (int i = 0; i < opt_idle; i++) {
    fds[i] = dial(&sa);
    if (opt_ws) ws_upgrade(fds[i]);
    idle_echo(fds[i]);
  }
  printf("READY n=%d\n", opt_idle);
  fflush(stdout);
  const uint64_t until = mono_ns() + (uint64_t)(opt_hold * 1e9);
  while (!stop_requested && mono_ns() < until) {
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  for (int i = 0; i < opt_idle; i++) close(fds[i]);
  free(fds);
  return 0;
}

struct snapshot {
  uint64_t at_ns, completed;
  double server_s, client_s;
  struct machine_cpu machine;
};

static struct snapshot take_snapshot(void) {
  struct snapshot s = {mono_ns(), completed, opt_server_pid ? process_cpu_s(opt_server_pid) : 0,
                       own_cpu_s(), machine_cpu_now()};
  return s;
}

static int run_pingpong(void) {
  struct sockaddr_in sa = server_addr();
  unsigned char* payload = malloc(opt_size);
  if (!payload) fail("malloc");
  for (size_t i = 0; i < opt_size; i++) payload[i] = (unsigned char)('a' + i % 26);
  if (opt_ws) {
    unsigned char* frame = malloc(opt_size + 14);
    if (!frame) fail("malloc");
    message_len = ws_frame(frame, payload, opt_size);
    message = frame;
    free(payload);
  } else {
    message = payload;
    message_len = opt_size;
  }
  /* echo: one byte more than a message shows a server sending what nobody asked for;
   * ws: room for the echo and the headers of a fragmented one, or a ping */
  inbuf_cap = opt_ws ? opt_size + 4096 : opt_size + 1;
  inbuf = malloc(inbuf_cap);
  struct conn* conns = calloc((size_t)opt_conns, sizeof *conns);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!inbuf || !conns || epfd < 0) fail("setup");
  for (int i = 0; i < opt_conns; i++) {
    struct conn* c = &conns[i];
    c->fd = dial(&sa);
    c->reader.need = 2;
    if (opt_ws) ws_upgrade(c->fd);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) fail("epoll_ctl");
  }

  const uint64_t start = mono_ns();
  const uint64_t warm_end = start + (uint64_t)(opt_warm * 1e9);
  const uint64_t end = warm_end + (uint64_t)(opt_secs * 1e9);
  struct snapshot first = {0};
  measuring = opt_warm <= 0;
  if (measuring) first = take_snapshot();
  for (int i = 0; i < opt_conns; i++) send_message(&conns[i], start);

  enum { MAX_EVENTS = 512 };
  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, 5);
    if (n < 0 && errno != EINTR) fail("epoll_wait");
    for (int i = 0; i < n; i++) {
      struct conn* c = evs[i].data.ptr;
      if (c->dead) continue;
      if ((evs[i].events & (EPOLLERR | EPOLLHUP)) && !(evs[i].events & EPOLLIN)) {
        drop(c);
        continue;
      }
      if (evs[i].events & EPOLLOUT) flush_message(c);
      if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_input(c);
    }
    const uint64_t now = mono_ns();
    if (!measuring && now >= warm_end) {
      first = take_snapshot();
      measuring = true;
    }
    if (now >= end || stop_requested) break;
  }
  const struct snapshot last = take_snapshot();

  const double secs = (double)(last.at_ns - first.at_ns) / 1e9;
  const uint64_t rt = last.completed - first.completed;
  const double rtps = secs > 0 ? (double)rt / secs : 0;
  const double srv_s = opt_server_pid ? last.server_s - first.server_s : -1;
  printf(
      "label=%s conns=%d size=%zu secs=%.3f rt=%llu rt_total=%llu rtps=%.0f MBps=%.2f "
      "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f cli_cpu=%.2f srv_cpu=%.2f "
      "srv_us_per_rt=%.3f sys_busy=%.2f steal=%.2f errors=%llu",
      opt_label, opt_conns, opt_size, secs, (unsigned long long)rt, (unsigned long long)completed,
      rtps, rtps * (double)opt_size / 1e6, hist_percentile_us(0.50), hist_percentile_us(0.99),
      hist_percentile_us(0.999), (double)hist_max_ns / 1e3,
      secs > 0 ? (last.client_s - first.client_s) / secs : 0,
      opt_server_pid && secs > 0 ? srv_s / secs : -1.0,
      opt_server_pid && rt ? srv_s * 1e6 / (double)rt : -1.0,
      secs > 0 ? (last.machine.busy_s - first.machine.busy_s) / secs : 0,
      secs > 0 ? (last.machine.steal_s - first.machine.steal_s) / secs : 0,
      (unsigned long long)errors);
  if (opt_ws) printf(" mode=ws frame=%s", opt_text ? "text" : "binary");
  printf("\n");
  fflush(stdout);
  free(conns); /* the sockets go with the process */
  return errors ? 1 : 0;
}

/* ---- main ----------------------------------------------------------------------------------- */

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen [-h HOST] [-p PORT] [-c CONNS] [-s BYTES] [-d SECS] [-w SECS]\n"
          "               [-S SERVER_PID] [-l LABEL] [-t echo|ws] [-f binary|text] [-u PATH]\n"
          "       loadgen -i N [-h HOST] [-p PORT] [-H SECS] [-t echo|ws] [-u PATH]\n"
          "       loadgen -T   (self-test of SHA-1, base64 and the latency histogram)\n");
  exit(2);
}

static double number(const char* s, double min) {
  char* end;
  double v = strtod(s, &end);
  if (end == s || *end != 0 || v < min) usage();
  return v;
}

int main(int argc, char** argv) {
  for (int opt; (opt = getopt(argc, argv, "h:p:c:s:d:w:S:l:i:H:t:f:u:T")) != -1;) {
    switch (opt) {
      case 'h':
        opt_host = optarg;
        break;
      case 'p':
        opt_port = (int)number(optarg, 1);
        break;
      case 'c':
        opt_conns = (int)number(optarg, 1);
        break;
      case 's':
        opt_size = (size_t)number(optarg, 1);
        break;
      case 'd':
        opt_secs = number(optarg, 0.001);
        break;
      case 'w':
        opt_warm = number(optarg, 0);
        break;
      case 'S':
        opt_server_pid = (int)number(optarg, 0);
        break;
      case 'l':
        opt_label = optarg;
        break;
      case 'i':
        opt_idle = (int)number(optarg, 1);
        break;
      case 'H':
        opt_hold = number(optarg, 0);
        break;
      case 't':
        if (strcmp(optarg, "echo") != 0 && strcmp(optarg, "ws") != 0) usage();
        opt_ws = optarg[0] == 'w';
        break;
      case 'f':
        if (strcmp(optarg, "binary") != 0 && strcmp(optarg, "text") != 0) usage();
        opt_text = optarg[0] == 't';
        break;
      case 'u':
        opt_path = optarg;
        break;
      case 'T':
        return self_test();
      default:
        usage();
    }
  }
  if (optind != argc || opt_port > 65535) usage();

  /* 10,000 idle connections need more descriptors than the usual soft limit of 1024 */
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART: epoll_wait returns */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  return opt_idle > 0 ? run_idle() : run_pingpong();
}
