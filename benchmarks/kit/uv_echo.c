/* benchmarks/kit/uv_echo.c: TCP echo on libuv (Debian's libuv1-dev), one loop, one thread.
 *
 *   uv_echo PORT [BUFSIZE=16384]
 *
 * Each connection reads into its own BUFSIZE buffer and echoes with uv_try_write, which
 * usually takes it all; a remainder goes out with uv_write while reading is stopped, as in
 * epoll_echo.c, so the buffer is never needed twice at once.
 */
#include <signal.h> /* SIGTERM, SIGINT */
#include <stdio.h>  /* fprintf */
#include <stdlib.h> /* malloc, atoi */
#include <uv.h>     /* the loop */

struct peer {
  uv_tcp_t tcp; /* first: a uv_handle_t* to it is a struct peer* */
  uv_write_t write_req;
  char buf[];
};

static size_t buf_size = 16384;

static void on_closed(uv_handle_t* h) { free(h); }

static void peer_close(struct peer* p) { uv_close((uv_handle_t*)&p->tcp, on_closed); }

static void give_buffer(uv_handle_t* h, size_t suggested, uv_buf_t* out) {
  (void)suggested;
  *out = uv_buf_init(((struct peer*)h)->buf, (unsigned)buf_size);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);

static void on_rest_written(uv_write_t* req, int status) {
  struct peer* p = req->data;
  if (status < 0)
    peer_close(p);
  else
    uv_read_start((uv_stream_t*)&p->tcp, give_buffer, on_read);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  struct peer* p = (struct peer*)s;
  if (n == 0) return; /* nothing this time (EAGAIN) */
  if (n < 0) {        /* UV_EOF or an error */
    peer_close(p);
    return;
  }
  uv_buf_t all = uv_buf_init(buf->base, (unsigned)n);
  int done = uv_try_write(s, &all, 1);
  if (done == n) return;
  if (done < 0 && done != UV_EAGAIN) {
    peer_close(p);
    return;
  }
  if (done < 0) done = 0;
  uv_buf_t rest = uv_buf_init(buf->base + done, (unsigned)(n - done));
  uv_read_stop(s); /* the buffer is busy until the rest is out */
  p->write_req.data = p;
  if (uv_write(&p->write_req, s, &rest, 1, on_rest_written) != 0) peer_close(p);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  struct peer* p = malloc(sizeof *p + buf_size);
  if (!p) return;
  uv_tcp_init(server->loop, &p->tcp);
  if (uv_accept(server, (uv_stream_t*)&p->tcp) != 0) {
    peer_close(p);
    return;
  }
  uv_tcp_nodelay(&p->tcp, 1);
  uv_read_start((uv_stream_t*)&p->tcp, give_buffer, on_read);
}

static void on_signal(uv_signal_t* h, int sig) {
  (void)sig;
  uv_stop(h->loop);
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: uv_echo PORT [BUFSIZE=16384]\n");
    return 2;
  }
  if (argc > 2) buf_size = (size_t)strtoul(argv[2], NULL, 0);
  if (buf_size == 0) buf_size = 16384;
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", port, &addr);
  int r = uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
  if (r == 0) r = uv_listen((uv_stream_t*)&server, 4096, on_connection);
  if (r != 0) {
    fprintf(stderr, "uv_echo: listen on 127.0.0.1:%d: %s\n", port, uv_strerror(r));
    return 1;
  }
  uv_signal_t term, intr;
  uv_signal_init(loop, &term);
  uv_signal_init(loop, &intr);
  uv_signal_start(&term, on_signal, SIGTERM);
  uv_signal_start(&intr, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
