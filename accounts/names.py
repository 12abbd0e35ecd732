"""A user as people read them on pages, reports and mails: their full name (family name
first for Japanese names), else their username."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


def display_name(user: Any) -> str:
    if user is None:
        return gettext("(deleted user)")
    first, last = user.first_name.strip(), user.last_name.strip()
    if first and last:
        # Japanese names read family name first.
        return f"{last} {first}" if not (first + last).isascii() else f"{first} {last}"
    return str(first or last or user.get_username())
