"""The steps of a Salesforce sync (docs/connectors.md section 4).

Two stages, each crash-safe on its own:

1. **Read.** Each object in the order they refer to each other (users, accounts, campaigns,
   leads, lead history, contacts, campaign members, opportunities, contact roles) is read
   with queryAll (deleted and merged-away rows come with IsDeleted) ordered by its stamp and
   Id: everything when it has no cursor (a first or `--full` sync, or a connection idle
   longer than the Recycle Bin keeps deleted rows: then what is not read any more leaves),
   else from its cursor minus 5 minutes. Per page, in one transaction: the vendor records
   kept for re-mapping, their references, the canonical records they change marked for
   stage 2, and the cursor that covers them. A changed lead's Status history is read again
   with it (history rows are deleted and restored with their lead without a stamp moving).
2. **Derive.** The marked persons and opportunities (all of them after a full read) are
   mapped from the kept records and written through the one ingest path, a chunk per
   transaction that also clears its marks; those Salesforce no longer has leave. Campaign
   costs are the whole cost feed of the source.

A run that dies in either stage goes on from the last page or chunk it committed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

from django.utils import timezone

from funnel import ingest
from funnel.ingest.removal import remove_opportunities, remove_persons
from funnel.models import Opportunity, SourcePerson
from funnel.records import OpportunityRecord, PersonRecord
from integrations import store
from integrations.connections import NEEDS
from integrations.models import Connection, Vendor
from integrations.options import ConnectionOptions, options_of
from integrations.salesforce.client import (
    LocatorExpired,
    SalesforceClient,
    SObject,
    soql_ids,
    soql_time,
)
from integrations.salesforce.mapping import (
    ACCOUNT_FIELDS,
    CAMPAIGN_FIELDS,
    CONTACT_FIELDS,
    HISTORY_FIELDS,
    LEAD_FIELDS,
    MEMBER_FIELDS,
    OPPORTUNITY_FIELDS,
    OPTIONAL,
    ROLE_FIELDS,
    USER_FIELDS,
    costs_from,
    first_campaign,
    opportunity_from,
    person_from_contact,
    person_from_lead,
)
from integrations.sync import SyncProgress, counting_requests, mapped_records
from integrations.transport import SyncError, prefetched
from integrations.values import instant

FIELDS = {
    "User": USER_FIELDS,
    "Account": ACCOUNT_FIELDS,
    "Campaign": CAMPAIGN_FIELDS,
    "Lead": LEAD_FIELDS,
    "LeadHistory": HISTORY_FIELDS,
    "Contact": CONTACT_FIELDS,
    "CampaignMember": MEMBER_FIELDS,
    "Opportunity": OPPORTUNITY_FIELDS,
    "OpportunityContactRole": ROLE_FIELDS,
}
OBJECTS = tuple(FIELDS)  # in the order they refer to each other
# Each object's references to others: the records to map again when the other one changes.
REFERENCES = {
    "Lead": {
        "OwnerId": "User", "ConvertedContactId": "Contact", "ConvertedOpportunityId": "Opportunity"
    },
    "LeadHistory": {"LeadId": "Lead"},
    "Contact": {"AccountId": "Account", "OwnerId": "User"},
    "CampaignMember": {"CampaignId": "Campaign", "LeadId": "Lead", "ContactId": "Contact"},
    "Opportunity": {"AccountId": "Account"},
    "OpportunityContactRole": {"OpportunityId": "Opportunity", "ContactId": "Contact"},
}  # fmt: skip
LOOKBACK = dt.timedelta(minutes=5)
RECYCLE_BIN = dt.timedelta(days=14)  # Salesforce keeps deleted rows 15 days
HISTORY_IDS = 200  # lead ids per history query
CHECKED = "checked"  # cursor: when the last complete read ended
ABSENT = "absent_fields"  # cursor: optional fields the org does not have


def sync_salesforce(connection: Connection, full: bool, progress: SyncProgress) -> int:
    options = options_of(connection.options)
    client = SalesforceClient(connection, float(options["api_share"]))
    return counting_requests(
        client.transport, lambda: SalesforceSync(client, connection, options, progress).run(full)
    )


def stamp_field(sobject: str) -> str:
    return "CreatedDate" if sobject == "LeadHistory" else "SystemModstamp"


class SalesforceSync:
    def __init__(
        self,
        client: SalesforceClient,
        connection: Connection,
        options: ConnectionOptions,
        progress: SyncProgress,
    ) -> None:
        self.client, self.connection, self.options = client, connection, options
        self.progress = progress
        self.source = ingest.get_or_create_source(
            connection.name, NEEDS[Vendor.SALESFORCE].source_kind
        )
        self.store = store.VendorStore(connection)
        self.persons = progress.of("persons")
        self.opportunities = progress.of("opportunities")
        self.costs = progress.of("costs")
        self.optional = {**OPTIONAL, "Lead": (*OPTIONAL["Lead"], str(options["score_field"]))}
        self.everything = False

    def run(self, full: bool) -> None:
        checked = store.cursor(self.connection, CHECKED)
        idle = checked is None or timezone.now() - instant(checked) > RECYCLE_BIN
        if full or idle:
            with store.page():  # a full read that dies is redone in full
                for sobject in OBJECTS:
                    store.save_cursor(self.connection, sobject, "")
                self.store.mark(store.EVERYTHING, [store.EVERYTHING])
        self.everything = bool(self.store.marked(store.EVERYTHING, 1))
        absent = store.cursor(self.connection, ABSENT)
        if absent and not (full or idle):  # a full read asks for every field again
            self.client.absent = set(absent.split(","))
        for sobject in OBJECTS:
            value = store.cursor(self.connection, sobject)
            self._read(sobject, instant(value) if value else None)
        with store.page():
            store.save_cursor(self.connection, ABSENT, ",".join(sorted(self.client.absent)))
            store.save_cursor(self.connection, CHECKED, timezone.now().isoformat())
        self._derive()

    # --- stage 1: reading ----------------------------------------------------------------

    def _read(self, sobject: str, cursor: dt.datetime | None) -> None:
        """One object, whole (cursor None: then what was not read leaves) or from its
        cursor; a query whose locator expires starts again at the last stamp read."""
        stamp_name = stamp_field(sobject)
        since = cursor - LOOKBACK if cursor is not None else None
        newest = cursor
        live: set[str] = set()
        while True:
            where = ["Field = 'Status'"] if sobject == "LeadHistory" else []
            if since is not None:
                where.append(f"{stamp_name} >= {soql_time(since)}")
            pages = self.client.query(
                sobject,
                FIELDS[sobject],
                self.optional.get(sobject, ()),
                where=" AND ".join(where),
                order=f"{stamp_name}, Id",
            )
            try:
                for page in prefetched(pages):
                    if not page:
                        continue
                    stamps = [_stamp(record, stamp_name) for record in page]
                    newest = max([*stamps, *([newest] if newest else [])])
                    live.update(record.id for record in page if not record.deleted)
                    with store.page():
                        self._apply(sobject, page, reread_history=cursor is not None)
                        if cursor is not None:
                            store.save_cursor(self.connection, sobject, newest.isoformat())
                    self.progress.publish()
            except LocatorExpired:
                if newest is not None:
                    since = newest  # the same stamp again: one upsert per record
                continue
            break
        if cursor is None:
            with store.page():
                gone = self.store.ids(sobject) - live
                if sobject == "Lead" or sobject == "Contact":
                    gone |= self._held_persons(sobject) - live
                elif sobject == "Opportunity":
                    gone |= self._held_opportunities() - live
                self._forget(sobject, gone)
                store.save_cursor(self.connection, sobject, (newest or _EPOCH).isoformat())
            self.progress.publish()

    def _held_persons(self, sobject: str) -> set[str]:
        prefix = "00Q" if sobject == "Lead" else "003"
        return {
            key
            for key in SourcePerson.objects.filter(source=self.source).values_list(
                "external_id", flat=True
            )
            if key.startswith(prefix)
        }

    def _held_opportunities(self) -> set[str]:
        return set(
            Opportunity.objects.filter(source=self.source).values_list("external_id", flat=True)
        )

    def _apply(self, sobject: str, page: list[SObject], reread_history: bool) -> None:
        """Keep the page's records (the live ones; deleted and merged-away ones go), their
        references, and mark what they change."""
        counts = {"Lead": self.persons, "Contact": self.persons, "Opportunity": self.opportunities}
        if sobject in counts:
            counts[sobject].fetched += len(page)
        elif sobject == "Campaign":
            self.costs.fetched += len(page)
        before = self._kept(sobject, [record.id for record in page])
        gone = [record.id for record in page if record.deleted]
        # Records read again unchanged (the lookback's) change nothing downstream.
        live = {
            record.id: record
            for record in page
            if not record.deleted
            and (record.id not in before or before[record.id].fields != record.fields)
        }
        self._forget(sobject, gone, before)
        self.store.put(sobject, {key: dict(record.fields) for key, record in live.items()})
        self._link(sobject, live.values())
        self._mark(sobject, [*(before[key] for key in live if key in before), *live.values()])
        if sobject == "Lead" and reread_history:
            self._reread_history([*live, *gone])

    def _forget(
        self, sobject: str, ids: Collection[str], before: Mapping[str, SObject] | None = None
    ) -> None:
        if not ids:
            return
        before = before if before is not None else self._kept(sobject, ids)
        self._mark(sobject, [*before.values()], removed=ids)
        self.store.delete(sobject, ids)
        if sobject == "Lead":  # restored with its lead, then read again
            self.store.delete("LeadHistory", self.store.linked_to("LeadHistory", "Lead", ids))

    def _link(self, sobject: str, records: Iterable[SObject]) -> None:
        records = list(records)
        for field, target in REFERENCES.get(sobject, {}).items():
            links = {record.id: [(record.text(field), field)] for record in records}
            self.store.set_links(sobject, target, links)
        # A record that pointed somewhere through two fields at one target keeps both.

    def _reread_history(self, lead_ids: list[str]) -> None:
        """A changed, deleted or restored lead's Status history, read again whole."""
        for start in range(0, len(lead_ids), HISTORY_IDS):
            chunk = lead_ids[start : start + HISTORY_IDS]
            fresh: dict[str, SObject] = {}
            where = f"Field = 'Status' AND LeadId IN {soql_ids(chunk)}"
            for page in self.client.query(
                "LeadHistory", HISTORY_FIELDS, where=where, order="CreatedDate, Id"
            ):
                fresh.update((row.id, row) for row in page if not row.deleted)
            stale = self.store.linked_to("LeadHistory", "Lead", chunk) - fresh.keys()
            self.store.delete("LeadHistory", stale)
            self.store.put("LeadHistory", {key: dict(row.fields) for key, row in fresh.items()})
            self._link("LeadHistory", fresh.values())

    # --- what a change affects -----------------------------------------------------------

    def _mark(self, sobject: str, versions: list[SObject], removed: Collection[str] = ()) -> None:
        """Mark the persons and opportunities these versions of records (before and after
        the change) feed, for stage 2."""
        if self.everything:
            return
        persons: set[str] = set()
        opportunities: set[str] = set()
        ids = {record.id for record in versions} | set(removed)
        refs = defaultdict(set)
        for record in versions:
            for field in REFERENCES.get(sobject, {}):
                if value := record.text(field):
                    refs[field].add(value)
        if sobject == "Lead":
            persons |= ids | refs["ConvertedContactId"]
            opportunities |= refs["ConvertedOpportunityId"]
            opportunities |= self._opportunities_of_contacts(refs["ConvertedContactId"])
        elif sobject == "LeadHistory":
            persons |= refs["LeadId"]
        elif sobject == "Contact":
            persons |= ids | self.store.linked_to("Lead", "Contact", ids)
            opportunities |= self._opportunities_of_contacts(ids)
        elif sobject == "CampaignMember":
            contacts = refs["ContactId"]
            persons |= refs["LeadId"] | contacts | self.store.linked_to("Lead", "Contact", contacts)
        elif sobject == "Campaign":
            members = self._kept(
                "CampaignMember", self.store.linked_to("CampaignMember", "Campaign", ids)
            )
            contacts = {m.text("ContactId") for m in members.values()} - {""}
            persons |= {m.text("LeadId") for m in members.values()} - {""}
            persons |= contacts | self.store.linked_to("Lead", "Contact", contacts)
            self.store.mark("costs", ["costs"])
        elif sobject == "Account":
            contacts = self.store.linked_to("Contact", "Account", ids)
            persons |= contacts | self.store.linked_to("Lead", "Contact", contacts)
            opportunities |= self.store.linked_to("Opportunity", "Account", ids)
        elif sobject == "User":
            persons |= self.store.linked_to("Lead", "User", ids)
            persons |= self.store.linked_to("Contact", "User", ids)
        elif sobject == "Opportunity":
            opportunities |= ids
        elif sobject == "OpportunityContactRole":
            opportunities |= refs["OpportunityId"]  # fmt: skip
        self.store.mark("person", persons)
        self.store.mark("opportunity", opportunities)

    def _opportunities_of_contacts(self, contacts: Collection[str]) -> set[str]:
        roles = self.store.linked_to("OpportunityContactRole", "Contact", contacts)
        links = self.store.links("OpportunityContactRole", "Opportunity", roles)
        return {target for pairs in links.values() for target, _field in pairs}

    # --- stage 2: deriving ---------------------------------------------------------------

    def _derive(self) -> None:
        store.derive_marked(
            self.store,
            [
                ("person", self._derive_persons, self._all_persons),
                ("opportunity", self._derive_opportunities, self._all_opportunities),
            ],
            self._derive_costs,
            self.progress.publish,
        )

    def _all_persons(self) -> set[str]:
        held = self.store.ids("Lead") | self.store.ids("Contact")
        return held | self._held_persons("Lead") | self._held_persons("Contact")

    def _all_opportunities(self) -> set[str]:
        return self.store.ids("Opportunity") | self._held_opportunities()

    def _kept(self, sobject: str, ids: Iterable[str]) -> dict[str, SObject]:
        return {
            key: SObject(sobject, key, fields)
            for key, fields in self.store.get(sobject, ids).items()
        }

    def _converted_leads(self, target: str, ids: Collection[str]) -> dict[str, str]:
        """Per contact (or opportunity) id, the live lead converted into it (the first by
        Id when several were)."""
        leads = self.store.links("Lead", target, self.store.linked_to("Lead", target, ids))
        found: dict[str, str] = {}
        for lead, pairs in sorted(leads.items()):
            for to_id, _field in pairs:
                if to_id in ids:
                    found.setdefault(to_id, lead)
        return found

    def _derive_persons(self, ids: list[str]) -> None:
        leads = self._kept("Lead", ids)
        contacts = self._kept("Contact", ids)
        folded = self._converted_leads("Contact", contacts.keys())
        contacts = {key: c for key, c in contacts.items() if key not in folded}
        converted_contact = {
            key: lead.text("ConvertedContactId")
            for key, lead in leads.items()
            if lead.text("ConvertedContactId")
        }
        history = self._kept("LeadHistory", self.store.linked_to("LeadHistory", "Lead", leads))
        history_of: dict[str, list[SObject]] = defaultdict(list)
        for row in history.values():
            history_of[row.text("LeadId")].append(row)
        member_ids = self.store.linked_to("CampaignMember", "Lead", leads)
        member_ids |= self.store.linked_to(
            "CampaignMember", "Contact", {*contacts, *converted_contact.values()}
        )
        members = self._kept("CampaignMember", member_ids)
        members_of: dict[str, list[SObject]] = defaultdict(list)
        for member in members.values():
            for key in {member.text("LeadId"), member.text("ContactId")} - {""}:
                members_of[key].append(member)
        campaigns = self._kept("Campaign", {m.text("CampaignId") for m in members.values()})
        owners = self._kept(
            "User", {r.text("OwnerId") for r in [*leads.values(), *contacts.values()]}
        )
        accounts = self._kept("Account", {c.text("AccountId") for c in contacts.values()})

        def from_lead(lead: SObject) -> PersonRecord:
            own = members_of.get(lead.id, []) + members_of.get(
                converted_contact.get(lead.id, ""), []
            )
            return person_from_lead(
                lead,
                history_of.get(lead.id, []),
                first_campaign({m.id: m for m in own}.values(), campaigns),
                owners.get(lead.text("OwnerId")),
                self.options,
            )

        def from_contact(contact: SObject) -> PersonRecord:
            return person_from_contact(
                contact,
                accounts.get(contact.text("AccountId")),
                first_campaign(members_of.get(contact.id, []), campaigns),
                owners.get(contact.text("OwnerId")),
                self.options,
            )

        records = mapped_records(list(leads.values()), from_lead, self.persons, self.progress)
        records += mapped_records(
            list(contacts.values()), from_contact, self.persons, self.progress
        )
        self.persons.add(ingest.ingest_persons(self.source, records))
        gone = set(ids) - leads.keys() - contacts.keys()
        if gone:
            self.persons.deleted += remove_persons(self.source, gone)

    def _derive_opportunities(self, ids: list[str]) -> None:
        opportunities = self._kept("Opportunity", ids)
        converted = self._converted_leads("Opportunity", opportunities.keys())
        roles = self._kept(
            "OpportunityContactRole",
            self.store.linked_to("OpportunityContactRole", "Opportunity", opportunities),
        )
        primary: dict[str, str] = {}
        for role in sorted(roles.values(), key=lambda r: r.id):
            if role.fields.get("IsPrimary") is True and role.text("ContactId"):
                primary.setdefault(role.text("OpportunityId"), role.text("ContactId"))
        contact_leads = self._converted_leads("Contact", set(primary.values()))
        accounts = self._kept("Account", {o.text("AccountId") for o in opportunities.values()})

        def to_record(opportunity: SObject) -> OpportunityRecord:
            person = converted.get(opportunity.id, "")
            if not person and (contact := primary.get(opportunity.id, "")):
                person = contact_leads.get(contact, contact)
            account = accounts.get(opportunity.text("AccountId"))
            return opportunity_from(opportunity, account, person, self.options)

        records = mapped_records(
            list(opportunities.values()), to_record, self.opportunities, self.progress
        )
        self.opportunities.add(ingest.ingest_opportunities(self.source, records))
        gone = set(ids) - opportunities.keys()
        if gone:
            self.opportunities.deleted += remove_opportunities(self.source, gone)

    def _derive_costs(self) -> None:
        campaigns = self._kept("Campaign", self.store.ids("Campaign")).values()
        records, problems = (
            costs_from(campaigns, self.options) if self.options["cost_feed"] else ([], [])
        )
        self.costs.rejected += len(problems)
        self.progress.errors.extend(problems)
        result, deleted = ingest.replace_costs(self.source, records)
        self.costs.add(result)
        self.costs.deleted += deleted


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _stamp(record: SObject, name: str) -> dt.datetime:
    raw = record.text(name)
    try:
        return instant(raw)
    except ValueError:
        raise SyncError(
            f"Salesforce sent a {record.type} ({record.id}) without a valid {name}: {raw[:40]!r}"
        ) from None
