"""Fixtures of the Celery bridge suite (tests/celery): a real redge, real Celery 5.2
workers (Debian's python3-celery) as subprocesses, a producer app, and redge's HTTP API.

- `celery_env`: one redge and one worker (w1, prefork, concurrency 2) per module, for
  tests that need nothing of their own.
- `redge_factory(*flags)`: a fresh redge for a test (stopped and checked at teardown).
- `procs`: subprocesses of one test, SIGKILLed at teardown.

A failing test's report gets the logs of its subprocesses and the server's log tail, as in
tests/frameworks (whose helpers, fw_support.py, this suite reuses).
"""

import types

import pytest

import celery_support as cs
import fw_support

fw_support.redge_process.raise_nofile_limit()

ACTIVE = []  # servers and process groups of the running test, for failure reports


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        for proc in list(fw_support.LIVE_PROCS):
            report.sections.append((f"subprocess {proc.name}", proc.log_tail(60)))
        for target in ACTIVE:
            report.sections.append((f"server {target.name}", target.log_tail(40)))


def _start_redge(workdir, flags=()):
    target = fw_support.RedgeTarget(workdir, ["--sse-heartbeat", "1", *flags]).start()
    target.http = cs.Http(target.host, target.process.http_port)
    target.http_port = target.process.http_port
    ACTIVE.append(target)
    return target


def _stop_redge(target):
    ACTIVE.remove(target)
    problem = target.stop()
    if problem:
        pytest.fail(f"redge misbehaved: {problem}", pytrace=False)


@pytest.fixture
def redge_factory(tmp_path):
    started = []

    def make(*flags):
        t = _start_redge(tmp_path / f"server{len(started)}", flags)
        started.append(t)
        return t

    yield make
    for t in started:
        _stop_redge(t)


@pytest.fixture
def procs(tmp_path):
    group = fw_support.ProcGroup(tmp_path)
    try:
        yield group
    finally:
        group.kill_all()


@pytest.fixture(scope="module")
def celery_env(tmp_path_factory):
    """One redge, the app in a work dir, one worker w1 and a producer app."""
    target = _start_redge(tmp_path_factory.mktemp("server"))
    group = fw_support.ProcGroup(tmp_path_factory.mktemp("procs"))
    app = tasks = None
    try:
        cs.copy_app(group.workdir)
        worker = cs.start_worker(group, group.workdir, target.url, "w1")
        app = cs.client_app(target.url)
        tasks = cs.load_tasks(group.workdir, target.url)
        yield types.SimpleNamespace(target=target, http=target.http, worker=worker, app=app,
                                    tasks=tasks, workdir=group.workdir, r=target.client(),
                                    procs=group)
    finally:
        if app is not None:
            import gc
            gc.collect()  # AsyncResults unsubscribe while the server still runs
            app.close()
        if tasks is not None:
            tasks.app.close()
        group.kill_all()
        _stop_redge(target)
