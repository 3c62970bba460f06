"""The core imports no I/O library (design rule): checked on the source, not by convention."""

import ast
from pathlib import Path

import worker.core

FORBIDDEN = {"zenpy", "simple_salesforce", "celery", "redis", "requests", "urllib3", "kombu", "slack_sdk",
             "prometheus_client", "jinja2", "rich", "typer", "socket", "subprocess", "http"}


def test_core_imports_no_io_library() -> None:
    offenders = []
    for path in Path(worker.core.__file__).parent.rglob("*.py"):  # subpackages too
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("worker.") and
                          not n.startswith("worker.core")]
    assert offenders == []
