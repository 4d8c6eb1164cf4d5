"""Settings shared by every environment.

Everything that varies between machines comes from the environment through
``config.env`` (see the README's "Configuration" table); domain thresholds live in
the ``AHA`` block at the end.
"""

import datetime as dt
from pathlib import Path

from celery.schedules import crontab

from config.env import ConfigError, env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- Core --------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", "insecure-local-key-change-me-in-production-0123456789abcdef")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address Twilio and emails use to reach us; webhook signatures are checked against it.
PUBLIC_BASE_URL = env.url(
    "PUBLIC_BASE_URL", default="http://127.0.0.1:8000", schemes=("http", "https")
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "phonenumber_field",
    "axes",
    "csp",
    "accounts",
    "notifications",
    "sellers",
    "staff",
    "cases",
    "reports",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY), then Permissions-Policy and
    # no-store on personal pages (PERMISSIONS_POLICY, NO_STORE_PATH_PREFIXES).
    "csp.middleware.CSPMiddleware",
    "config.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A domain error a page view lets through: a page with its HTTP status (409, 400, ...).
    "config.problem_details.ProblemPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a sign-in refused during a lock-out into the login page
    # with the lock-out message (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.notification_bell",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL", "sqlite:///db.sqlite3", base_dir=BASE_DIR)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; a busy timeout instead of
    # "database is locked" when two processes write at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# axes first: it refuses a locked-out username before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lock-out (django-axes), on /accounts/login/ and /admin/login/ alike: after
# AXES_FAILURE_LIMIT wrong passwords for one username from one address, that username
# is refused from that address, even with the right password, for AXES_COOLOFF_TIME;
# every try during the lock starts it again. Tries are counted in the database (admin:
# "Access attempts"); `manage.py axes_reset_username USERNAME` lifts a lock early.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A good sign-in clears the failures counted for that username and address.
AXES_RESET_ON_SUCCESS = True
# The login page again, with the lock-out message, as 429 with Retry-After.
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
# The same address as the API throttles see (REST_FRAMEWORK["NUM_PROXIES"]).
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
# Masked in axes' logs and in the form data it stores (the password always is). The
# username and address stay readable: they are what a lock-out log is for.
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, styles and everything else from our own
# origin only, no inline script or style (templates link static/js and static/css);
# data: images for the Swagger UI's icons. Loosen a directive here, never in a template.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Permissions-Policy: browser features no page of ours uses, switched off for every page
# (a feature with ["self"] would allow it for our own origin).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
# Pages with personal data answer Cache-Control: no-store (nothing kept by the browser
# or a proxy). Paths are matched by prefix.
NO_STORE_PATH_PREFIXES = ("/portal/", "/desk/", "/admin/", "/reports/", "/accounts/", "/api/v1/")

# --- Internationalisation ----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email -------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10, minimum=1)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "AHA Desk <aha-desk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Twilio ------------------------------------------------------------------------
# All three or none: without them the console adapter logs what would be sent.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env.e164("TWILIO_FROM_NUMBER", "")
_twilio = {
    "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
    "TWILIO_FROM_NUMBER": TWILIO_FROM_NUMBER,
}
if any(_twilio.values()):
    for _name, _value in _twilio.items():
        if not _value:
            others = ", ".join(n for n, v in _twilio.items() if v)
            raise ConfigError(_name, f"is required when {others} is set")
    if not (TWILIO_ACCOUNT_SID.startswith("AC") and len(TWILIO_ACCOUNT_SID) == 34):
        raise ConfigError("TWILIO_ACCOUNT_SID", "must be 34 characters starting with AC")
# Twilio Verify service for emergency-contact codes (VA...); needed with Twilio only.
TWILIO_VERIFY_SERVICE_SID = env.str("TWILIO_VERIFY_SERVICE_SID", "")
if TWILIO_ACCOUNT_SID and not TWILIO_VERIFY_SERVICE_SID.startswith("VA"):
    raise ConfigError("TWILIO_VERIFY_SERVICE_SID", "is required with Twilio and starts with VA")
