"""Fixtures of the frameworks suite: a server to run real frameworks against, and their
subprocesses.

    /usr/bin/python3 -m pytest -q tests/frameworks                          # against redge
    REDGE_TEST_TARGET=redis /usr/bin/python3 -m pytest -q tests/frameworks  # against Redis

`target` is a fresh server per test (`module_target` one per module): a real redge
(started as tests/compat does, through tests/redge_process.py) or, with
REDGE_TEST_TARGET=redis, a real redis-server on an ephemeral port. It is stopped and
checked at teardown (a crash fails the test). `procs` / `module_procs` start framework
subprocesses (Celery and RQ workers, emitters) in a temp dir; all are SIGKILLed at
teardown, and when a test fails the logs of the subprocesses still running, and the
server's log tail, are appended to its report.
"""

import pytest

import fw_support

fw_support.redge_process.raise_nofile_limit()


def pytest_report_header(config):
    return f"frameworks suite target: {fw_support.target_name()} (REDGE_TEST_TARGET)"


ACTIVE_TARGETS = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        # The commands the server refused as unknown, in order of first appearance in
        # the failure and in each subprocess's whole log: while redge lacks commands, the
        # first of them is usually why a framework stopped.
        unknown = {"test": fw_support.UNKNOWN_COMMAND_RE.findall(report.longreprtext)}
        # The test's own subprocesses: those of the `procs` / `module_procs` groups it
        # uses (directly or through another fixture).
        groups = [v for v in getattr(item, "funcargs", {}).values()
                  if isinstance(v, fw_support.ProcGroup)]
        for proc in [p for g in groups for p in g.procs if p in fw_support.LIVE_PROCS]:
            unknown[proc.name] = proc.unknown_commands()
            report.sections.append((f"subprocess {proc.name}", proc.log_tail(80)))
        for target in ACTIVE_TARGETS:
            report.sections.append((f"server {target.name}", target.log_tail(30)))
        lines = [f"{where}: {', '.join(dict.fromkeys(names))}"
                 for where, names in unknown.items() if names]
        if lines:
            report.sections.append(("unknown commands (first seen first)", "\n".join(lines)))


def _serve(workdir):
    target = fw_support.make_target(workdir).start()
    ACTIVE_TARGETS.append(target)
    try:
        yield target
    finally:
        ACTIVE_TARGETS.remove(target)
        problem = target.stop()
        if problem:
            pytest.fail(f"the {target.name} server misbehaved: {problem}", pytrace=False)


@pytest.fixture
def target(tmp_path):
    """A fresh server (redge, or redis-server with REDGE_TEST_TARGET=redis)."""
    yield from _serve(tmp_path / "server")


@pytest.fixture(scope="module")
def module_target(tmp_path_factory):
    """One server shared by the tests of a module."""
    yield from _serve(tmp_path_factory.mktemp("server"))


@pytest.fixture
def procs(tmp_path):
    """Starts subprocesses in tmp_path (procs.start(name, args, env)); kills them all at
    teardown."""
    group = fw_support.ProcGroup(tmp_path)
    try:
        yield group
    finally:
        group.kill_all()


@pytest.fixture(scope="module")
def module_procs(tmp_path_factory):
    group = fw_support.ProcGroup(tmp_path_factory.mktemp("procs"))
    try:
        yield group
    finally:
        group.kill_all()
