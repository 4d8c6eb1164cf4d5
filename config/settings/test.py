"""Settings for the test suite: fast hashing, mail kept in memory, tasks run inline."""

import os

from .base import *

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks inline. The worker and beat processes the integration tests start
# get AHA_TEST_EAGER=0: a worker must queue the tasks it sends (delivery after a sweep)
# and beat must send its tasks, not run them itself.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("AHA_TEST_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
HEALTHZ_TIMEOUT_SECONDS = 1.0
# Throttles off: the suite's requests share one address and reuse user ids, so counts
# would carry from test to test. tests/config/test_security.py switches them on.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"user": None, "anon": None, "failed_token": None},
}
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A Redis of the suite's own: `make test` starts one and says where; a bare `pytest`
# gets one on a free port, started by the `redis_server` fixture. Exported so that
# worker processes the tests start use the same one.
if "AHA_TEST_REDIS_URL" not in os.environ:
    import socket

    with socket.socket() as _probe:
        _probe.bind(("127.0.0.1", 0))
        os.environ["AHA_TEST_REDIS_URL"] = f"redis://127.0.0.1:{_probe.getsockname()[1]}/0"
REDIS_URL = os.environ["AHA_TEST_REDIS_URL"]
CELERY_BROKER_URL = REDIS_URL