# Where the SDK sends its requests; only tests change it (a local stand-in for Twilio).
TWILIO_API_BASE_URL = env.url("TWILIO_API_BASE_URL", "", schemes=("http", "https")).rstrip("/")
TWILIO_TIMEOUT_SECONDS = env.int("TWILIO_TIMEOUT_SECONDS", default=10, minimum=1)
# The number a connected call is bridged to when the assigned specialist has no phone.
AHA_DESK_PHONE = env.e164("AHA_DESK_PHONE", "")
# "twilio" or "console"; by default Twilio when its credentials are set.
NOTIFICATIONS_CHANNELS = env.str(
    "NOTIFICATIONS_CHANNELS", "twilio" if TWILIO_ACCOUNT_SID else "console"
)

# --- Redis and Celery --------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Long waits live in the database (next_action_at), so no task should ever sit in
# Redis longer than this; see docs/domain.md "Outreach and timers".
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# One entry per periodic job; the entry's name is the task's dotted path.
CELERY_BEAT_SCHEDULE = {
    "accounts.tasks.clear_expired_sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # After the marketplace's nightly AHR push: enroll and remove for the new day.
    "sellers.tasks.evaluate_assurance": {
        "task": "sellers.tasks.evaluate_assurance",
        "schedule": crontab(hour=6, minute=0),
    },
    # Enrollment emails whose task never reached a worker (Redis was down at commit).
    "sellers.tasks.send_pending_enrollment_emails": {
        "task": "sellers.tasks.send_pending_enrollment_emails",
        "schedule": crontab(minute="*/5"),
    },
    # Notifications posted with an email that never reached a worker.
    "sellers.tasks.send_notification_emails": {
        "task": "sellers.tasks.send_notification_emails",
        "schedule": crontab(minute="*/5"),
    },
    # Daily, in the morning of most stores: plan steps the seller owns that are due soon.
    "cases.tasks.announce_plan_steps_due": {
        "task": "cases.tasks.announce_plan_steps_due",
        "schedule": crontab(hour=7, minute=30),
    },
    # The timers: calls, warnings and escalations that are due, and deliveries to retry.
    "cases.tasks.sweep_due_cases": {
        "task": "cases.tasks.sweep_due_cases",
        "schedule": float(env.int("AHA_SWEEP_INTERVAL_SECONDS", default=60, minimum=1)),
    },
}

# --- REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's TokenAuthentication, with failed tries throttled per address.
        "config.security.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # DRF's parsers, JSON with limits: nesting (AHA["JSON_MAX_DEPTH"]) and size
    # (AHA["JSON_MAX_BODY_BYTES"]) refused before decoding (config.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Every error as an RFC 9457 problem (application/problem+json).
    "EXCEPTION_HANDLER": "config.problem_details.exception_handler",
    # Throttles (config.security), each answering 429 with Retry-After: "user" per user or
    # upstream system, "anon" per address for requests without credentials (the schema
    # and docs), "failed_token" for wrong tokens from one address (then every token from
    # it is refused until the minute is over). Generous for the upstream feeds.
    "DEFAULT_THROTTLE_CLASSES": [
        "config.security.AnonThrottle",
        "config.security.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": "10000/hour",
        "anon": "60/min",
        "failed_token": "20/min",
    },
    # Proxies in front of us that append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
    # The caller's address for the throttles and the sign-in lock-out (config.security).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0, minimum=0),
}
# /api/schema/ and /api/docs/ without signing in (production: a sign-in is needed).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)
SPECTACULAR_SETTINGS = {
    "TITLE": "AHA Desk API",
    "DESCRIPTION": "Account Health Assurance: sellers, health feed, cases and call backs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Enums as components (drf-spectacular's default hook), then minLength 1 on each
    # required string of a request body (DRF refuses a blank one).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.problem_details.required_strings_not_blank",
    ],
    # Two models have a "status" field with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.Case.Status",
        "ContactAttemptStatusEnum": "notifications.models.ContactAttempt.Status",
        "ViolationStatusEnum": "sellers.models.Violation.Status",
        "SellerNotificationKindEnum": "sellers.models.SellerNotification.Kind",
        "CaseKindEnum": "cases.models.Case.Kind",
    },
}

# --- Health check ------------------------------------------------------------------
HEALTHZ_TIMEOUT_SECONDS = 1.5

# --- Logging -----------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_contacts": {"()": "config.logging.MaskContactsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_contacts"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The SDK logs every request's headers at INFO; its errors reach us as exceptions.
        "twilio.http_client": {"level": "WARNING"},
    },
}

