"""The steps of a HubSpot sync (docs/connectors.md section 3).

Per object (companies, then contacts, then deals: each needs the ones before it):
- **Listing** when the object has no cursor yet, or on a full resync: every live record,
  then what HubSpot no longer lists (deleted, archived, merged away) leaves. Its cursor is
  the newest change stamp before the listing began, so what changes while it lists comes
  with the next run.
- **Changes** otherwise: the search API from the cursor minus 5 minutes (search lags
  writes), ascending, the cursor advancing page by page; then the archived records of the
  recycle bin, which search never shows, leave.

Each group of pages (up to 1,000 records): its records, the vendor records kept for later
re-mapping and the cursor that covers them commit in one transaction, through the one
ingest path: a run that dies goes on from the last group it committed. A change to one
record re-maps the records that depend on it: a company its contacts (industry, size) and
deals (account); a contact that leaves or is merged away its deals, whose associations are
read again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence

from funnel import ingest
from funnel.ingest.removal import remove_opportunities, remove_persons
from funnel.models import Opportunity, SourcePerson
from funnel.records import OpportunityRecord
from integrations import store
from integrations.connections import NEEDS
from integrations.hubspot.client import (
    ASSOCIATION_BATCH,
    MODIFIED,
    PAGE,
    HubSpotClient,
    stamp_ms,
)
from integrations.hubspot.mapping import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DEAL_PROPERTIES,
    HubSpotObject,
    opportunity_from_deal,
    person_from_contact,
)
from integrations.models import Connection, Vendor
from integrations.sync import SyncProgress, counting_requests, mapped_records
from integrations.transport import prefetched

KINDS = ("company", "contact", "deal")  # in the order they depend on each other
PROPERTIES = {"company": COMPANY_PROPERTIES, "contact": CONTACT_PROPERTIES, "deal": DEAL_PROPERTIES}
LOOKBACK_MS = 5 * 60 * 1000


def sync_hubspot(connection: Connection, full: bool, progress: SyncProgress) -> int:
    client = HubSpotClient(connection)
    return counting_requests(
        client.transport, lambda: HubSpotSync(client, connection, progress).run(full)
    )


class HubSpotSync:
    def __init__(
        self, client: HubSpotClient, connection: Connection, progress: SyncProgress
    ) -> None:
        self.client, self.connection, self.progress = client, connection, progress
        self.source = ingest.get_or_create_source(
            connection.name, NEEDS[Vendor.HUBSPOT].source_kind
        )
        self.store = store.VendorStore(connection)
        self.persons = progress.of("persons")
        self.opportunities = progress.of("opportunities")
        self.owners = client.owners()
        self.stages = client.stages()
        self.to_list: set[str] = set()  # objects this run lists whole, not yet listed

    def run(self, full: bool) -> None:
        cursors = {kind: None if full else store.cursor(self.connection, kind) for kind in KINDS}
        self.to_list = {kind for kind, value in cursors.items() if value is None}
        for kind in KINDS:
            value = cursors[kind]
            if value is None:
                self._list(kind)
            else:
                self._read_changes(kind, int(value))
        for kind in KINDS:
            if cursors[kind] is not None:
                self._leave_archived(kind)

    # --- reading -----------------------------------------------------------------------

    def _list(self, kind: str) -> None:
        newest = self.client.highest_stamp(kind)
        live: set[str] = set()
        for page in _grouped(prefetched(self.client.pages(kind, PROPERTIES[kind]))):
            live.update(item.id for item in page)
            with store.page():
                self._apply(kind, page)
            self.progress.publish()
        self.to_list.discard(kind)
        with store.page():
            self._remove(kind, self._held(kind) - live)
            store.save_cursor(self.connection, kind, str(newest or 0))
        self.progress.publish()

    def _read_changes(self, kind: str, cursor: int) -> None:
        changed = self.client.changed(kind, PROPERTIES[kind], cursor - LOOKBACK_MS)
        for page in _grouped(prefetched(changed)):
            cursor = max(cursor, *(stamp_ms(item, MODIFIED[kind]) for item in page))
            with store.page():
                self._apply(kind, page)
                store.save_cursor(self.connection, kind, str(cursor))
            self.progress.publish()

    def _leave_archived(self, kind: str) -> None:
        """Archived records (HubSpot's recycle bin) are listed, never searched."""
        held = self._held(kind)
        for page in self.client.pages(kind, ("hs_object_id",), archived=True):
            gone = held & {item.id for item in page}
            if gone:
                with store.page():
                    self._remove(kind, gone)
                held -= gone
                self.progress.publish()

    def _held(self, kind: str) -> set[str]:
        """The records of `kind` this connection holds: kept vendor records and, for
        contacts and deals, the source's records (a clean import of HubSpot's state has no
        others)."""
        held = self.store.ids(kind)
        if kind == "contact":
            held |= set(
                SourcePerson.objects.filter(source=self.source).values_list(
                    "external_id", flat=True
                )
            )
        elif kind == "deal":
            held |= set(
                Opportunity.objects.filter(source=self.source).values_list("external_id", flat=True)
            )
        return held

    # --- writing (inside the page's transaction) -----------------------------------------

    def _apply(self, kind: str, page: list[HubSpotObject]) -> None:
        ids = [item.id for item in page]
        self.store.put(kind, {item.id: dict(item.properties) for item in page})
        if kind == "company":
            self._remap_contacts(self.store.linked_to("contact", "company", ids))
            self._remap_deals(self.store.linked_to("deal", "company", ids), read_links=False)
        elif kind == "contact":
            self.persons.fetched += len(page)
            self._remove("contact", {old for item in page for old in item.merged_ids()})
            links = {item.id: [(item.text("associatedcompanyid"), "")] for item in page}
            self.store.set_links("contact", "company", links)
            self._ingest_persons(page)
        else:
            self.opportunities.fetched += len(page)
            self._remove("deal", {old for item in page for old in item.merged_ids()})
            self._read_deal_links(ids)
            self._ingest_deals(page)

    def _remove(self, kind: str, ids: Collection[str]) -> None:
        """Records HubSpot no longer has leave, and what pointed at them is mapped again."""
        if not ids:
            return
        contacts = self.store.linked_to("contact", kind, ids)
        deals = self.store.linked_to("deal", kind, ids)
        if kind == "contact":
            self.persons.deleted += remove_persons(self.source, ids)
        elif kind == "deal":
            self.opportunities.deleted += remove_opportunities(self.source, ids)
        self.store.delete(kind, ids)
        self._remap_contacts(contacts)
        self._remap_deals(deals, read_links=True)

    def _remap_contacts(self, ids: Iterable[str]) -> None:
        if "contact" in self.to_list:  # every contact is mapped by the listing to come
            return
        contacts = self._kept("contact", ids)
        if contacts:
            self._ingest_persons(contacts)

    def _remap_deals(self, ids: Iterable[str], read_links: bool) -> None:
        if "deal" in self.to_list:
            return
        deals = self._kept("deal", ids)
        if deals:
            if read_links:
                self._read_deal_links([deal.id for deal in deals])
            self._ingest_deals(deals)

    def _kept(self, kind: str, ids: Iterable[str]) -> list[HubSpotObject]:
        kept = self.store.get(kind, ids)
        return [HubSpotObject(kind, key, props) for key, props in sorted(kept.items())]

    def _read_deal_links(self, deal_ids: Sequence[str]) -> None:
        for to in ("contact", "company"):
            found = self.client.deal_associations(deal_ids, to)
            links = {
                deal: [(target, ";".join(sorted(filter(None, labels)))) for target, labels in pairs]
                for deal, pairs in found.items()
            }
            self.store.set_links("deal", to, links)

    def _ingest_persons(self, contacts: list[HubSpotObject]) -> None:
        companies = self._companies(contact.text("associatedcompanyid") for contact in contacts)
        records = mapped_records(
            contacts,
            lambda contact: person_from_contact(contact, companies, self.owners),
            self.persons,
            self.progress,
        )
        self.persons.add(ingest.ingest_persons(self.source, records))

    def _ingest_deals(self, deals: list[HubSpotObject]) -> None:
        ids = [deal.id for deal in deals]
        contacts = self.store.links("deal", "contact", ids)
        accounts = self.store.links("deal", "company", ids)
        primary = {
            deal: next((cid for cid, label in links if "Primary" in label.split(";")), "")
            for deal, links in accounts.items()
        }
        companies = self._companies(primary.values())

        def to_record(deal: HubSpotObject) -> OpportunityRecord:
            contact_ids = [cid for cid, _label in contacts.get(deal.id, [])]
            company = companies.get(primary.get(deal.id, ""))
            return opportunity_from_deal(deal, self.stages, contact_ids, company)

        records = mapped_records(deals, to_record, self.opportunities, self.progress)
        self.opportunities.add(ingest.ingest_opportunities(self.source, records))

    def _companies(self, ids: Iterable[str]) -> dict[str, HubSpotObject]:
        return {company.id: company for company in self._kept("company", ids)}


def _grouped(pages: Iterable[list[HubSpotObject]]) -> Iterator[list[HubSpotObject]]:
    """Pages in groups of up to 1,000 records, each written in one transaction with its
    cursor: the ingest's cost per batch is paid once per group, and deals need one
    association read per group and target instead of one per page of 100. A record read
    twice (a search restarted at a stamp) is in its group once, as last read."""
    group: dict[str, HubSpotObject] = {}
    for page in pages:
        for item in page:
            group.pop(item.id, None)
            group[item.id] = item
        if len(group) + PAGE > ASSOCIATION_BATCH:
            yield list(group.values())
            group = {}
    if group:
        yield list(group.values())
