"""Fixtures for the real parts the suite runs against: Redis, a Celery worker, Chromium."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connections
from hypothesis import settings as hypothesis_settings

from config.celery import app as celery_app
from config.local_redis import redis_server_binary
from tests.twilio_fake import twilio_fake

# The Twilio stand-in (tests/twilio_fake.py) for every test that places calls or texts.
__all__ = ["twilio_fake"]

ROOT = Path(__file__).resolve().parent.parent

# `make test` (and so CI) loads "ci": examples are derived from each test's name, so a run is
# repeatable. Plain pytest explores new examples each run.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.3).ping())
    except redis.RedisError:
        return False


class RedisProcess:
    """A real redis-server on loopback that a test can stop."""

    def __init__(self, port: int, directory: Path) -> None:
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's Redis (settings.REDIS_URL): the one `make test` started, else our own."""
    url = settings.REDIS_URL
    if _answers(url):
        yield url
        return
    server = RedisProcess(urlsplit(url).port or 6379, tmp_path_factory.mktemp("redis"))
    yield url
    server.stop()


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    """A private Redis for a test that stops it."""
    server = RedisProcess(free_port(), tmp_path)
    yield server
    server.stop()


def _use_broker(url: str) -> None:
    # kombu keeps one pool per broker address for the whole process; dropping the app's
    # references makes it look up (or create) the pool of the new address.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Points this process's Celery app at another broker for the duration."""
    previous = celery_app.conf.broker_url
    _use_broker(url)
    try:
        yield
    finally:
        _use_broker(previous)


def _celery_environment(broker_url: str, extra: dict[str, str] | None) -> dict[str, str]:
    environment = dict(os.environ)
    if environment.pop("PYTHONDONTWRITEBYTECODE", None):
        # `make test` writes no bytecode into the tree; without any, each process compiles
        # Django, DRF and the project again (seconds each). Cache it outside the tree.
        environment["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "aha-pycache")
    return {
        **environment,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "AHA_TEST_REDIS_URL": broker_url,
        # Tasks a worker sends (deliveries after a sweep) go to the broker, and beat sends
        # its tasks instead of running them in its own process.
        "AHA_TEST_EAGER": "0",
        **(extra or {}),
    }


def database_url() -> str:
    """The URL of the database this test uses (the test database), for other processes."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("other processes share the test database on PostgreSQL only")
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or "127.0.0.1"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(database['NAME'], safe='')}"


class WorkerProcess:
    """A real `celery worker` process with the test settings, on a given broker.

    ``pool="prefork"`` with a ``concurrency`` runs child processes, as in production;
    ``env`` adds to the environment (a ``DATABASE_URL``, ``AHA_QUIET_HOURS``...).
    """

    def __init__(
        self,
        broker_url: str,
        log: Path,
        *,
        pool: str = "solo",
        concurrency: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--pool={pool}",
                *([f"--concurrency={concurrency}"] if concurrency else []),
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                f"--hostname={self.name}",
            ],
            cwd=ROOT,
            env=_celery_environment(broker_url, env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log.read_text()}")
            if celery_app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(
            f"celery worker did not answer within {timeout} s:\n{self.log.read_text()}"
        )

    def kill(self) -> None:
        """SIGKILL, as when the machine dies: the worker and its pool's children, at once."""
        if self.process.poll() is not None:
            return
        children = _children_of(self.process.pid)
        self.process.kill()
        for pid in children:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _children_of(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in listed.split()]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts real Celery workers on a broker URL; all are stopped after the test.

    Keyword arguments go to :class:`WorkerProcess` (pool, concurrency, env).
    """
    workers: list[WorkerProcess] = []

    def start(broker_url: str, **options: Any) -> WorkerProcess:
        worker = WorkerProcess(broker_url, tmp_path / f"worker-{len(workers)}.log", **options)
        workers.append(worker)
        with broker(broker_url):
            worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


class BeatProcess:
    """A real `celery beat` process with the test settings, its schedule file in ``directory``.

    The sweep's interval comes from ``AHA_SWEEP_INTERVAL_SECONDS`` in ``env``.
    """

    def __init__(self, broker_url: str, directory: Path, *, env: dict[str, str] | None = None):
        self.log = directory / "beat.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                f"--schedule={directory / 'celerybeat-schedule'}",
            ],
            cwd=ROOT,
            env=_celery_environment(broker_url, env),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery beat exited early:\n{self.log.read_text()}")
            if "beat: Starting" in self.log.read_text():
                return
            time.sleep(0.1)
        raise RuntimeError(f"celery beat did not start within {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_beat(tmp_path: Path) -> Iterator[Callable[..., BeatProcess]]:
    """Starts a real Celery beat on a broker URL (one per test); stopped after the test."""
    started: list[BeatProcess] = []

    def start(broker_url: str, *, env: dict[str, str] | None = None) -> BeatProcess:
        directory = tmp_path / f"beat-{len(started)}"
        directory.mkdir()
        beat = BeatProcess(broker_url, directory, env=env)
        started.append(beat)
        beat.wait_ready()
        return beat

    yield start
    for beat in started:
        beat.stop()


@pytest.fixture
def browser_page(live_server, monkeypatch: pytest.MonkeyPatch):
    """A page in Debian's headless Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed: `make test` installs it (Debian package chromium).")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # test itself (setting up data) are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()
        # Playwright's greenlets give this block its own context variables, where Django
        # keeps its connections: close the ones the test opened here, or PostgreSQL
        # cannot drop the test database at the end.
        connections.close_all()


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = settings.DATABASES["default"]
    return [
        f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}",
        f"redis: {settings.REDIS_URL}",
    ]


