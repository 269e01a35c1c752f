"""Job functions of tests/frameworks/test_fw_rq.py, copied into a temp dir that is on
the `rq worker` subprocess's PYTHONPATH."""


def add(x, y):
    return x + y


def fail(message):
    raise ValueError(message)
