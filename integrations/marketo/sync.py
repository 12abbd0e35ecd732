"""The steps of a Marketo sync (docs/connectors.md section 5).

1. **Activities** from one paging token: a full sync from the history start (three years
   before the first sync unless the connection says otherwise), else from the start of the
   previous successful run (the Date of its first answer) minus 10 minutes. Per group of
   pages, in one transaction: Merge Leads (32) remove the losers and move their activities
   to the winner; the activities a person's columns come from (status changes and
   progressions) are kept; the exported ones are ingested (one upsert per marketoGUID, so
   an activity read again changes nothing); every lead in the stream is marked to be read.
2. **Deleted leads** from the same start leave with their activities.
3. **Leads** marked are read by id (300 a call); one missing from the answer is gone. Each
   chunk is mapped and ingested in one transaction that clears its marks.

The cursor (where the next run starts) moves only when a run succeeds; a run that dies
starts again from the same moment, reading what it read again as upserts, and finds the
leads it had marked still marked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from email.utils import parsedate_to_datetime

from django.utils import timezone

from funnel import ingest
from funnel.ingest.removal import remove_activities, remove_persons
from funnel.models import Activity, SourcePerson
from integrations import store
from integrations.connections import NEEDS
from integrations.marketo.client import LEADS_PER_CALL, MarketoActivity, MarketoClient
from integrations.marketo.mapping import (
    LEAD_FIELDS,
    MERGE,
    STREAMED,
    activity_record,
    feeds_person,
    merged_ids,
    person_from_lead,
)
from integrations.models import Connection, Vendor
from integrations.options import ConnectionOptions, options_of
from integrations.sync import SyncProgress, counting_requests, mapped_records
from integrations.transport import prefetched
from integrations.values import instant

SINCE = "since"  # cursor: where the next incremental run's paging token starts
HISTORY = "history_start"  # cursor: where a full sync starts
LOOKBACK = dt.timedelta(minutes=10)
GROUP = 1000  # activities written per transaction


def sync_marketo(connection: Connection, full: bool, progress: SyncProgress) -> int:
    options = options_of(connection.options)
    client = MarketoClient(connection, int(options["calls_per_20s"]))
    return counting_requests(
        client.transport, lambda: MarketoSync(client, connection, options, progress).run(full)
    )


class MarketoSync:
    def __init__(
        self,
        client: MarketoClient,
        connection: Connection,
        options: ConnectionOptions,
        progress: SyncProgress,
    ) -> None:
        self.client, self.connection, self.options = client, connection, options
        self.progress = progress
        self.source = ingest.get_or_create_source(
            connection.name, NEEDS[Vendor.MARKETO].source_kind
        )
        self.store = store.VendorStore(connection)
        self.persons = progress.of("persons")
        self.activities = progress.of("activities")

    def run(self, full: bool) -> None:
        since = None if full else store.cursor(self.connection, SINCE)
        start = since or self._history_start()
        token = self.client.paging_token(start)
        if since is None:  # a full sync reads every lead it holds again: the gone ones leave
            held = SourcePerson.objects.filter(source=self.source).values_list(
                "external_id", flat=True
            )
            self.store.mark("lead", list(held))
        for group in _grouped(prefetched(self.client.activities(token, STREAMED))):
            with store.page():
                self._apply(group)
            self.progress.publish()
        for page, _next in self.client.deleted_leads(token):
            gone = {activity.lead_id for activity in page}
            if gone:
                with store.page():
                    self._remove_leads(gone)
                self.progress.publish()
        while marked := self.store.marked("lead", LEADS_PER_CALL):
            found = self.client.leads(marked, LEAD_FIELDS)
            with store.page():
                self._derive(marked, found)
                self.store.done("lead", marked)
            self.progress.publish()
        first = self.client.first_date
        if first:
            began = parsedate_to_datetime(first) - LOOKBACK
            store.save_cursor(self.connection, SINCE, began.isoformat())

    def _history_start(self) -> str:
        configured = str(self.options["history_start"] or "")
        if configured:
            return instant(configured).isoformat()
        kept = store.cursor(self.connection, HISTORY)
        if not kept:
            kept = (timezone.now() - dt.timedelta(days=3 * 365)).replace(microsecond=0).isoformat()
            store.save_cursor(self.connection, HISTORY, kept)
        return kept

    # --- writing (inside a group's transaction) -----------------------------------------

    def _apply(self, group: list[MarketoActivity]) -> None:
        for merge in (a for a in group if a.type_id == MERGE):
            self._merge(merge.lead_id, [i for i in merged_ids(merge) if i != merge.lead_id])
        kept = {a.id: a.stored() for a in group if feeds_person(a, self.options)}
        self.store.put("activity", kept)
        self.store.set_links(
            "activity", "lead", {guid: [(str(a["leadId"]), "")] for guid, a in kept.items()}
        )
        exported = mapped_records(
            group, lambda activity: activity_record(activity), self.activities, self.progress
        )
        records = [record for record in exported if record is not None]
        self.activities.fetched += len(records)
        self.activities.add(ingest.ingest_activities(self.source, records))
        self.store.mark("lead", {a.lead_id for a in group})

    def _merge(self, winner: str, losers: list[str]) -> None:
        """The losers leave; their activities (stored and kept) now belong to the winner."""
        if not losers:
            return
        Activity.objects.filter(source=self.source, person_external_id__in=losers).update(
            person_external_id=winner
        )
        moved = self.store.linked_to("activity", "lead", losers)
        kept = self.store.get("activity", moved)
        for stored in kept.values():
            stored["leadId"] = winner
        self.store.put("activity", kept)
        self.store.set_links("activity", "lead", {guid: [(winner, "")] for guid in kept})
        self.persons.deleted += remove_persons(self.source, losers)
        self.store.done("lead", losers)
        self.store.mark("lead", [winner])

    def _remove_leads(self, leads: Collection[str]) -> None:
        """Deleted leads leave with their activities."""
        activities = Activity.objects.filter(source=self.source, person_external_id__in=leads)
        self.activities.deleted += remove_activities(
            self.source, list(activities.values_list("external_id", flat=True))
        )
        self.store.delete("activity", self.store.linked_to("activity", "lead", leads))
        self.store.delete("lead", leads)
        self.store.done("lead", leads)
        self.persons.deleted += remove_persons(self.source, leads)

    def _derive(self, marked: list[str], found: dict[str, dict[str, object]]) -> None:
        self.persons.fetched += len(found)
        gone = set(marked) - found.keys()
        if gone:
            self._remove_leads(gone)
        activities = self.store.get("activity", self.store.linked_to("activity", "lead", found))
        of_lead: dict[str, list[MarketoActivity]] = defaultdict(list)
        for guid, stored in activities.items():
            activity = MarketoActivity.from_stored(guid, stored)
            of_lead[activity.lead_id].append(activity)
        self.store.put("lead", {key: dict(lead) for key, lead in found.items()})
        records = mapped_records(
            list(found.values()),
            lambda lead: person_from_lead(lead, of_lead.get(str(lead.get("id")), []), self.options),
            self.persons,
            self.progress,
        )
        self.persons.add(ingest.ingest_persons(self.source, records))


def _grouped(pages: Iterable[tuple[list[MarketoActivity], str]]) -> Iterator[list[MarketoActivity]]:
    """Pages in groups of about GROUP activities; an activity read twice is in its group once."""
    group: dict[str, MarketoActivity] = {}
    for page, _token in pages:
        for activity in page:
            group.pop(activity.id, None)
            group[activity.id] = activity
        if len(group) >= GROUP:
            yield list(group.values())
            group = {}
    if group:
        yield list(group.values())