DATA_MIGRATIONS = [
    "accounts.migrations.0002_roles",
    "sellers.migrations.0002_stores_and_roles",
    "sellers.migrations.0009_notification_view_permissions",
    "cases.migrations.0002_roles",
    "cases.migrations.0006_deadline_warning_permission",
    "cases.migrations.0007_correct_case_permission",
    "staff.migrations.0002_roles",
]


def _uses_database(request: pytest.FixtureRequest) -> bool:
    return bool(
        request.node.get_closest_marker("django_db")
        or {"db", "transactional_db", "live_server", "client", "admin_client"}
        & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """A transactional test ends by emptying every table, data migrations' rows included.

    Before a test that uses the database, put the roles and stores back as the data
    migrations wrote them, outside the test's own transaction.
    """
    if not _uses_database(request):
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.models import Group

    with blocker.unblock():
        if Group.objects.filter(name="sellers").exists():
            return
        for module in DATA_MIGRATIONS:
            import_module(module).forwards(apps, None)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a service as if its transaction committed, so what it queues after commit (the
    sweep, the emails) runs too. The test itself runs inside one transaction, where
    on-commit callbacks never fire."""

    def run(service, /, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return run


# --- API clients, one per role (tokens from issue_api_token, as clients get them) ----------


@pytest.fixture
def upstream_api(db):
    """An upstream system's token: pushes the feed and opens cases."""
    from tests.builders import api_client

    return api_client(name="upstream-test")


@pytest.fixture
def specialist_api(db):
    """A token acting as an on-duty specialist of no store in particular."""
    from tests.builders import api_client
    from tests.factories import SpecialistFactory

    return api_client(SpecialistFactory().user, name="desk-specialist")


@pytest.fixture
def manager_api(db):
    from accounts.roles import Role
    from tests.builders import api_client
    from tests.factories import UserFactory

    return api_client(UserFactory(role=Role.MANAGER), name="desk-manager")


@pytest.fixture
def seller_api(db):
    """A token acting as the login of seller ``S-MINE`` (``seller_api.seller``)."""
    from accounts.roles import Role
    from tests.builders import api_client
    from tests.factories import SellerFactory, UserFactory

    seller = SellerFactory(seller_id="S-MINE")
    login = UserFactory(role=Role.SELLER)
    seller.users.add(login)
    client = api_client(login, name="seller-portal")
    client.seller = seller
    return client
