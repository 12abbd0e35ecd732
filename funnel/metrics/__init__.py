"""The one metrics module (kpi-spec sections 3-5b): every reader calls kpi_snapshot."""
