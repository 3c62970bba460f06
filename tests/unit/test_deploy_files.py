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


def test_exactly_one_beat_in_every_deployment() -> None:
    import yaml

    beat = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "beat.yaml").read_text())
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert beat["spec"]["template"]["spec"]["containers"][0]["command"][:4] == ["celery", "-A", "worker", "beat"]
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())["services"]
    assert compose["beat"]["deploy"]["replicas"] == 1
    assert "-B" not in compose["worker"]["command"] and "--beat" not in compose["worker"]["command"]
    procfile = (ROOT / "Procfile").read_text()
    assert sum(line.startswith("beat:") for line in procfile.splitlines()) == 1
    assert " -B" not in procfile and "--beat" not in procfile


def test_sigterm_requeues_the_running_task_inside_every_grace_period() -> None:
    import yaml
    from celery import Celery

    from worker.celery import configure
    from worker.settings import Settings

    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^ENV REMAP_SIGTERM=SIGQUIT$", dockerfile, re.MULTILINE)  # SIGTERM starts a cold shutdown
    assert "REMAP_SIGTERM=SIGQUIT" in (ROOT / "Procfile").read_text()  # Heroku's config var, told where it runs
    app = Celery("test")
    configure(app, Settings(_env_file=None))
    soft = app.conf.worker_soft_shutdown_timeout
    worker = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "worker.yaml").read_text())
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert 0 < soft < min(10, 30, grace) - 2  # Docker's default, Heroku's, ours: time left to re-queue and exit
