/* benchmarks/kit/kit_server.h: what the kit's C servers share: the listening socket on
 * 127.0.0.1, accepted sockets with TCP_NODELAY, and SIGTERM/SIGINT as "exit now". */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>   /* htons, htonl */
#include <errno.h>       /* EINTR */
#include <netinet/in.h>  /* sockaddr_in */
#include <netinet/tcp.h> /* TCP_NODELAY */
#include <signal.h>      /* sigaction */
#include <stdio.h>       /* perror */
#include <stdlib.h>      /* atoi, exit */
#include <sys/socket.h>  /* socket, bind, listen, accept4 */
#include <unistd.h>      /* close */

/* set by SIGTERM / SIGINT; the event loops check it when epoll_wait returns EINTR */
static volatile sig_atomic_t kit_stop;

static inline void kit_on_signal(int sig) {
  (void)sig;
  kit_stop = 1;
}

/* SIGTERM and SIGINT end the loop (no SA_RESTART, so epoll_wait returns EINTR); SIGPIPE off */
static inline void kit_signals(void) {
  struct sigaction sa = {.sa_handler = kit_on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* PORT from argv[1] (required); exits with a usage line otherwise */
static inline int kit_port(int argc, char** argv, const char* usage) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s\n", usage);
    exit(2);
  }
  return port;
}

/* a non-blocking listening socket on 127.0.0.1:port; exits on failure */
static inline int kit_listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) {
    perror("listen on 127.0.0.1");
    exit(1);
  }
  return fd;
}

/* the next pending connection, non-blocking, with TCP_NODELAY; -1 when none is left */
static inline int kit_accept(int listen_fd) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    if (errno != EINTR && errno != ECONNABORTED) return -1; /* EAGAIN, or EMFILE: try later */
  }
}
