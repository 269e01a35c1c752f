"""Words that mean nothing to a reader stay out of the documentation, the code's comments
and the tests: the /chat routes and the legacy key layout are "the chat API" and "the
Redis key layout" of the chat deployments redge replaces (issue 11, item 13)."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Spelled in pieces so this file does not match itself.
BANNED = re.compile("seed" + r"[ _-]?(chat|style|worker|template|flags|queue)", re.IGNORECASE)
SUFFIXES = {".md", ".cc", ".h", ".py", ".js", ".sh", ".conf", ".html", ".css", ".txt", ""}


def test_no_meaningless_wording():
    hits = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if not path.is_file() or rel.parts[0] in (".git",) or rel.parts[0].startswith("build"):
            continue
        if path.suffix not in SUFFIXES:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if BANNED.search(line):
                hits.append(f"{rel}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)
