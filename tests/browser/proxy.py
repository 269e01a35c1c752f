"""A fault-injecting HTTP proxy between the browser and redge (one thread per connection).

- `GET /test/<file>` is served from tests/browser/static/ (the test page and its module),
  so the page has the same origin as the API and needs no CORS.
- Everything else is forwarded to redge, one request per connection (`Connection: close`
  both ways). Bodies of ordinary responses are read whole and sent with Content-Length.
- SSE (`GET /v1/jobs/{id}/events` and `/v1/channels/{channel}/events`, status 200) is streamed: the proxy decodes redge's
  chunked body and sends it to the browser as an until-close body, so it can cut it at
  an exact place:
  * `plan_cuts(("events", n), ("bytes", n), ...)`: the next SSE responses, one plan step
    each, are cut (client socket shut down) after n complete events / n body bytes;
  * `cut_open_sse()`: shuts down every SSE stream open now.
- `refuse_sse(mode)` / `allow_sse()`: while refusing, SSE requests are answered 503
  (mode "503") or closed at once without an answer (mode "close"); every other request,
  long-polls included, is still forwarded.
- Counters (under `lock`): `sse_requests`, `sse_forwarded`, `sse_refused`, `sse_cuts`,
  `longpolls` (GET /v1/jobs/{id} or /v1/channels/{channel}/messages with `wait=`), `requests` (method, target, status).
"""

import http.client
import mimetypes
import pathlib
import re
import socket
import threading
import urllib.parse

STATIC_DIR = pathlib.Path(__file__).resolve().parent / "static"
SSE_PATH_RE = re.compile(r"^/v1/(jobs|channels)/[^/]+/events$")
JOB_PATH_RE = re.compile(r"^/v1/jobs/[^/]+$|^/v1/channels/[^/]+/messages$")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}
UPSTREAM_TIMEOUT_S = 120
CLIENT_TIMEOUT_S = 60


