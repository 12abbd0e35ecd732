from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def grant_ops_admin_permissions(sender: Any, **kwargs: Any) -> None:
    """Ops admins manage every funnel, integrations, qualification and alignment model in
    Django admin, and the login attempts of django-axes (to see and lift a paused login)."""
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import OPS_ADMIN

    group, _ = Group.objects.get_or_create(name=OPS_ADMIN)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=(
                "funnel",
                "integrations",
                "qualification",
                "feedback",
                "alignment",
                "axes",
            )
        )
    )


class AccountsConfig(AppConfig):
    """Who may see what: roles, access checks, the admin site, per-user preferences."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        post_migrate.connect(grant_ops_admin_permissions, sender=self)
