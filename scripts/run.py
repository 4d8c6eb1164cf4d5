"""`make run`: migrate, load demo data, then Redis, web, Celery worker and beat.

The four processes run under honcho (see Procfile) until Ctrl-C, which stops them
all. Once /healthz answers with every part ok, the addresses and demo logins are
printed.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
BASE = "http://127.0.0.1:8000"
READY_TIMEOUT_SECONDS = 180


def manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        check=False,
        text=True,
        capture_output=capture,
    )
    if result.returncode != 0:
        if capture:
            sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"make run: 'manage.py {' '.join(args)}' failed (exit {result.returncode}).")
    return result.stdout if capture else ""


def wait_until_healthy(stop: threading.Event) -> dict | None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last: dict | None = None
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(f"{BASE}/healthz", timeout=5) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            last = json.load(error)
        except OSError:
            pass
        stop.wait(1)
    return last


def announce(logins: str, stop: threading.Event) -> None:
    health = wait_until_healthy(stop)
    if stop.is_set():
        return
    healthy = health is not None and all(value == "ok" for value in health.values())
    lines = [
        "",
        "=" * 72,
        "AHA Desk is running." if healthy else f"AHA Desk started, but /healthz says: {health}",
        f"  Sign in        {BASE}/",
        f"  Specialists    {BASE}/desk/",
        f"  Sellers        {BASE}/portal/",
        f"  Managers       {BASE}/reports/",
        f"  Admin          {BASE}/admin/",
        f"  API docs       {BASE}/api/docs/",
        f"  Health         {BASE}/healthz",
        "",
        *logins.strip().splitlines(),
        "",
        "Press Ctrl-C to stop everything.",
        "=" * 72,
        "",
    ]
    print("\n".join(lines), flush=True)


def main() -> None:
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    os.environ["PYTHONUNBUFFERED"] = "1"
    (ROOT / "var").mkdir(exist_ok=True)

    print("==> migrating the database", flush=True)
    manage("migrate", "--noinput")
    print("==> loading demo data", flush=True)
    logins = manage("seed_demo", capture=True)
    print(logins, flush=True)

    honcho = subprocess.Popen([str(BIN / "honcho"), "-f", "Procfile", "start"], cwd=ROOT)
    stop = threading.Event()
    threading.Thread(target=announce, args=(logins, stop), daemon=True).start()

    def forward(signum: int, _frame: object) -> None:
        stop.set()
        honcho.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = honcho.wait()
    # Stopped by Ctrl-C or SIGTERM: a normal end, not a failure.
    sys.exit(0 if stop.is_set() else code)


if __name__ == "__main__":
    main()
