"""Deployment files, read as text (no Docker engine here): what they promise must hold together."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_the_image_user_can_write_its_state_directory() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    (state_dir,) = re.findall(r"^ENV TIERSYNC_STATE_DIR=(\S+)$", dockerfile, re.MULTILINE)
    user = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)[-1]
    assert re.search(rf"mkdir -p {re.escape(state_dir)} && chown {user} {re.escape(state_dir)}", dockerfile)
    assert not state_dir.startswith("/app")  # the code directory stays read-only for the user
