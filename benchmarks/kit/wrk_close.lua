-- benchmarks/kit/wrk_close.lua: wrk asks for "Connection: close" on every request, so each
-- request opens a new connection: what run.sh -t http-close measures.
wrk.headers["Connection"] = "close"