class TestProxy:
    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.lock = threading.Lock()
        self.sse_requests = 0
        self.sse_forwarded = 0
        self.sse_refused = 0
        self.sse_cuts = 0
        self.longpolls = 0
        self.requests = []
        self._cut_plan = []
        self._refuse = None
        self._open_sse = set()
        self._clients = set()
        self._stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- control -----------------------------------------------------------------------
    def plan_cuts(self, *steps):
        with self.lock:
            self._cut_plan.extend(steps)

    def refuse_sse(self, mode="503"):
        assert mode in ("503", "close")
        with self.lock:
            self._refuse = mode

    def allow_sse(self):
        with self.lock:
            self._refuse = None

    def cut_open_sse(self):
        """Shuts down every open SSE stream; returns how many were cut."""
        with self.lock:
            streams = list(self._open_sse)
            self._open_sse.clear()
            self.sse_cuts += len(streams)
        for csock, upstream in streams:
            _shutdown(csock)
            if upstream.sock:
                _shutdown(upstream.sock)
        return len(streams)

    def open_sse_count(self):
        with self.lock:
            return len(self._open_sse)

    def stats(self):
        with self.lock:
            return {"sse_requests": self.sse_requests, "sse_forwarded": self.sse_forwarded,
                    "sse_refused": self.sse_refused, "sse_cuts": self.sse_cuts,
                    "longpolls": self.longpolls, "open_sse": len(self._open_sse)}

    def stop(self):
        self._stopping = True
        _shutdown(self.sock)
        self.sock.close()
        self._thread.join(timeout=5)
        with self.lock:
            clients = list(self._clients)
        for c in clients:
            _shutdown(c)

    # -- serving -----------------------------------------------------------------------
    def _accept_loop(self):
        while not self._stopping:
            try:
                csock, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self._clients.add(csock)
            threading.Thread(target=self._serve, args=(csock,), daemon=True).start()

    def _serve(self, csock):
        try:
            csock.settimeout(CLIENT_TIMEOUT_S)
            req = _read_request(csock)
            if req is not None:
                self._handle(csock, *req)
        except OSError:
            pass
        finally:
            with self.lock:
                self._clients.discard(csock)
            try:
                csock.close()
            except OSError:
                pass

    def _record(self, method, target, status):
        with self.lock:
            self.requests.append((method, target, status))

    def _handle(self, csock, method, target, headers, body):
        url = urllib.parse.urlsplit(target)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        if path.startswith("/test/"):
            return self._serve_static(csock, method, target, path[len("/test/"):])
        is_sse = method == "GET" and SSE_PATH_RE.match(path)
        with self.lock:
            if is_sse:
                self.sse_requests += 1
                refuse = self._refuse
                if refuse:
                    self.sse_refused += 1
            else:
                refuse = None
                if method == "GET" and JOB_PATH_RE.match(path) and "wait" in query:
                    self.longpolls += 1
        if refuse == "close":
            self._record(method, target, "closed")
            _shutdown(csock)
            return
        if refuse == "503":
            self._record(method, target, 503)
            payload = b'{"error":{"code":"unavailable","message":"refused by the test proxy"}}'
            _send_all(csock, b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload) + payload)
            return

        up = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT_S)
        try:
            fwd = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
            fwd.append(("Connection", "close"))
            up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in fwd:
                up.putheader(k, v)
            if body or method in ("POST", "PUT", "PATCH"):
                up.putheader("Content-Length", str(len(body)))
            up.endheaders(body if body else None)
            resp = up.getresponse()
            self._record(method, target, resp.status)
            head = f"HTTP/1.1 {resp.status} {resp.reason}\r\n"
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    head += f"{k}: {v}\r\n"
            if is_sse and resp.status == 200:
                with self.lock:
                    self.sse_forwarded += 1
                    plan = self._cut_plan.pop(0) if self._cut_plan else None
                    self._open_sse.add((csock, up))
                _send_all(csock, (head + "Connection: close\r\n\r\n").encode("latin-1"))
                self._stream_sse(csock, up, resp, plan)
            else:
                data = resp.read()
                head += f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
                _send_all(csock, head.encode("latin-1") + (b"" if method == "HEAD" else data))
        finally:
            with self.lock:
                self._open_sse.discard((csock, up))
            up.close()

    def _stream_sse(self, csock, up, resp, plan):
        sent = 0          # body bytes sent
        events = 0        # complete events (blocks with an id: line) sent
        block = b""       # the block in progress (already sent)
        while True:
            try:
                data = resp.read1(65536)
            except (OSError, http.client.HTTPException, ValueError):
                return
            if not data:
                return
            cut_at = None
            if plan and plan[0] == "bytes" and sent + len(data) >= plan[1]:
                cut_at = plan[1] - sent
            elif plan and plan[0] == "events":
                combined = block + data
                start = 0
                while True:
                    end = combined.find(b"\n\n", start)
                    if end < 0:
                        break
                    blk = combined[start:end]
                    if re.search(rb"(^|\n)id:", blk):
                        events += 1
                        if events >= plan[1]:
                            cut_at = end + 2 - len(block)
                            break
                    start = end + 2
                block = combined[start:]
            if cut_at is not None:
                _send_all(csock, data[:cut_at])
                with self.lock:
                    self.sse_cuts += 1
                    self._open_sse.discard((csock, up))
                _shutdown(csock)
                return
            try:
                _send_all(csock, data)
            except OSError:
                return
            sent += len(data)

    def _serve_static(self, csock, method, target, name):
        f = STATIC_DIR / name
        if method != "GET" or "/" in name or not f.is_file():
            self._record(method, target, 404)
            _send_all(csock, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        data = f.read_bytes()
        ctype = "text/javascript" if name.endswith(".js") else (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        self._record(method, target, 200)
        _send_all(csock, (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}; charset=utf-8\r\n"
                          f"Content-Length: {len(data)}\r\nCache-Control: no-store\r\n"
                          "Connection: close\r\n\r\n").encode() + data)


def _read_request(csock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = csock.recv(65536)
        if not chunk:
            return None
        buf += chunk
        if len(buf) > 1 << 20:
            return None
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    length = 0
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
    while len(rest) < length:
        chunk = csock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, target, headers, rest[:length]


def _send_all(sock, data):
    if data:
        sock.sendall(data)


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
