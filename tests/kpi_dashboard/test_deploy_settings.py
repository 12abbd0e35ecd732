"""Production settings (README "Production"): behind TLS, with the documented variables,
`check --deploy` reports no issue; without them it warns (so the test can fail)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7-Qe0v2h9LkM4pZrT8wYb1nC6sJdF3gHuA5oEiR0tVmXyWzKqPjLsNdBcVfGhTy",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kpi_bridge_never_connected",
    "ALLOWED_HOSTS": "kpi.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://kpi.example.com",
}
BEHIND_TLS = {
    "BEHIND_TLS_PROXY": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def _check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DATABASE", "REDIS", "DJANGO_"))
    }
    env.update({"DJANGO_SETTINGS_MODULE": "kpi_dashboard.settings", **PRODUCTION, **extra})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_passes_the_deployment_checklist_behind_tls() -> None:
    done = _check_deploy(BEHIND_TLS)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no issues" in done.stdout


def test_it_warns_without_https_settings() -> None:
    done = _check_deploy({})
    assert done.returncode != 0
    assert "SECURE_HSTS_SECONDS" in done.stderr + done.stdout


def test_every_page_sends_a_content_security_policy(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
