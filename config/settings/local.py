"""Settings for a developer's machine (``make run``)."""

from .base import *

DEBUG = env.bool("DEBUG", default=True)
INTERNAL_IPS = ["127.0.0.1"]
