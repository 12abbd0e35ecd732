"""Small pieces of the record pages (templates/records/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from dashboard.presenters import channel_label
from funnel.metrics.formatting import format_money

register = template.Library()


@register.simple_tag
def moment(value: dt.datetime | None, as_of: dt.datetime | None = None) -> SafeString | str:
    """A timestamp in company time; one after `as_of` is marked: it does not count yet
    (kpi-spec section 1), though the record already holds it."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    text = local.strftime("%Y-%m-%d %H:%M")
    if as_of is not None and value > as_of:
        return format_html(
            '<time datetime="{}" class="after-as-of" title="{}">{}</time>',
            local.isoformat(),
            _("After the as-of moment: not counted yet"),
            text,
        )
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), text)


@register.filter
def money(value: Any) -> str:
    """An amount in company currency, `¥1,234,567` (kpi-spec section 3)."""
    return format_money(value)


@register.filter
def channel_name(key: str | None, names: Mapping[str, str] | None) -> str:
    """A channel as the dashboard shows it (dashboard.presenters.channel_label)."""
    return channel_label(key, names or {})
