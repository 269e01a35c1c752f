"""Fixtures of the browser suite: redge, the fault-injecting proxy in front of it, a
headless Chromium driven over the DevTools protocol, and legacy Redis workers.

The whole suite is skipped when /usr/bin/chromium (Debian package `chromium`) or the
`websocket` module (python3-websocket) is missing.

- `redge`: a fresh redge on ephemeral ports (tests/redge_process.py), stopped and checked
  at teardown; `@pytest.mark.redge_flags(...)` gives it extra flags.
- `proxy`: a proxy.TestProxy to that redge; it also serves tests/browser/static/ under
  /test/, so the test page shares the API's origin.
- `page`: a cdp.PageSession on a fresh headless Chromium.
- `worker`: a redis-py client (one connection) on redge's RESP port.
"""

import importlib.util
import os
import pathlib
import sys

import pytest

CHROMIUM = os.environ.get("REDGE_CHROMIUM", "/usr/bin/chromium")
HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent
ARTIFACTS = TESTS / "artifacts"

sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(HERE))

_missing = []
if not os.access(CHROMIUM, os.X_OK):
    _missing.append(f"{CHROMIUM} (Debian package chromium)")
if importlib.util.find_spec("websocket") is None:
    _missing.append("the websocket module (Debian package python3-websocket)")


def pytest_collection_modifyitems(config, items):
    if not _missing:
        return
    skip = pytest.mark.skip(reason="browser suite needs " + " and ".join(_missing) +
                            "; run tools/setup.sh to install them")
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


import redge_process  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "redge_flags(*flags): extra flags of the `redge` fixture")


@pytest.fixture
def redge(tmp_path, request):
    binary = redge_process.redge_binary()
    marker = request.node.get_closest_marker("redge_flags")
    flags = marker.args if marker else ()
    gen = redge_process.server_factory(
        lambda workdir, flags: redge_process.RedgeProcess(binary, workdir, flags), tmp_path)
    start = next(gen)
    yield start(*flags)
    next(gen, None)


@pytest.fixture
def proxy(redge):
    import proxy as proxy_mod
    p = proxy_mod.TestProxy(redge.host, redge.http_port)
    yield p
    p.stop()


@pytest.fixture
def browser(tmp_path):
    import cdp
    b = cdp.Chromium(CHROMIUM, tmp_path / "chromium").start()
    yield b
    b.stop()


@pytest.fixture
def page(browser):
    return browser.page()


@pytest.fixture
def worker(redge):
    import redis
    clients = []

    def make(name="browser-worker"):
        c = redis.Redis(host=redge.host, port=redge.resp_port, decode_responses=True,
                        socket_timeout=90, socket_connect_timeout=10,
                        single_connection_client=True, client_name=name)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.close()
        except Exception:
            pass
