"""``make run`` on the address asked for (``scripts/run.py``): HOST and PORT, and a port in use."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
RUN = [sys.executable, str(ROOT / "scripts" / "run.py")]


def run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a developer's shell: local settings, a database of its own."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PUBLIC_BASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        **extra,
    )
    return env


def test_a_port_in_use_is_said_in_one_line_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            RUN,
            env=run_env(tmp_path, PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"make run: 127.0.0.1:{port} is already in use; "
        f"choose another port, e.g. make run PORT={port + 1}."
    )
    assert result.stdout == ""  # nothing migrated, nothing started
    assert not (tmp_path / "run.sqlite3").exists()


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_port_that_is_not_a_port_is_refused_in_one_line(tmp_path, port):
    result = subprocess.run(
        RUN,
        env=run_env(tmp_path, PORT=port),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"make run: PORT={port!r} is not a port: give a number from 1 to 65535."
    )


def healthz(base: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)
    except OSError:
        return None


@pytest.mark.integration
def test_make_run_serves_on_the_port_asked_for_and_says_where(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        RUN,
        env=run_env(tmp_path, HOST="127.0.0.1", PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    announced = f"  Sign in        {base}/"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if any(line.rstrip("\n") == announced for line in lines):
                break
            time.sleep(1)
        # Announced once every part answered: web on the port asked for, Redis, a worker.
        assert any(line.rstrip("\n") == announced for line in lines), "".join(lines)[-3000:]
        assert healthz(base) == {"database": "ok", "redis": "ok", "celery": "ok"}
        assert f"  Health         {base}/healthz\n" in lines
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
    assert process.returncode == 0, "".join(lines)[-3000:]
