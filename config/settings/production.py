"""Production: every secret and address must come from the environment.

Passes ``manage.py check --deploy`` without warnings (tested).
"""

from config.env import ConfigError

from .base import *

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    raise ConfigError("DEBUG", "must be false in production")

SECRET_KEY = env.str("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
    raise ConfigError("SECRET_KEY", "must be at least 50 random characters")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.database("DATABASE_URL", base_dir=BASE_DIR)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = env.url("REDIS_URL", schemes=("redis", "rediss"))
CELERY_BROKER_URL = REDIS_URL
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", schemes=("https",)).rstrip("/")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# HTTPS everywhere, behind a proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# The proxy appends the caller's address to X-Forwarded-For: throttles and sign-in
# lock-outs count that address, not the proxy's (config.security.client_ip).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "NUM_PROXIES": env.int("NUM_PROXIES", default=1, minimum=0),
}
# Throttle counts shared by every web process (the default cache is per process).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Short waits: an unreachable Redis lets requests through unthrottled, quickly.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
}
# The API's schema and Swagger UI only for signed-in users and tokens.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEMO_DATA_ALLOWED = False
