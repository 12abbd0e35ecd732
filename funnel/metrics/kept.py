"""Results of the metrics kept per data version (funnel/data_version.py): asked again
while the data is unchanged, a question is answered from the cache instead of the rows;
any committed write to the data gives a new version, under which nothing is kept yet. So
a kept result is always the one the rows would give now (issue 16: the dashboard costs at
most one scan when warm), and a number never changes because it was kept.

A result is kept only when the version did not move while it was computed (a write that
committed meanwhile could have fed part of it). Arguments are keyed by their repr: the
metrics take frozen dataclasses, datetimes, numbers and strings, whose reprs say all."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from funnel import data_version

F = TypeVar("F", bound=Callable[..., Any])
KEEP_SECONDS = 3600
_MISSING = object()


# Settings the numbers depend on, and the language of any label a result holds.
SETTINGS = (
    "COMPANY_CURRENCY",
    "COMPANY_TIME_ZONE",
    "FISCAL_YEAR_START_MONTH",
    "HOLIDAY_COUNTRY",
    "MQL_SLA_BUSINESS_DAYS",
)


def key_of(function: Callable[..., Any], version: str, *args: Any, **kwargs: Any) -> str:
    """The cache key of `function(*args, **kwargs)` under a data version."""
    name = f"{function.__module__}.{function.__qualname__}"
    context = [getattr(settings, setting, None) for setting in SETTINGS]
    context.append(translation.get_language())
    question = repr((args, sorted(kwargs.items()), context)).encode()
    return f"kpi:{name}:{version}:{hashlib.sha256(question).hexdigest()}"


def kept(function: F) -> F:
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        version = data_version.current()
        if version is None:
            return function(*args, **kwargs)
        key = key_of(function, version, *args, **kwargs)
        found = cache.get(key, _MISSING)
        if found is not _MISSING:
            return found
        value = function(*args, **kwargs)
        if data_version.current() == version:
            cache.set(key, value, KEEP_SECONDS)
        return value

    return cast(F, wrapper)
