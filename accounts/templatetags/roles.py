"""`{% load roles %}{% if user|has_role:"records" %}`: show a link only to who may open it;
`{{ proposal.team|role_label }}`: a role (a team) by its name for people;
`{{ item.author|display_name }}`: a user by their name.

The areas are the ones of kpi_dashboard/access.py, so a template asks the same question
as the view's `role_required`, and a link is never shown to a user who would get a 403.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts import access
from accounts import roles as role_names
from accounts.names import display_name as user_display_name

register = template.Library()

AREA_ROLES: dict[str, frozenset[str]] = {
    "dashboard": access.DASHBOARD_ROLES,
    "reports": access.REPORT_ROLES,
    "records": access.RECORD_ROLES,
    "connections": access.CONNECTION_ROLES,
    "inbox": access.INBOX_ROLES,
    "admin": access.ADMIN_ROLES,
}


@register.filter
def has_role(user: Any, area: str) -> bool:
    """Whether `user` may open pages of `area`; an unknown area is a template error."""
    try:
        roles = AREA_ROLES[area]
    except KeyError:
        raise template.TemplateSyntaxError(
            f"has_role: unknown area '{area}', use one of {', '.join(AREA_ROLES)}"
        ) from None
    return access.has_role(user, roles)


@register.filter
def role_label(role: str) -> str:
    """A role key ("ops_admin") as people read it, in the page's language."""
    return role_names.role_label(role)


@register.filter
def display_name(user: Any) -> str:
    """A user by their full name, else their username (accounts/names.py); none: "-"."""
    return "-" if user is None else user_display_name(user)
