"""Helpers of the integration suite: HTTP requests, SSE clients over raw sockets, bounded
waits and small jobs-API shortcuts.

Everything that waits has a deadline and waits for the thing itself (a byte on a socket,
an event, a state), never a fixed sleep standing in for a wake-up.

- `Http`: one request per connection through http.client; `Http.start()` sends a request
  and returns before its answer so a test can check that a long-poll or a lease wait is
  really parked, then act, then time the answer.
- `ResponseParser` / `SseParser`: incremental parsers of an HTTP/1.1 response (chunked,
  Content-Length or until-close bodies) and of a text/event-stream body (`id:`,
  `event:`, `data:`, `retry:`, comments).
- `SseClient`: one blocking stream with per-read deadlines.
- `SseSwarm`: many streams on one selectors loop (the 1,000-stream test).
"""

import collections
import http.client
import json
import os
import pathlib
import re
import resource
import select
import selectors
import socket
import time
import urllib.parse

from redge_process import redge_binary, raise_nofile_limit  # noqa: F401  (shared with the other suite)

JOB_ID_RE = re.compile(r"^[0-9a-f]{36}$")
TERMINAL_EVENTS = ("completed", "failed", "canceled")
TERMINAL_STATES = TERMINAL_EVENTS
DEFAULT_TIMEOUT = 10.0



def compact(value):
    """The compact JSON text of a value (what redge puts on an SSE `data:` line)."""
    return json.dumps(value, separators=(",", ":"))



def now_ms():
    return int(time.time() * 1000)


