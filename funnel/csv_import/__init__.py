"""Import of the canonical CSV format (kpi-spec section 6)."""
