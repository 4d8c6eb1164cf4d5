"""Start-up with a bad environment stops with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD_PRODUCTION_ENV = {
    "SECRET_KEY": "k3#9fQ!zP0w@Lm2^vB7xR$1tY8uN4cE6hJ5gD%aS*eW&iO(pK)qZ-lX+sC=nV_bM",
    "ALLOWED_HOSTS": "aha-desk.example.com",
    "DATABASE_URL": "postgres://aha:pw@127.0.0.1:5432/aha_desk",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PUBLIC_BASE_URL": "https://aha-desk.example.com",
    "DEFAULT_FROM_EMAIL": "AHA Desk <aha@example.com>",
}


def manage(args: list[str], env: dict[str, str], settings: str = "config.settings.production"):
    base = {key: value for key, value in os.environ.items() if key not in GOOD_PRODUCTION_ENV}
    base.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": settings, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], GOOD_PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY: is required but not set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY: must be at least 50 random characters"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS: is required but not set"),
        (
            {"DATABASE_URL": "mysql://db/aha"},
            "DATABASE_URL: must be a URL starting with sqlite or postgres",
        ),
        ({"REDIS_URL": ""}, "REDIS_URL: is required but not set"),
        (
            {"PUBLIC_BASE_URL": "http://aha.example.com"},
            "PUBLIC_BASE_URL: must be a URL starting with https://",
        ),
        ({"DEBUG": "perhaps"}, "DEBUG: must be one of true/false"),
        ({"DEBUG": "true"}, "DEBUG: must be false in production"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT: must be a whole number"),
        (
            {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32},
            "TWILIO_AUTH_TOKEN: is required when TWILIO_ACCOUNT_SID is set",
        ),
    ],
)
def test_bad_environment_stops_start_up_with_one_line(change, expected):
    env = {key: value for key, value in {**GOOD_PRODUCTION_ENV, **change}.items() if value}
    result = manage(["check"], env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_local_settings_need_no_environment_at_all(tmp_path):
    result = manage(
        ["check"], {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, settings="config.settings.local"
    )
    assert result.returncode == 0, result.stderr
