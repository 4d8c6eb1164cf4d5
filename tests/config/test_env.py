from pathlib import Path

import pytest

from config.env import REQUIRED, ConfigError, Env


def test_missing_required_variable_names_it():
    with pytest.raises(ConfigError, match=r"^SECRET_KEY: is required but not set$"):
        Env({}).str("SECRET_KEY", REQUIRED)


def test_blank_value_counts_as_missing():
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS: is required"):
        Env({"ALLOWED_HOSTS": "   "}).list("ALLOWED_HOSTS")


def test_defaults_apply_when_unset():
    env = Env({})
    assert env.bool("DEBUG", default=False) is False
    assert env.int("EMAIL_PORT", default=25) == 25
    assert env.list("ALLOWED_HOSTS", default=["localhost"]) == ["localhost"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("Yes", True), ("off", False), ("FALSE", False)]
)
def test_booleans_accept_the_usual_spellings(raw, expected):
    assert Env({"DEBUG": raw}).bool("DEBUG", default=False) is expected


def test_malformed_boolean_says_what_is_allowed():
    with pytest.raises(ConfigError, match=r"^DEBUG: must be one of true/false.*\(got 'maybe'\)$"):
        Env({"DEBUG": "maybe"}).bool("DEBUG", default=False)


def test_integer_checks_number_and_minimum():
    with pytest.raises(ConfigError, match="EMAIL_PORT: must be a whole number"):
        Env({"EMAIL_PORT": "twenty"}).int("EMAIL_PORT", default=25)
    with pytest.raises(ConfigError, match="EMAIL_PORT: must be at least 1"):
        Env({"EMAIL_PORT": "0"}).int("EMAIL_PORT", default=25, minimum=1)


def test_list_splits_on_commas():
    assert Env({"ALLOWED_HOSTS": "a.test, b.test,,"}).list("ALLOWED_HOSTS") == ["a.test", "b.test"]


def test_url_with_wrong_scheme_is_refused():
    with pytest.raises(
        ConfigError, match=r"REDIS_URL: must be a URL starting with redis or rediss://"
    ):
        Env({"REDIS_URL": "http://localhost:6379"}).url("REDIS_URL", schemes=("redis", "rediss"))


def test_sqlite_database_url_is_relative_to_the_project_or_absolute(tmp_path):
    env = Env({"DATABASE_URL": "sqlite:///db.sqlite3"})
    assert env.database("DATABASE_URL", base_dir=tmp_path)["NAME"] == str(tmp_path / "db.sqlite3")
    env = Env({"DATABASE_URL": "sqlite:////var/lib/aha/aha.db"})
    assert env.database("DATABASE_URL", base_dir=tmp_path)["NAME"] == "/var/lib/aha/aha.db"


def test_postgres_database_url_is_split_into_django_fields():
    env = Env({"DATABASE_URL": "postgres://aha:s3cret@db.internal:6432/aha_desk?sslmode=require"})
    config = env.database("DATABASE_URL", base_dir=Path("/srv"))
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("aha_desk", "aha", "s3cret")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6432")
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_database_url_errors_hide_the_password():
    env = Env({"DATABASE_URL": "postgres://aha:s3cret@db.internal:6432/"})
    with pytest.raises(ConfigError) as error:
        env.database("DATABASE_URL", base_dir=Path("/srv"))
    assert str(error.value).startswith("DATABASE_URL: must name the database")
    assert "s3cret" not in str(error.value)


def test_database_url_with_unknown_scheme_is_refused():
    with pytest.raises(
        ConfigError, match="DATABASE_URL: must be a URL starting with sqlite or postgres"
    ):
        Env({"DATABASE_URL": "mysql://localhost/aha"}).database(
            "DATABASE_URL", base_dir=Path("/srv")
        )


def test_secret_values_are_never_echoed():
    with pytest.raises(ConfigError) as error:
        Env({"SECRET_KEY_LENGTH": "abc"}).int("SECRET_KEY_LENGTH", default=1)
    assert "abc" not in str(error.value)


def test_phone_number_must_be_e164():
    assert Env({"TWILIO_FROM_NUMBER": "+15005550006"}).e164("TWILIO_FROM_NUMBER") == "+15005550006"
    with pytest.raises(
        ConfigError, match=r"TWILIO_FROM_NUMBER: must be a phone number in E\.164 form"
    ):
        Env({"TWILIO_FROM_NUMBER": "(500) 555-0006"}).e164("TWILIO_FROM_NUMBER")