# --- Demo data ---------------------------------------------------------------------
# seed_demo creates users with published passwords: never in production.
DEMO_DATA_ALLOWED = True
DEMO_PASSWORD = "aha-demo-2026"  # noqa: S105 - published on purpose, local only

# --- Domain rules (docs/domain.md) ------------------------------------------------------
AHA = {
    # Enrollment: AHR below this counts as a bad day ("AHA eligibility", rule 3).
    "AHR_THRESHOLD": 250,
    # ...and at most this many bad days fit in the trailing window.
    "MAX_DAYS_BELOW_THRESHOLD": 10,
    # Length of the trailing window, in calendar months (rule 2).
    "WINDOW_MONTHS": 6,
    # Warn an enrolled seller by email when this many of the allowed bad days are used.
    "WARN_AT_DAYS_BELOW": 8,
    # An enrolled seller whose emergency contact stops being valid is warned at once and
    # keeps the programme this many days to verify a number again.
    "CONTACT_GRACE_DAYS": 7,
    # POST /api/v1/ahr/ takes at most this many rows a request.
    "AHR_API_MAX_ROWS": 10_000,
    # POST /api/v1/violations/ takes at most this many violations a request.
    "VIOLATIONS_API_MAX_ITEMS": 10_000,
    # The AHR feed (API and import_ahr) refuses a row for a day more than this many days
    # ago: a year 0001 value would make any seller "six months old" at once.
    "AHR_MAX_AGE_DAYS": 400,
    # A JSON body may nest arrays and objects this deep (the feeds need 2); deeper is a
    # 400 before decoding, which would otherwise recurse once per level.
    "JSON_MAX_DEPTH": 32,
    # A JSON body may have this many bytes (10,000 AHR rows are about 1 MB); more is 413.
    "JSON_MAX_BODY_BYTES": 10 * 1024 * 1024,
    # A provider's time for a status (Twilio's Timestamp) further than this from ours is
    # not believed: our time is recorded, and the history entry says so.
    "PROVIDER_TIME_MAX_SKEW_HOURS": 24,
    # The promise: reach the seller within this many hours of a case opening.
    "REACH_DEADLINE_HOURS": 72,
    # Outreach ("Outreach and timers"): the first call at once, then these retries,
    # counted in hours from the opening, until the seller is reached.
    "RETRY_AFTER_HOURS": (4, 24, 48, 66),
    # Automated calls and texts wait outside these local hours of the seller (start, end);
    # AHA_QUIET_HOURS=off switches them off. The deadline counts on regardless.
    "QUIET_HOURS": env.time_range("AHA_QUIET_HOURS", (dt.time(21), dt.time(8))),
    # Warn the assigned specialist and the holders of cases.receive_deadline_warnings
    # (managers) when this little time is left.
    "WARN_HOURS_LEFT": (24, 6),
    # In remediation: no seller activity for this many days gives a warning, and this
    # many days more after the warning, escalation for non-cooperation.
    "INACTIVITY_WARN_DAYS": 14,
    "INACTIVITY_GRACE_DAYS": 7,
    # Account health (issue 15): a seller whose rating leaves Healthy gets an account-health
    # case, whose first call is due within this many business days (Monday to Friday, in
    # the seller's time zone), and which closes by itself once the rating has been Healthy
    # this many days in a row.
    "HEALTH_FIRST_ATTEMPT_BUSINESS_DAYS": 1,
    "HEALTH_RECOVERY_DAYS": 14,
    # Plan steps owned by the seller are announced on the portal (and by email) when
    # they are due within this many days.
    "PLAN_STEP_DUE_SOON_DAYS": 2,
    # Deliveries that fail for a passing reason (Twilio 5xx, SMTP timeouts) are tried this
    # many times in all, waiting 1, 2, 4... minutes between tries, then recorded as failed.
    "DELIVERY_MAX_TRIES": 4,
    # The sweep locks and acts on this many due cases per transaction.
    "SWEEP_BATCH_SIZE": 50,
    # Emergency-contact codes: wrong codes allowed before a lock-out, its length, and how
    # many codes may be sent an hour.
    "VERIFY_MAX_WRONG_CODES": 5,
    "VERIFY_LOCKOUT_MINUTES": 30,
    "VERIFY_MAX_SENDS_PER_HOUR": 5,
    # A code is good for this long (Twilio Verify's default).
    "VERIFY_CODE_VALID_MINUTES": 10,
}
