"""`GET /healthz` against a real Redis and a real Celery worker process."""

import pytest
from django.test import override_settings

from tests.conftest import broker

pytestmark = pytest.mark.integration


def get_health(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_all_parts_ok_with_redis_and_a_worker(client, redis_process, start_worker):
    start_worker(redis_process.url)
    with override_settings(REDIS_URL=redis_process.url), broker(redis_process.url):
        assert get_health(client) == (200, {"database": "ok", "redis": "ok", "celery": "ok"})


@pytest.mark.django_db
def test_stopping_redis_turns_health_to_503_naming_redis(client, redis_process, start_worker):
    start_worker(redis_process.url)
    with override_settings(REDIS_URL=redis_process.url), broker(redis_process.url):
        assert get_health(client)[0] == 200
        redis_process.stop()
        status, body = get_health(client)
    assert status == 503
    assert body["database"] == "ok"
    assert body["redis"].startswith("error: ConnectionError")
    assert body["celery"] == "error: not asked, the broker (Redis) is unreachable"


@pytest.mark.django_db
def test_no_worker_turns_health_to_503_naming_celery(client, redis_process):
    with override_settings(REDIS_URL=redis_process.url), broker(redis_process.url):
        status, body = get_health(client)
    assert status == 503
    assert body == {
        "database": "ok",
        "redis": "ok",
        "celery": "error: no worker answered a ping within 1.0 s",
    }


def test_health_is_public_and_read_only(client):
    assert client.post("/healthz").status_code == 405
