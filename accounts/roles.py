"""The roles of the product, as Django groups (created by a data migration)."""

MARKETING = "marketing"
SALES = "sales"
EXECUTIVE = "executive"
OPS_ADMIN = "ops_admin"
ROLES = (MARKETING, SALES, EXECUTIVE, OPS_ADMIN)
