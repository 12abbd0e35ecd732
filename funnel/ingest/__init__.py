"""The one ingest path: CSV import, connectors and the demo loader all write through here.

Every function takes canonical records (funnel/records.py), batches, is idempotent (the same
records again change nothing) and reports created / updated / unchanged counts.
"""

from funnel.ingest.deals import ingest_activities, ingest_opportunities
from funnel.ingest.lookups import get_or_create_source
from funnel.ingest.persons import ingest_persons, refresh_persons
from funnel.ingest.plans import ingest_costs, ingest_targets, replace_costs

__all__ = [
    "get_or_create_source",
    "ingest_activities",
    "ingest_costs",
    "ingest_opportunities",
    "ingest_persons",
    "ingest_targets",
    "refresh_persons",
    "replace_costs",
]
