/* benchmarks/kit/epoll_echo.c: the yardstick TCP echo server: raw epoll, one thread,
 * level-triggered, per message one read() and one write() and nothing else.
 *
 *   epoll_echo PORT [BUFSIZE=16384]
 *
 * Each connection owns one BUFSIZE buffer (malloc'ed, not zeroed: idle memory shows what a
 * connection costs, not what an untouched buffer would). A short write stops reading until
 * EPOLLOUT has drained the rest, so a slow reader cannot make the server buffer without bound.
 */
#include "kit_server.h"

#include <stdint.h>    /* uint32_t */
#include <sys/epoll.h> /* the event loop */

struct peer {
  int fd;
  size_t pending, done; /* buf[done..pending) still to be written */
  char buf[];
};

static size_t buf_size = 16384;
static int epfd;

static void peer_close(struct peer* p) {
  close(p->fd); /* also leaves the epoll set */
  free(p);
}

static void peer_watch(struct peer* p, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = p};
  epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

/* write buf[done..pending): 1 when all of it went out, 0 when the socket is full, -1 on error */
static int peer_flush(struct peer* p) {
  while (p->done < p->pending) {
    ssize_t n = write(p->fd, p->buf + p->done, p->pending - p->done);
    if (n > 0)
      p->done += (size_t)n;
    else if (n < 0 && errno == EAGAIN)
      return 0;
    else if (!(n < 0 && errno == EINTR))
      return -1;
  }
  p->done = p->pending = 0;
  return 1;
}

/* a readiness report: EPOLLIN, EPOLLHUP or EPOLLERR (read() says which), or EPOLLOUT */
static void peer_event(struct peer* p) {
  if (p->pending > 0) { /* only EPOLLOUT is watched while an echo is unfinished */
    int r = peer_flush(p);
    if (r < 0) {
      peer_close(p);
      return;
    }
    if (r > 0) peer_watch(p, EPOLLIN);
    return;
  }
  ssize_t n = read(p->fd, p->buf, buf_size);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    peer_close(p);
    return;
  }
  p->pending = (size_t)n;
  int r = peer_flush(p);
  if (r < 0) {
    peer_close(p);
    return;
  }
  if (r == 0) peer_watch(p, EPOLLOUT);
}

int main(int argc, char** argv) {
  int port = kit_port(argc, argv, "epoll_echo PORT [BUFSIZE=16384]");
  if (argc > 2) buf_size = (size_t)strtoul(argv[2], NULL, 0);
  if (buf_size == 0) buf_size = 16384;
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
        struct peer* p = malloc(sizeof *p + buf_size);
        if (!p) {
          close(fd);
          continue;
        }
        p->fd = fd;
        p->pending = p->done = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) peer_close(p);
      }
    }
  }
  return 0;
}
