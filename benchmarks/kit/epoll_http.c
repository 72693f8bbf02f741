/* benchmarks/kit/epoll_http.c: the yardstick HTTP server: raw epoll, one thread,
 * level-triggered, HTTP/1.1 keep-alive, "Hello, World!" (text/plain) to every GET or HEAD.
 *
 *   epoll_http PORT
 *
 * Requests and answers as kit_http.h says (asio_coro_http.cpp shares it); pipelined requests
 * are answered in order with one write.
 */
#include "kit_http.h"
#include "kit_server.h"

#include <stdbool.h>   /* bool */
#include <stdint.h>    /* uint32_t */
#include <string.h>    /* memmem, memmove */
#include <sys/epoll.h> /* the event loop */

enum { IN_CAP = 16384, OUT_CAP = 16384 }; /* OUT_CAP: room for about 100 pipelined answers */

struct peer {
  int fd;
  bool closing;             /* close once the output is out */
  size_t in_len;            /* request bytes in in[] */
  size_t out_done, out_len; /* out[out_done..out_len) still to be written */
  char in[IN_CAP];
  char out[OUT_CAP];
};

static int epfd;

static void peer_close(struct peer* p) {
  close(p->fd);
  free(p);
}

static void peer_watch(struct peer* p, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = p};
  epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

/* 1: all written (the peer may be gone: closing), 0: the socket is full, -1: error */
static int peer_flush(struct peer* p) {
  while (p->out_done < p->out_len) {
    ssize_t n = write(p->fd, p->out + p->out_done, p->out_len - p->out_done);
    if (n > 0)
      p->out_done += (size_t)n;
    else if (n < 0 && errno == EAGAIN)
      return 0;
    else if (!(n < 0 && errno == EINTR))
      return -1;
  }
  p->out_done = p->out_len = 0;
  return 1;
}

/* after a flush: close, keep waiting for EPOLLOUT, or go back to reading */
static void peer_after_flush(struct peer* p, int r, bool watching_out) {
  if (r < 0 || (r > 0 && p->closing)) {
    if (r > 0) shutdown(p->fd, SHUT_WR);
    peer_close(p);
    return;
  }
  if (r == 0 && !watching_out) peer_watch(p, EPOLLOUT);
  if (r > 0 && watching_out) peer_watch(p, EPOLLIN);
}

/* answer the complete requests in in[] (as many as the output has room for), then write */
static void peer_serve(struct peer* p, bool watching_out) {
  size_t used = 0;
  for (char* end; !p->closing && p->out_len + KIT_HTTP_ANSWER_MAX <= OUT_CAP &&
                  (end = memmem(p->in + used, p->in_len - used, "\r\n\r\n", 4)) != NULL;) {
    p->out_len += kit_http_answer(p->in + used, end + 2, p->out + p->out_len, &p->closing);
    used = (size_t)(end + 4 - p->in);
  }
  if (p->out_len == 0 && p->in_len == IN_CAP) { /* a head over 16 KiB */
    peer_close(p);
    return;
  }
  memmove(p->in, p->in + used, p->in_len - used);
  p->in_len -= used;
  if (p->out_len > 0)
    peer_after_flush(p, peer_flush(p), watching_out);
  else if (watching_out)
    peer_watch(p, EPOLLIN);
}

static void peer_event(struct peer* p) {
  if (p->out_len > 0) { /* only EPOLLOUT is watched while output is pending */
    int r = peer_flush(p);
    if (r <= 0 || p->closing)
      peer_after_flush(p, r, true);
    else
      peer_serve(p, true); /* requests that did not fit in the output before */
    return;
  }
  ssize_t n = read(p->fd, p->in + p->in_len, IN_CAP - p->in_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    peer_close(p);
    return;
  }
  p->in_len += (size_t)n;
  peer_serve(p, false);
}

int main(int argc, char** argv) {
  int port = kit_port(argc, argv, "epoll_http PORT");
  kit_signals();
  int lfd = kit_listen(port);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event evs[256];
  while (!kit_stop) {
    int n = epoll_wait(epfd, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr != NULL) {
        peer_event(evs[i].data.ptr);
        continue;
      }
      for (int fd; (fd = kit_accept(lfd)) >= 0;) {
        struct peer* p = malloc(sizeof *p);
        if (!p) {
          close(fd);
          continue;
        }
        p->fd = fd;
        p->closing = false;
        p->in_len = p->out_done = p->out_len = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) peer_close(p);
      }
    }
  }
  return 0;
}
