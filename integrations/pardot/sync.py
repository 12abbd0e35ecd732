"""The steps of an Account Engagement (Pardot) v5 sync (docs/connectors.md section 6).

Two stages, each crash-safe on its own:

1. **Read.** The lifecycle stages (every run: a few), then users, campaigns, prospects,
   lifecycle histories and visitor activities, in the order they refer to each other.
   Without a cursor (a first or `--full` sync) an object is read whole by id (users,
   campaigns and prospects with `deleted=all`); its cursor is then the newest stamp it
   had when the read began, and what was not read any more leaves. With one, from the
   cursor minus 5 minutes (reads may lag writes by 60 s): by `updatedAt` (activities too,
   so a visit linked to a prospect later is seen), lifecycle histories (immutable) by
   `createdAt`; then the recycle bins of prospects and campaigns, since a delete need not
   move `updatedAt`. Per page, in one transaction: the vendor records kept for re-mapping,
   their references, the canonical records they change marked for stage 2, and the cursor
   that covers them.
2. **Derive.** The marked persons, then activities (all of them after a full read) are
   mapped from the kept records and written through the one ingest path, a chunk per
   transaction that also clears its marks: prospects that left (and their activities,
   which Account Engagement keeps listing) leave. Campaign costs are the source's whole
   cost feed.

Histories and activities of a prospect in the recycle bin are kept: a prospect restored
(its `updatedAt` moves, theirs do not) comes back with its stage dates and activities.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from funnel import ingest
from funnel.ingest.removal import remove_activities, remove_persons
from funnel.models import Activity, SourcePerson
from funnel.records import ActivityRecord, CostRecord, PersonRecord
from integrations import store
from integrations.connections import NEEDS
from integrations.models import Connection, Vendor
from integrations.options import ConnectionOptions, options_of
from integrations.pardot.client import PardotClient, PardotRecord
from integrations.pardot.mapping import (
    ACTIVITY_FIELDS,
    CAMPAIGN_FIELDS,
    HISTORY_FIELDS,
    PROSPECT_FIELDS,
    STAGE_FIELDS,
    USER_FIELDS,
    activity_from,
    activity_type,
    channel_of,
    costs_from,
    person_from,
    stage_ids,
)
from integrations.sync import SyncProgress, counting_requests, mapped_records
from integrations.transport import prefetched
from integrations.values import instant


@dataclass(frozen=True)
class Read:
    collection: str  # the API's name, also the cursor's
    kept_as: str  # the VendorStore object
    fields: tuple[str, ...]
    stamp: str  # the field incremental reads filter and order on
    recycle_bin: bool  # read with deleted=all


READS = (
    Read("users", "user", USER_FIELDS, "updatedAt", True),
    Read("campaigns", "campaign", CAMPAIGN_FIELDS, "updatedAt", True),
    Read("prospects", "prospect", PROSPECT_FIELDS, "updatedAt", True),
    Read("lifecycle-histories", "history", HISTORY_FIELDS, "createdAt", False),
    Read("visitor-activities", "activity", ACTIVITY_FIELDS, "updatedAt", False),
)
BY_KEPT_AS = {read.kept_as: read for read in READS}
# Each kept object's references: (field, the object it points at).
REFERENCES = {
    "prospect": (("campaignId", "campaign"), ("assignedToId", "user")),
    "history": (("prospectId", "prospect"),),
    "activity": (("prospectId", "prospect"),),
}
LOOKBACK = dt.timedelta(minutes=5)
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # the cursor of an object read empty


def sync_pardot(connection: Connection, full: bool, progress: SyncProgress) -> int:
    options = options_of(connection.options)
    client = PardotClient(connection)
    return counting_requests(
        client.transport, lambda: PardotSync(client, connection, options, progress).run(full)
    )


def test_pardot(connection: Connection) -> str:
    """`lifecycle-stages?fields=id,name`: one cheap authenticated call."""
    stages = PardotClient(connection).lifecycle_stage_names()
    return f"ok: Account Engagement business unit, {len(stages)} lifecycle stages"


class PardotSync:
    def __init__(
        self,
        client: PardotClient,
        connection: Connection,
        options: ConnectionOptions,
        progress: SyncProgress,
    ) -> None:
        self.client, self.connection, self.options = client, connection, options
        self.progress = progress
        self.source = ingest.get_or_create_source(connection.name, NEEDS[Vendor.PARDOT].source_kind)
        self.store = store.VendorStore(connection)
        self.persons = progress.of("persons")
        self.activities = progress.of("activities")
        self.costs = progress.of("costs")
        self.everything = False
        self.stages: dict[str, str] = {}  # mql / sql -> lifecycle stage id

    def run(self, full: bool) -> None:
        cursors = {
            read.collection: store.cursor(self.connection, read.collection) for read in READS
        }
        if full or None in cursors.values():
            # A first or full sync: every object is read whole. One that dies leaves the
            # objects it finished with their cursors: the next run reads only the others
            # whole, and still derives everything.
            with store.page():
                for read in READS:
                    store.save_cursor(self.connection, read.collection, "")
                self.store.mark(store.EVERYTHING, [store.EVERYTHING])
        self.everything = bool(self.store.marked(store.EVERYTHING, 1))
        self._read_stages()
        incremental = set()
        for read in READS:
            value = store.cursor(self.connection, read.collection)
            if value:
                incremental.add(read.kept_as)
            self._read(read, instant(value) if value else None)
        for kept_as in ("prospect", "campaign"):
            if kept_as in incremental:  # a full read saw the recycle bin with deleted=all
                self._read_recycle_bin(BY_KEPT_AS[kept_as])
        self._derive()

    # --- stage 1: reading ----------------------------------------------------------------

    def _read_stages(self) -> None:
        """Every run (a handful): MQL and SQL are the stages at positions 2 and 3, whatever
        they are called; when those move, every person's dates are derived again."""
        pages = self.client.by_id("lifecycle-stages", STAGE_FIELDS)
        stages = [record for page in pages for record in page]
        kept = self._kept("stage", self.store.ids("stage"))
        self.stages = stage_ids(stages)
        with store.page():
            self.store.delete("stage", kept.keys() - {stage.id for stage in stages})
            self.store.put("stage", {stage.id: dict(stage.fields) for stage in stages})
            if stage_ids(kept.values()) != self.stages:
                self._mark("person", self.store.ids("prospect"))

    def _read(self, read: Read, cursor: dt.datetime | None) -> None:
        """One object, whole (cursor None: then what was not read leaves) or from its
        cursor minus the lookback; the cursor is saved with the page it covers."""
        params = {"deleted": "all"} if read.recycle_bin else {}
        if cursor is None:
            self._read_whole(read, params)
            return
        pages = self.client.by_stamp(
            read.collection, read.fields, read.stamp, cursor - LOOKBACK, params
        )
        for page in prefetched(pages):
            cursor = max([cursor, *(record.stamp(read.stamp) for record in page)])
            with store.page():
                self._apply(read.kept_as, page)
                store.save_cursor(self.connection, read.collection, cursor.isoformat())
            self.progress.publish()

    def _read_whole(self, read: Read, params: Mapping[str, str]) -> None:
        """Every record by id; what was not read leaves. The cursor is the newest stamp
        before the read began: what changes while it reads comes with the next run."""
        newest = self.client.newest(read.collection, read.stamp, params)
        seen: set[str] = set()
        for page in prefetched(self.client.by_id(read.collection, read.fields, params)):
            seen.update(record.id for record in page)
            with store.page():
                self._apply(read.kept_as, page)
            self.progress.publish()
        with store.page():
            self._forget(read.kept_as, self.store.ids(read.kept_as) - seen)
            store.save_cursor(self.connection, read.collection, (newest or _EPOCH).isoformat())
        self.progress.publish()

    def _read_recycle_bin(self, read: Read) -> None:
        """`deleted=true`, `fields=id`: what went to the recycle bin without its `updatedAt`
        moving leaves (a prospect with its activities, a campaign with its cost)."""
        for page in prefetched(self.client.by_id(read.collection, ("id",), {"deleted": "true"})):
            ids = [record.id for record in page]
            with store.page():
                kept = self._kept(read.kept_as, ids)
                if read.kept_as == "prospect":
                    held = SourcePerson.objects.filter(source=self.source, external_id__in=ids)
                    gone = kept.keys() | set(held.values_list("external_id", flat=True))
                    self._forget("prospect", gone, kept)
                else:
                    binned = {
                        key: {**record.fields, "isDeleted": True}
                        for key, record in kept.items()
                        if not record.deleted
                    }
                    if binned:
                        self.store.put(read.kept_as, binned)
                        self._mark("costs", ["costs"])
            self.progress.publish()

    def _apply(self, kept_as: str, page: list[PardotRecord]) -> None:
        """Keep the page's records, their references, and mark what they change."""
        before = self._kept(kept_as, [record.id for record in page])
        if kept_as == "prospect":
            self.persons.fetched += len(page)
            binned = {r.id for r in page if r.deleted}
            self._forget("prospect", binned & before.keys(), before)
            page = [record for record in page if not record.deleted]
        elif kept_as == "campaign":
            self.costs.fetched += len(page)
        elif kept_as == "activity":
            self.activities.fetched += len(page)
            # Only a known prospect's exported activities are kept; one that no longer is
            # (a visit unlinked) leaves.
            dropped = {r.id for r in page if not (r.text("prospectId") and activity_type(r))}
            self._forget("activity", dropped & before.keys(), before)
            page = [record for record in page if record.id not in dropped]
        changed = [r for r in page if r.id not in before or before[r.id].fields != r.fields]
        if not changed:
            return
        self.store.put(kept_as, {record.id: dict(record.fields) for record in changed})
        for field, target in REFERENCES.get(kept_as, ()):
            links = {record.id: [(record.text(field), field)] for record in changed}
            self.store.set_links(kept_as, target, links)
        self._changed(kept_as, changed, before)

    def _changed(
        self, kept_as: str, changed: list[PardotRecord], before: Mapping[str, PardotRecord]
    ) -> None:
        """Mark the canonical records these changed records feed, for stage 2."""
        if self.everything:  # every one is derived
            return
        ids = {record.id for record in changed}
        if kept_as == "prospect":
            self._mark("person", ids)
            moved = {r.id for r in changed if r.id not in before or _differ(r, before, "email")}
            self._mark("activity", self.store.linked_to("activity", "prospect", moved))
            if any(self._touch(r) != self._touch(before.get(r.id)) for r in changed):
                self._mark("costs", ["costs"])  # a campaign's prospects' channels changed
        elif kept_as == "history":
            self._mark("person", {record.text("prospectId") for record in changed})
        elif kept_as == "activity":
            self._mark("activity", ids)
        elif kept_as == "campaign":
            renamed = {r.id for r in changed if r.id in before and _differ(r, before, "name")}
            self._mark("person", self.store.linked_to("prospect", "campaign", renamed))
            self._mark("costs", ["costs"])
        elif kept_as == "user":
            renamed = {
                r.id
                for r in changed
                if r.id in before
                and (_differ(r, before, "firstName") or _differ(r, before, "lastName"))
            }
            self._mark("person", self.store.linked_to("prospect", "user", renamed))

    def _touch(self, prospect: PardotRecord | None) -> tuple[str, str]:
        """(first-touch campaign, channel): what a prospect gives a campaign's cost."""
        if prospect is None or not prospect.text("campaignId"):
            return "", ""
        return prospect.text("campaignId"), channel_of(prospect, self.options)

    def _forget(
        self,
        kept_as: str,
        ids: Collection[str],
        before: Mapping[str, PardotRecord] | None = None,
    ) -> None:
        """Records the vendor no longer has (or a prospect in the recycle bin): forgotten,
        and what they fed marked. A prospect's histories and activities are kept: they come
        back with it."""
        if not ids:
            return
        if not self.everything:
            before = before if before is not None else self._kept(kept_as, ids)
            self._forgotten(kept_as, ids, before)
        self.store.delete(kept_as, ids)

    def _forgotten(
        self, kept_as: str, ids: Collection[str], before: Mapping[str, PardotRecord]
    ) -> None:
        if kept_as == "prospect":
            self._mark("person", ids)
            self._mark("activity", self.store.linked_to("activity", "prospect", ids))
            if any(self._touch(record)[0] for key, record in before.items() if key in ids):
                self._mark("costs", ["costs"])
        elif kept_as == "history":
            self._mark("person", {r.text("prospectId") for k, r in before.items() if k in ids})
        elif kept_as == "activity":
            self._mark("activity", ids)
        elif kept_as == "campaign":
            self._mark("person", self.store.linked_to("prospect", "campaign", ids))
            self._mark("costs", ["costs"])
        elif kept_as == "user":
            self._mark("person", self.store.linked_to("prospect", "user", ids))

    def _mark(self, kind: str, ids: Iterable[str]) -> None:
        if not self.everything:
            self.store.mark(kind, ids)

    # --- stage 2: deriving ---------------------------------------------------------------

    def _derive(self) -> None:
        store.derive_marked(
            self.store,
            [
                ("person", self._derive_persons, self._all_persons),
                ("activity", self._derive_activities, self._all_activities),
            ],
            self._derive_costs,
            self.progress.publish,
        )

    def _all_persons(self) -> set[str]:
        return self.store.ids("prospect") | self._held(SourcePerson)

    def _all_activities(self) -> set[str]:
        return self.store.ids("activity") | self._held(Activity)

    def _held(self, model: type[SourcePerson] | type[Activity]) -> set[str]:
        rows = model.objects.filter(source=self.source).values_list("external_id", flat=True)
        return set(rows)

    def _kept(self, kept_as: str, ids: Iterable[str]) -> dict[str, PardotRecord]:
        return {
            key: PardotRecord(kept_as, key, fields)
            for key, fields in self.store.get(kept_as, ids).items()
        }

    def _derive_persons(self, ids: list[str]) -> None:
        prospects = self._kept("prospect", ids)
        histories = self._kept(
            "history", self.store.linked_to("history", "prospect", prospects.keys())
        )
        history_of: dict[str, list[PardotRecord]] = defaultdict(list)
        for row in histories.values():
            history_of[row.text("prospectId")].append(row)
        campaigns = self._kept("campaign", {p.text("campaignId") for p in prospects.values()})
        users = self._kept("user", {p.text("assignedToId") for p in prospects.values()})

        def to_record(prospect: PardotRecord) -> PersonRecord:
            return person_from(
                prospect,
                campaigns.get(prospect.text("campaignId")),
                users.get(prospect.text("assignedToId")),
                history_of.get(prospect.id, []),
                self.stages,
                self.options,
            )

        records = mapped_records(list(prospects.values()), to_record, self.persons, self.progress)
        self.persons.add(ingest.ingest_persons(self.source, records))
        gone = set(ids) - prospects.keys()
        if gone:
            self.persons.deleted += remove_persons(self.source, gone)

    def _derive_activities(self, ids: list[str]) -> None:
        """A kept activity of a live prospect; the others (their prospect in the recycle
        bin, or gone) leave."""
        activities = self._kept("activity", ids)
        prospects = self._kept("prospect", {a.text("prospectId") for a in activities.values()})
        live = [a for a in activities.values() if a.text("prospectId") in prospects]

        def to_record(activity: PardotRecord) -> ActivityRecord:
            return activity_from(activity, prospects[activity.text("prospectId")])

        records = mapped_records(live, to_record, self.activities, self.progress)
        self.activities.add(ingest.ingest_activities(self.source, records))
        gone = set(ids) - {activity.id for activity in live}
        if gone:
            self.activities.deleted += remove_activities(self.source, gone)

    def _derive_costs(self) -> None:
        records: list[CostRecord] = []
        problems: list[str] = []
        if self.options["cost_feed"]:
            campaigns = self._kept("campaign", self.store.ids("campaign"))
            costly = [key for key, campaign in campaigns.items() if campaign.text("cost")]
            prospects = self.store.linked_to("prospect", "campaign", costly)
            touched: dict[str, list[str]] = defaultdict(list)
            for prospect in self._kept("prospect", prospects).values():
                touched[prospect.text("campaignId")].append(channel_of(prospect, self.options))
            records, problems = costs_from(campaigns.values(), touched, self.options)
        self.costs.rejected += len(problems)
        self.progress.errors.extend(problems)
        result, deleted = ingest.replace_costs(self.source, records)
        self.costs.add(result)
        self.costs.deleted += deleted


def _differ(record: PardotRecord, before: Mapping[str, PardotRecord], name: str) -> bool:
    return record.text(name) != before[record.id].text(name)
