"""The steps of a HubSpot sync (docs/connectors.md section 3).

This version reads everything (the list endpoints, paged to the end) every run, then
removes what HubSpot no longer has (archived, deleted or merged away: the list holds only
live records). A run with nothing changed creates and updates nothing. Incremental runs by
the search API, archived listings and merges by `hs_merged_object_ids` come next.

Each page's records are written in one transaction through the one ingest path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from django.db import transaction

from funnel import ingest
from funnel.ingest.removal import remove_opportunities, remove_persons
from funnel.models import Opportunity, Source, SourcePerson
from funnel.records import OpportunityRecord
from integrations.connections import NEEDS
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.mapping import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DEAL_PROPERTIES,
    HubSpotObject,
    RejectedRecord,
    Stage,
    opportunity_from_deal,
    person_from_contact,
)
from integrations.models import Connection, Vendor
from integrations.sync import ObjectCounts, SyncProgress
from integrations.transport import SyncError

T = TypeVar("T")


def sync_hubspot(connection: Connection, full: bool, progress: SyncProgress) -> int:
    client = HubSpotClient(connection)
    try:
        _sync(client, connection, progress)
    except SyncError as exc:
        exc.requests = client.requests_made  # type: ignore[attr-defined]
        raise
    return client.requests_made


def _sync(client: HubSpotClient, connection: Connection, progress: SyncProgress) -> None:
    source = ingest.get_or_create_source(connection.name, NEEDS[Vendor.HUBSPOT].source_kind)
    owners = client.owners()
    stages = client.stages()
    companies: dict[str, HubSpotObject] = {}
    for page in client.pages("company", COMPANY_PROPERTIES):
        companies.update((company.id, company) for company in page)
    live_contacts: set[str] = set()
    persons = progress.of("persons")
    for page in client.pages("contact", CONTACT_PROPERTIES):
        persons.fetched += len(page)
        live_contacts.update(contact.id for contact in page)
        records = _mapped(
            page, lambda contact: person_from_contact(contact, companies, owners), persons, progress
        )
        with transaction.atomic():
            persons.add(ingest.ingest_persons(source, records))
        progress.publish()
    live_deals: set[str] = set()
    opportunities = progress.of("opportunities")
    for page in client.pages("deal", DEAL_PROPERTIES):
        opportunities.fetched += len(page)
        ids = [deal.id for deal in page]
        live_deals.update(ids)
        contacts = client.deal_associations(ids, "contact")
        accounts = client.deal_associations(ids, "company")
        to_record = partial(
            _deal_record, stages=stages, companies=companies, contacts=contacts, accounts=accounts
        )
        deals = _mapped(page, to_record, opportunities, progress)
        with transaction.atomic():
            opportunities.add(ingest.ingest_opportunities(source, deals))
        progress.publish()
    persons.deleted = remove_persons(source, _gone(source, SourcePerson, live_contacts))
    opportunities.deleted = remove_opportunities(source, _gone(source, Opportunity, live_deals))


def _deal_record(
    deal: HubSpotObject,
    stages: dict[str, Stage],
    companies: dict[str, HubSpotObject],
    contacts: dict[str, list[tuple[str, list[str]]]],
    accounts: dict[str, list[tuple[str, list[str]]]],
) -> OpportunityRecord:
    """A deal with its contacts (the lowest id is its person) and its primary company."""
    primary = next(
        (companies.get(cid) for cid, labels in accounts[deal.id] if "Primary" in labels), None
    )
    contact_ids = [cid for cid, _labels in contacts[deal.id]]
    return opportunity_from_deal(deal, stages, contact_ids, primary)


def _mapped(
    objects: list[HubSpotObject],
    to_record: Callable[[HubSpotObject], T],
    counts: ObjectCounts,
    progress: SyncProgress,
) -> list[T]:
    """The canonical records of a page; one that cannot be mapped is counted rejected and
    named in the run's errors, the rest go on."""
    records = []
    for item in objects:
        try:
            records.append(to_record(item))
        except RejectedRecord as exc:
            counts.rejected += 1
            progress.errors.append(str(exc))
    return records


def _gone(
    source: Source, model: type[SourcePerson] | type[Opportunity], live: set[str]
) -> Iterable[str]:
    stored = set(model.objects.filter(source=source).values_list("external_id", flat=True))
    return stored - live