def wait_until(predicate, timeout=DEFAULT_TIMEOUT, interval=0.01, what="condition"):
    """Polls predicate() until it is truthy and returns its value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------------------
# Plain HTTP requests
# ------------------------------------------------------------------------------------

class HttpReply:
    """A complete HTTP response: status, headers (lower-cased names), body bytes."""

    def __init__(self, status, headers, body, request=""):
        self.status = status
        self.headers = [(k.lower(), v) for k, v in headers]
        self.body = body
        self.request = request
        self._json = None

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError:
                raise AssertionError(f"body is not JSON: {self!r}") from None
        return self._json

    def error_code(self):
        body = self.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), dict), (
            f"not an error body {{'error': {{'code', 'message'}}}}: {self!r}")
        err = body["error"]
        assert isinstance(err.get("message"), str), f"error without a message: {self!r}"
        return err.get("code")

    def __repr__(self):
        return (f"<{self.request} -> HTTP {self.status} "
                f"headers={dict(self.headers)} body={self.body[:600]!r}>")


class PendingRequest:
    """A request already sent whose answer has not been read yet."""

    def __init__(self, conn, label):
        self.conn = conn
        self.label = label
        self.sent_at = time.monotonic()

    def assert_no_reply(self, wait):
        """Nothing at all arrives for `wait` seconds (the request is parked)."""
        readable, _, _ = select.select([self.conn.sock], [], [], wait)
        assert not readable, f"{self.label} answered within {wait}s though it should wait"

    def reply(self, timeout=DEFAULT_TIMEOUT):
        """Reads the answer; returns (HttpReply, monotonic time it was fully read)."""
        self.conn.sock.settimeout(timeout)
        try:
            resp = self.conn.getresponse()
            body = resp.read()
        except socket.timeout:
            raise AssertionError(f"{self.label}: no answer within {timeout}s") from None
        finally:
            self.conn.close()
        return HttpReply(resp.status, resp.getheaders(), body, self.label), time.monotonic()

    def close(self):
        self.conn.close()


class Http:
    """Requests to one redge HTTP listener. `token` adds `Authorization: Bearer`."""

    def __init__(self, host, port, token=None):
        self.host = host
        self.port = port
        self.token = token

    def _prepare(self, method, path, params, body, json_body, headers):
        if params:
            sep = "&" if "?" in path else "?"
            path = path + sep + urllib.parse.urlencode(params)
        hdrs = {}
        if self.token is not None:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if json_body is not _NOTHING:
            body = json.dumps(json_body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        hdrs.update(headers or {})
        return path, body, hdrs

    def start(self, method, path, *, params=None, body=None, json=None, headers=None,
              timeout=DEFAULT_TIMEOUT):
        """Sends a request and returns a PendingRequest without reading the answer."""
        json_body = _NOTHING if json is None else json
        path, body, hdrs = self._prepare(method, path, params, body, json_body, headers)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.request(method, path, body=body, headers=hdrs)
        return PendingRequest(conn, f"{method} {path}")

    def request(self, method, path, *, params=None, body=None, json=None, headers=None,
                timeout=DEFAULT_TIMEOUT):
        """One request on a fresh connection. `json` (not None) is sent as a JSON body."""
        pending = self.start(method, path, params=params, body=body, json=json,
                             headers=headers, timeout=timeout)
        reply, _ = pending.reply(timeout)
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class _Nothing:
    pass


_NOTHING = _Nothing()


class KeepAlive:
    """One keep-alive connection for many small requests (bulk enqueues)."""

    def __init__(self, host, port, timeout=DEFAULT_TIMEOUT):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def post_json(self, path, value, headers=None):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        self.conn.request("POST", path, body=json.dumps(value).encode(), headers=hdrs)
        resp = self.conn.getresponse()
        body = resp.read()
        return HttpReply(resp.status, resp.getheaders(), body, f"POST {path}")

    def close(self):
        self.conn.close()


# ------------------------------------------------------------------------------------
# Jobs API shortcuts
# ------------------------------------------------------------------------------------

def enqueue(http_, queue, payload, headers=None, expect=202):
    """POST /v1/queues/{queue}/jobs; asserts the status and returns the JSON body."""
    reply = http_.post(f"/v1/queues/{queue}/jobs", json=payload, headers=headers)
    assert reply.status == expect, reply
    body = reply.json()
    assert JOB_ID_RE.match(body.get("id", "")), reply
    return body


def get_job(http_, job_id, **params):
    reply = http_.get(f"/v1/jobs/{job_id}", params=params or None)
    assert reply.status == 200, reply
    return reply.json()


def wait_state(http_, job_id, states, timeout=DEFAULT_TIMEOUT):
    """Polls GET /v1/jobs/{id} until its state is one of `states`; returns the job."""
    if isinstance(states, str):
        states = (states,)
    last = {}

    def check():
        last["job"] = get_job(http_, job_id)
        return last["job"]["state"] in states and last["job"]

    try:
        return wait_until(check, timeout=timeout, interval=0.02, what=f"job state in {states}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last job record: {last.get('job')}") from None


def json_record(http_, job_id):
    """The job's record in the JSON form redge wrote before its binary records (which it
    still reads), built from GET /v1/jobs/{id}: what a test writes over RESP to stand for
    an old or tampered record."""
    job = get_job(http_, job_id)
    return {"id": job["id"], "queue": job["queue"], "correlation_id": job["correlation_id"],
            "state": job["state"], "attempt": job["attempt"],
            "max_attempts": job["max_attempts"], "created_at": job["created_at"],
            "updated_at": job["updated_at"], "started_at": job["started_at"],
            "finished_at": job["finished_at"], "last_event_id": job["last_event_id"],
            "lease_holder": "", "lease_token": "", "lease_expires_at": 0,
            "former_holders": [], "payload": None, "result": None, "error": "",
            "envelope": "", "idempotency_key": ""}


def lease(http_, queue, wait=None, worker=None, expect=200, timeout=DEFAULT_TIMEOUT):
    params = {"wait": wait} if wait is not None else None
    body = {"worker": worker} if worker else None
    reply = http_.post(f"/v1/queues/{queue}/lease", params=params, json=body, timeout=timeout)
    assert reply.status == expect, reply
    return reply.json() if expect == 200 else reply


def worker_call(http_, job_id, action, token, body=None):
    """POST /v1/jobs/{id}/{action} with X-Lease-Token (None: header left out)."""
    headers = {} if token is None else {"X-Lease-Token": token}
    return http_.post(f"/v1/jobs/{job_id}/{action}", json=body, headers=headers)


def run_http_job(http_, queue, payload=None, events=(), result=None, worker="w"):
    """Enqueues a job and runs it to completion as an HTTP worker (the queue must hold
    nothing else); returns the job id."""
    created = enqueue(http_, queue, payload if payload is not None else {"q": queue})
    leased = lease(http_, queue, wait=5, worker=worker)
    assert leased["id"] == created["id"], (leased, created)
    for ev in events:
        reply = worker_call(http_, created["id"], "events", leased["lease_token"], ev)
        assert reply.status == 200, reply
    reply = worker_call(http_, created["id"], "complete", leased["lease_token"],
                        {"result": result})
    assert reply.status == 200, reply
    assert reply.json()["state"] == "completed", reply
    return created["id"]


def event_summary(events):
    return [(e.id, e.type) for e in events]


# ------------------------------------------------------------------------------------
# Incremental parsers
# ------------------------------------------------------------------------------------

class ResponseParser:
    """Parses one HTTP/1.1 response fed in pieces; `feed` returns decoded body bytes."""

    def __init__(self):
        self.buf = b""
        self.state = "head"
        self.status = None
        self.headers = []
        self.done = False  # the body is complete (terminating chunk / length reached)
        self.body = b""    # every body byte (kept for non-stream answers)
        self._left = 0
        self._until_close = False

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            if self.state == "head":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head, self.buf = self.buf[:end], self.buf[end + 4:]
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ", 2)
                assert parts[0].startswith("HTTP/1."), f"bad status line {lines[0]!r}"
                self.status = int(parts[1])
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    self.headers.append((k.strip().lower(), v.strip()))
                te = (self.header("transfer-encoding") or "").lower()
                if "chunked" in te:
                    self.state = "size"
                elif self.header("content-length") is not None:
                    self._left = int(self.header("content-length"))
                    self.state = "length"
                    if self._left == 0:
                        self.state, self.done = "end", True
                else:
                    self.state, self._until_close = "close", True
            elif self.state == "size":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    break
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    self.state = "trailer"
                else:
                    self._left, self.state = size, "data"
            elif self.state == "data":
                if not self.buf:
                    break
                take = self.buf[:self._left]
                self.buf = self.buf[len(take):]
                self._left -= len(take)
                out.append(take)
                if self._left == 0:
                    self.state = "crlf"
            elif self.state == "crlf":
                if len(self.buf) < 2:
                    break
                assert self.buf[:2] == b"\r\n", f"bad chunk end {self.buf[:10]!r}"
                self.buf = self.buf[2:]
                self.state = "size"
            elif self.state == "trailer":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    break
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                if line == b"":
                    self.state, self.done = "end", True
            elif self.state == "length":
                if not self.buf:
                    break
                take = self.buf[:self._left]
                self.buf = self.buf[len(take):]
                self._left -= len(take)
                out.append(take)
                if self._left == 0:
                    self.state, self.done = "end", True
            elif self.state == "close":
                if self.buf:
                    out.append(self.buf)
                    self.buf = b""
                break
            else:  # "end": bytes after the response are kept in buf, not parsed
                break
        data = b"".join(out)
        self.body += data
        return data

    def feed_eof(self):
        if self._until_close:
            self.done = True


class Event:
    """One dispatched SSE event. `id` is an int when the id line is a number."""

    kind = "event"

    def __init__(self, id_, type_, data):
        self.id = id_
        self.type = type_
        self.data = data

    @property
    def json(self):
        try:
            return json.loads(self.data)
        except ValueError:
            raise AssertionError(f"event data is not JSON: {self!r}") from None

    def __repr__(self):
        return f"Event(id={self.id!r}, event={self.type!r}, data={self.data!r})"


class Comment:
    kind = "comment"

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"Comment({self.text!r})"


class Retry:
    kind = "retry"

    def __init__(self, ms):
        self.ms = ms

    def __repr__(self):
        return f"Retry({self.ms!r})"


class SseParser:
    """text/event-stream parser. `feed` returns Event, Comment and Retry items in order.

    An event is dispatched at a blank line when its block had an id, event or data
    field; `data` lines are joined with '\\n'; one space after the colon is dropped.
    """

    def __init__(self):
        self.buf = b""
        self._reset()

    def _reset(self):
        self._id = None
        self._type = None
        self._data = []
        self._seen = False

    def feed(self, data):
        self.buf += data
        items = []
        while True:
            cr, lf = self.buf.find(b"\r"), self.buf.find(b"\n")
            if cr < 0 and lf < 0:
                break
            if cr >= 0 and (lf < 0 or cr < lf):
                if cr == len(self.buf) - 1:
                    break  # a '\r' may be followed by '\n' in the next piece
                line = self.buf[:cr]
                skip = 2 if self.buf[cr + 1:cr + 2] == b"\n" else 1
                self.buf = self.buf[cr + skip:]
            else:
                line, self.buf = self.buf[:lf], self.buf[lf + 1:]
            item = self._line(line.decode("utf-8"))
            if item is not None:
                items.append(item)
        return items

    def _line(self, line):
        if line == "":
            if not self._seen:
                return None
            ev = Event(self._id, self._type or "message", "\n".join(self._data))
            self._reset()
            return ev
        if line.startswith(":"):
            return Comment(line[1:].strip())
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "retry":
            return Retry(int(value) if value.isdigit() else value)
        if field == "id":
            self._id = int(value) if value.isdigit() else value
        elif field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        else:
            return None  # unknown fields are ignored, as a browser does
        self._seen = True
        return None


def _request_bytes(host, port, path, headers):
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ------------------------------------------------------------------------------------
# One blocking SSE stream
# ------------------------------------------------------------------------------------

class StreamEnded(AssertionError):
    pass


class SseClient:
    """GET an SSE route on a raw socket; every read has a deadline.

    `items` keeps everything received (history); next_item()/next_event() consume.
    """

    def __init__(self, host, port, path, headers=None, timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(_request_bytes(host, port, path, headers))
        self.http = ResponseParser()
        self.sse = SseParser()
        self.items = []
        self._queue = collections.deque()
        self.eof = False  # the server closed the connection
        self.closed = False

    @property
    def ended(self):
        return self.eof or self.http.done

    def _pump(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{self.path}: timed out waiting for {what}; "
                                 f"received so far {self.items!r}")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"{self.path}: timed out waiting for {what}; "
                                 f"received so far {self.items!r}") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            self.http.feed_eof()
            return
        body = self.http.feed(chunk)
        if body and self.http.status == 200:
            for item in self.sse.feed(body):
                self.items.append(item)
                self._queue.append(item)

    def head(self, timeout=None):
        """Waits for the status line and headers; returns the status."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.http.status is None:
            if self.eof:
                raise AssertionError(f"{self.path}: connection closed before a response")
            self._pump(deadline, "the response head")
        return self.http.status

    @property
    def status(self):
        return self.http.status

    def header(self, name):
        return self.http.header(name)

    def body_json(self, timeout=None):
        """For a non-stream answer (an error): the whole body as JSON."""
        deadline = time.monotonic() + (timeout or self.timeout)
        self.head(timeout)
        while not self.ended:
            self._pump(deadline, "the end of the response body")
        try:
            return json.loads(self.http.body)
        except ValueError:
            raise AssertionError(f"{self.path}: body is not JSON: {self.http.body!r}") from None

    def next_item(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        status = self.head(timeout)
        assert status == 200, f"{self.path}: status {status}, body {self.http.body!r}"
        while not self._queue:
            if self.ended:
                raise StreamEnded(f"{self.path}: the stream ended; received {self.items!r}")
            self._pump(deadline, "the next SSE item")
        return self._queue.popleft()

    def next_event(self, timeout=None):
        """The next event, skipping comments and retry lines."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            item = self.next_item(max(deadline - time.monotonic(), 0.001))
            if item.kind == "event":
                return item

    def next_comment(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            item = self.next_item(max(deadline - time.monotonic(), 0.001))
            if item.kind == "comment":
                return item
            assert item.kind != "event", f"{self.path}: expected a comment, got {item!r}"

    def events(self, n, timeout=None):
        """The next n events."""
        deadline = time.monotonic() + (timeout or self.timeout)
        return [self.next_event(max(deadline - time.monotonic(), 0.001)) for _ in range(n)]

    def until_terminal(self, timeout=None):
        """Events up to and including the first terminal one."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while True:
            ev = self.next_event(max(deadline - time.monotonic(), 0.001))
            out.append(ev)
            if ev.type in TERMINAL_EVENTS:
                return out

    def expect_end(self, timeout=5.0):
        """The stream ends (terminating chunk or close) with no further event."""
        deadline = time.monotonic() + timeout
        while not self.ended:
            self._pump(deadline, "the end of the stream")
        extra = [i for i in self._queue if i.kind == "event"]
        assert not extra, f"{self.path}: events after the terminal one: {extra!r}"

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------------------------
# Many SSE streams on one selectors loop
# ------------------------------------------------------------------------------------

class _SwarmStream:
    __slots__ = ("index", "path", "sock", "out", "http", "sse", "events", "ended",
                 "error", "connected")

    def __init__(self, index, path):
        self.index = index
        self.path = path
        self.sock = None
        self.out = b""
        self.http = ResponseParser()
        self.sse = SseParser()
        self.events = []
        self.ended = False
        self.error = None
        self.connected = False


class SseSwarm:
    """Opens one SSE stream per path on non-blocking sockets served by one selector.

    `run(until, timeout)` pumps I/O until `until(swarm)` is true; at most
    `max_connecting` streams wait for their response head at once, so the server's
    listen backlog never overflows (a dropped SYN would cost a 1 s retransmit).
    """

    def __init__(self, host, port, paths, headers=None, max_connecting=200):
        self.host = host
        self.port = port
        self.headers = headers
        self.streams = [_SwarmStream(i, p) for i, p in enumerate(paths)]
        self.sel = selectors.DefaultSelector()
        self.max_connecting = max_connecting
        self._next = 0
        self._connecting = 0

    def _open_more(self):
        while self._next < len(self.streams) and self._connecting < self.max_connecting:
            st = self.streams[self._next]
            self._next += 1
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rc = sock.connect_ex((self.host, self.port))
            if rc not in (0, 115, 11):  # 0, EINPROGRESS, EAGAIN
                sock.close()
                st.error, st.ended = f"connect failed: {os.strerror(rc)}", True
                continue
            st.sock = sock
            st.out = _request_bytes(self.host, self.port, st.path, self.headers)
            self._connecting += 1
            self.sel.register(sock, selectors.EVENT_WRITE | selectors.EVENT_READ, st)

    def _got_head(self, st):
        if not st.connected:
            st.connected = True
            self._connecting -= 1

    def _finish(self, st, error=None):
        if st.sock is not None:
            self._got_head(st)
            try:
                self.sel.unregister(st.sock)
            except (KeyError, ValueError):
                pass
            st.sock.close()
            st.sock = None
        st.ended = True
        if error and not st.error:
            st.error = error

    def _service(self, st, mask):
        if mask & selectors.EVENT_WRITE and st.out:
            err = st.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._finish(st, f"connect failed: {os.strerror(err)}")
                return
            try:
                n = st.sock.send(st.out)
            except BlockingIOError:
                n = 0
            except OSError as e:
                self._finish(st, f"send failed: {e}")
                return
            st.out = st.out[n:]
            if not st.out:
                self.sel.modify(st.sock, selectors.EVENT_READ, st)
        if mask & selectors.EVENT_READ:
            try:
                chunk = st.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                st.http.feed_eof()
                self._finish(st)
                return
            body = st.http.feed(chunk)
            if st.http.status is not None:
                self._got_head(st)
            if st.http.status is not None and st.http.status != 200:
                if st.http.done:
                    self._finish(st, f"status {st.http.status}: {st.http.body!r}")
                return
            for item in st.sse.feed(body):
                if item.kind == "event":
                    st.events.append(item)
            if st.http.done:
                self._finish(st)

    def run(self, until, timeout):
        """Pumps until `until(self)` is true; returns False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self._open_more()
            if until(self):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for key, mask in self.sel.select(timeout=min(left, 0.05)):
                self._service(key.data, mask)

    def close(self):
        for st in self.streams:
            if st.sock is not None:
                try:
                    self.sel.unregister(st.sock)
                except (KeyError, ValueError):
                    pass
                st.sock.close()
                st.sock = None
        self.sel.close()
