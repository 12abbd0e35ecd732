"""The roles of the product, as Django groups (created by a data migration)."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MARKETING = "marketing"
SALES = "sales"
EXECUTIVE = "executive"
OPS_ADMIN = "ops_admin"
ROLES = (MARKETING, SALES, EXECUTIVE, OPS_ADMIN)

ROLE_LABELS: dict[str, Promise] = {
    MARKETING: _("Marketing"),
    SALES: _("Sales"),
    EXECUTIVE: _("Executive"),
    OPS_ADMIN: _("Ops admin"),
}


def role_label(role: str) -> str:
    """A role's name for people (a proposal's or comment's team); an unknown key as it is."""
    return str(ROLE_LABELS.get(role, role))
