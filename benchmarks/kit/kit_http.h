/* benchmarks/kit/kit_http.h: the one HTTP answer of the kit's hello servers (epoll_http.c,
 * asio_coro_http.cpp), so both parse and reply alike: a request ends at its blank line (no
 * bodies); GET and HEAD get "Hello, World!" (text/plain), any other method 405 and a close;
 * "Connection: close", or HTTP/1.0 without "Connection: keep-alive", gets its answer and a
 * close. C and C++. */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdbool.h> /* bool (C) */
#include <stdio.h>   /* snprintf */
#include <string.h>  /* memmem, memcmp */
#include <strings.h> /* strncasecmp */
#include <time.h>    /* the Date header */

/* the longest answer kit_http_answer() writes */
enum { KIT_HTTP_ANSWER_MAX = 256 };

/* "Date: ...\r\n", rebuilt at most once a second (the servers are single-threaded) */
static inline const char* kit_http_date_line(void) {
  static time_t last;
  static char line[64];
  time_t now = time(NULL);
  if (now != last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    last = now;
  }
  return line;
}

/* the Connection header of the head [p, end): -1 close, 1 keep-alive, 0 absent or other */
static inline int kit_http_connection(const char* p, const char* end) {
  while ((p = (const char*)memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL) {
    p += 2;
    if (end - p < 11 || strncasecmp(p, "connection:", 11) != 0) continue;
    const char* v = p + 11;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    if (end - v >= 5 && strncasecmp(v, "close", 5) == 0) return -1;
    if (end - v >= 10 && strncasecmp(v, "keep-alive", 10) == 0) return 1;
    return 0;
  }
  return 0;
}

/* Writes the answer to the request head [head, end) (end: after its last header line's CRLF)
 * into out (room for KIT_HTTP_ANSWER_MAX bytes); returns its length and sets *close_after. */
static inline size_t kit_http_answer(const char* head, const char* end, char* out,
                                     bool* close_after) {
  const bool get = end - head >= 4 && memcmp(head, "GET ", 4) == 0;
  const bool known = get || (end - head >= 5 && memcmp(head, "HEAD ", 5) == 0);
  const char* eol = (const char*)memmem(head, (size_t)(end - head), "\r\n", 2);
  const bool http10 = eol && eol - head >= 8 && memcmp(eol - 8, "HTTP/1.0", 8) == 0;
  const int conn = kit_http_connection(head, end);
  *close_after = !known || conn < 0 || (http10 && conn <= 0);
  int n = snprintf(out, KIT_HTTP_ANSWER_MAX,
                   "HTTP/1.1 %s\r\nServer: netco-kit\r\nContent-Type: text/plain\r\n"
                   "Content-Length: %d\r\n%s%s\r\n%s",
                   known ? "200 OK" : "405 Method Not Allowed", known ? 13 : 0,
                   *close_after ? "Connection: close\r\n" : "", kit_http_date_line(),
                   get ? "Hello, World!" : "");
  return n > 0 ? (size_t)n : 0;
}
