"""Fixtures of the browser suite: redge, the fault-injecting proxy in front of it, a
headless Chromium driven over the DevTools protocol, and legacy Redis workers.

The whole suite is skipped when /usr/bin/chromium (Debian package `chromium`) or the
`websocket` module (python3-websocket) is missing, except under CI (.ci/run), where that
stops the run with an error.

- `redge_factory(*flags)`: starts redge processes with extra flags on ephemeral ports
  (tests/redge_process.py), stopped and checked at teardown; `redge`: one with defaults,
  or with the flags of `@pytest.mark.redge_flags(...)`.
- `proxy`: a proxy.TestProxy to `redge`; it also serves tests/browser/static/ under
  /test/, so the test page shares the API's origin. `proxy_factory(server)` makes one for
  another server.
- `page`: a cdp.PageSession on a fresh headless Chromium.
- `worker(name, server=None)`: a redis-py client (one connection) on a RESP port.
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
    if redge_process.every_test_must_run():
        raise pytest.UsageError("browser suite needs " + " and ".join(_missing) +
                                " (under CI every test must run: install what is missing)")
    skip = pytest.mark.skip(reason="browser suite needs " + " and ".join(_missing) +
                            "; run tools/setup.sh to install them")
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


import redge_process  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "redge_flags(*flags): extra flags of the `redge` fixture")


@pytest.fixture
def redge_factory(tmp_path):
    binary = redge_process.redge_binary()
    yield from redge_process.server_factory(
        lambda workdir, flags: redge_process.RedgeProcess(binary, workdir, flags), tmp_path)


@pytest.fixture
def redge(redge_factory, request):
    marker = request.node.get_closest_marker("redge_flags")
    return redge_factory(*(marker.args if marker else ()))


@pytest.fixture
def proxy_factory():
    import proxy as proxy_mod
    proxies = []

    def make(server):
        p = proxy_mod.TestProxy(server.host, server.http_port)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.stop()


@pytest.fixture
def proxy(redge, proxy_factory):
    return proxy_factory(redge)


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
def page_factory(tmp_path):
    """page_factory(trust_ca=PEM): a page of a fresh Chromium whose NSS database trusts
    that CA (cdp.Chromium)."""
    import cdp
    browsers = []

    def make(trust_ca=None):
        b = cdp.Chromium(CHROMIUM, tmp_path / f"chromium{len(browsers)}", trust_ca=trust_ca).start()
        browsers.append(b)
        return b.page()

    yield make
    for b in browsers:
        b.stop()


@pytest.fixture
def worker(request):
    """make(name, server=None): a redis-py client on one connection to `server` (default:
    the `redge` fixture's)."""
    import redis
    clients = []

    def make(name="browser-worker", server=None):
        server = server or request.getfixturevalue("redge")
        c = redis.Redis(host=server.host, port=server.resp_port, decode_responses=True,
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
