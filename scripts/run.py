"""`make run`: migrate, load demo data, then Redis, web, Celery worker and beat.

The four processes run under honcho (see Procfile) until Ctrl-C, which stops them
all. Once /healthz answers with every part ok, the addresses and demo logins are
printed.

The web server listens on ``HOST``:``PORT`` (127.0.0.1:8000 unless told:
``make run HOST=0.0.0.0 PORT=8080``, or the same as environment variables).
``PUBLIC_BASE_URL`` follows them unless it is given. A port already in use, or a
port that is not a port, is said in one line before anything starts.
"""

import ipaddress
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

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
READY_TIMEOUT_SECONDS = 180
# Binding these listens on every interface; the browser still reaches it locally.
WILDCARDS = {"0.0.0.0", "::"}  # noqa: S104 - only when asked for


def listen_address(environ: dict[str, str]) -> tuple[str, int]:
    """``HOST`` and ``PORT`` from the environment, checked; exits with one line if wrong."""
    host = environ.get("HOST", "").strip() or DEFAULT_HOST
    raw_port = environ.get("PORT", "").strip() or str(DEFAULT_PORT)
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        sys.exit(f"make run: PORT={raw_port!r} is not a port: give a number from 1 to 65535.")
    return host, int(raw_port)


def refuse_if_taken(host: str, port: int) -> None:
    """Exits with one line when ``host:port`` cannot be listened on (in use, or no such host)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == 98:  # EADDRINUSE
                sys.exit(
                    f"make run: {host}:{port} is already in use; "
                    f"choose another port, e.g. make run PORT={port + 1}."
                )
            sys.exit(f"make run: cannot listen on {host}:{port}: {error.strerror}.")


def browser_base(host: str, port: int) -> str:
    """The address to open in a browser on this machine."""
    shown = "127.0.0.1" if host in WILDCARDS else host
    try:
        if ipaddress.ip_address(shown).version == 6:
            shown = f"[{shown}]"
    except ValueError:
        pass  # a host name
    return f"http://{shown}:{port}"


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


def wait_until_healthy(base: str, stop: threading.Event) -> dict | None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last: dict | None = None
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            last = json.load(error)
        except OSError:
            pass
        stop.wait(1)
    return last


def announce(logins: str, base: str, host: str, stop: threading.Event) -> None:
    health = wait_until_healthy(base, stop)
    if stop.is_set():
        return
    healthy = health is not None and all(value == "ok" for value in health.values())
    lines = [
        "",
        "=" * 72,
        "AHA Desk is running." if healthy else f"AHA Desk started, but /healthz says: {health}",
        f"  Sign in        {base}/",
        f"  Specialists    {base}/desk/",
        f"  Sellers        {base}/portal/",
        f"  Managers       {base}/reports/",
        f"  Admin          {base}/admin/",
        f"  API docs       {base}/api/docs/",
        f"  Health         {base}/healthz",
        *(
            [f"  Listening on every interface ({host}); links and emails use {base}."]
            if host in WILDCARDS
            else []
        ),
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
    host, port = listen_address(dict(os.environ))
    refuse_if_taken(host, port)
    base = browser_base(host, port)
    os.environ.setdefault("PUBLIC_BASE_URL", base)
    if host in WILDCARDS:
        # Reached by this machine's other names and addresses too (a local demo only).
        os.environ.setdefault("ALLOWED_HOSTS", "*")
    elif host not in {"127.0.0.1", "localhost"}:
        os.environ.setdefault("ALLOWED_HOSTS", f"127.0.0.1,localhost,{host}")
    # The Procfile's web process listens here (honcho sets PORT for each process itself).
    os.environ["AHA_WEB_ADDRESS"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
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
    threading.Thread(target=announce, args=(logins, base, host, stop), daemon=True).start()

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
