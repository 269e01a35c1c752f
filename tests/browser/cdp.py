"""A small Chrome DevTools Protocol driver for the browser suite.

`Chromium` launches `chromium --headless=new --remote-debugging-port=0` with a throwaway
profile, learns the DevTools port from its stderr line `DevTools listening on ws://...`
(bounded wait), and `page()` connects a `PageSession` to the first page target over a
WebSocket (python3-websocket). A reader thread dispatches command answers by id and
keeps every event, so each call has its own deadline and nothing waits unbounded.

`PageSession`: `navigate(url)`, `evaluate(expr)` (awaitPromise, returnByValue),
`wait_for(expr)` (polls an expression until truthy, with a deadline),
`screenshot(path)`, and `console` (console messages and uncaught exceptions, for
failure messages).
"""

import base64
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import websocket

DEVTOOLS_RE = re.compile(r"DevTools listening on (ws://[^\s]+)")
START_TIMEOUT_S = 30


class CdpError(AssertionError):
    pass


class Chromium:
    """A headless Chromium. `trust_ca` (a PEM file) is added as a trusted CA to the NSS
    database of a private HOME, as an administrator would install a company CA: no
    certificate error is ignored."""

    def __init__(self, binary, workdir, trust_ca=None):
        self.binary = binary
        self.trust_ca = trust_ca
        self.workdir = pathlib.Path(workdir)
        self.proc = None
        self.port = None
        self.browser_ws = None
        self.profile = None
        self.log_path = self.workdir / "chromium.stderr"
        self._found = threading.Event()
        self._stderr_thread = None
        self.sessions = []

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=self.workdir)
        args = [
            self.binary, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--remote-debugging-port=0", "--remote-allow-origins=*",
            f"--user-data-dir={self.profile}", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
            "about:blank",
        ]
        env = None
        if self.trust_ca:
            home = self.workdir / "home"
            nssdb = home / ".pki" / "nssdb"
            nssdb.mkdir(parents=True, exist_ok=True)
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"],
                           check=True, capture_output=True)
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-n", "redge test CA",
                            "-t", "C,,", "-i", str(self.trust_ca)], check=True,
                           capture_output=True)
            env = dict(os.environ, HOME=str(home))
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()
        if not self._found.wait(START_TIMEOUT_S):
            self.stop()
            raise CdpError(f"chromium printed no 'DevTools listening on' line within "
                           f"{START_TIMEOUT_S}s\n{self.log_tail()}")
        self.port = int(re.match(r"ws://[^:/]+:(\d+)/", self.browser_ws).group(1))
        return self

    def _read_stderr(self):
        with open(self.log_path, "wb") as log:
            for line in iter(self.proc.stderr.readline, b""):
                log.write(line)
                log.flush()
                if not self._found.is_set():
                    m = DEVTOOLS_RE.search(line.decode(errors="replace"))
                    if m:
                        self.browser_ws = m.group(1)
                        self._found.set()

    def log_tail(self, n=30):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no chromium stderr)"
        return "chromium stderr (last lines):\n" + "\n".join(lines[-n:])

    def _json(self, path, method="GET"):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def page(self):
        """A session on a page target (the initial about:blank tab, else a new one)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            targets = [t for t in self._json("/json/list") if t.get("type") == "page"]
            if targets:
                break
            if time.monotonic() > deadline:
                targets = [self._json("/json/new?about:blank", method="PUT")]
                break
            time.sleep(0.1)
        session = PageSession(targets[0]["webSocketDebuggerUrl"])
        self.sessions.append(session)
        return session

    def stop(self):
        for s in self.sessions:
            s.close()
        self.sessions.clear()
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._stderr_thread:
            self._stderr_thread.join(timeout=5)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)


class PageSession:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=15, suppress_origin=True)
        self.ws.settimeout(None)
        self._next_id = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._results = {}
        self.events = []
        self.console = []
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _read(self):
        while True:
            try:
                raw = self.ws.recv()
            except Exception:
                break
            if not raw:
                break
            msg = json.loads(raw)
            with self._cond:
                if "id" in msg:
                    self._results[msg["id"]] = msg
                else:
                    self.events.append(msg)
                    self._note_console(msg)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _note_console(self, msg):
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.console.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))

    def send(self, method, params=None, timeout=30):
        with self._lock:
            self._next_id += 1
            mid = self._next_id
            self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._results:
                left = deadline - time.monotonic()
                if self._closed:
                    raise CdpError(f"DevTools connection closed during {method}")
                if left <= 0:
                    raise CdpError(f"no DevTools answer to {method} within {timeout}s")
                self._cond.wait(left)
            msg = self._results.pop(mid)
        if "error" in msg:
            raise CdpError(f"{method} failed: {msg['error']}")
        return msg.get("result", {})

    def evaluate(self, expression, timeout=30):
        """The JSON value of an expression (promises are awaited)."""
        res = self.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
            "timeout": int(timeout * 1000)}, timeout=timeout + 5)
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            desc = d.get("exception", {}).get("description") or d.get("text")
            raise CdpError(f"page threw evaluating {expression[:200]!r}: {desc}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression, timeout=30, interval=0.05, what=None):
        """Polls a page expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last_err = None
        while True:
            try:
                value = self.evaluate(expression, timeout=max(5, timeout))
                if value:
                    return value
            except CdpError as e:  # e.g. the document is being replaced
                last_err = e
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or expression!r}"
                    f" (last error: {last_err}); console: {self.console[-20:]}")
            time.sleep(interval)

    def navigate(self, url, timeout=30):
        res = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if res.get("errorText"):
            raise CdpError(f"navigate {url}: {res['errorText']}")
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
                      timeout=timeout, what=f"{url} to load")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"}, timeout=60)["data"]
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self._reader.join(timeout=5)
