"""What a connection keeps between syncs: per-object cursors, and the vendor records and
associations it last read (docs/connectors.md section 2). Every vendor's sync uses these;
each call runs inside the caller's transaction, so records and the cursor that covers
them commit together."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from funnel.ingest.batches import chunks
from funnel.ingest.bulk import insert_rows, relax_commit_durability
from integrations.models import Connection, SyncCursor, VendorLink, VendorObject


@contextmanager
def page() -> Iterator[None]:
    """One page's transaction: its records and the cursor that covers them, all or nothing.
    COMMIT does not wait for the WAL flush: a database crash in the next instant undoes the
    page and its cursor together, and the next run reads it again."""
    with transaction.atomic():
        relax_commit_durability()
        yield


def cursor(connection: Connection, vendor_object: str) -> str | None:
    found = SyncCursor.objects.filter(connection=connection, object=vendor_object).first()
    return found.value if found is not None else None


def save_cursor(connection: Connection, vendor_object: str, value: str) -> None:
    SyncCursor.objects.update_or_create(
        connection=connection, object=vendor_object, defaults={"value": value}
    )


class VendorStore:
    """One connection's copy of the vendor records it synced, and their associations."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def put(self, vendor_object: str, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Store (or replace) these records' properties, by external id: the old rows go
        and the new ones are copied in (a sync writes thousands a page; the ORM's upsert
        builds a model instance for each)."""
        self._drop(vendor_object, records)
        insert_rows(
            VendorObject,
            ("connection_id", "object", "external_id", "properties"),
            (
                (self.connection.pk, vendor_object, key, json.dumps(props, ensure_ascii=False))
                for key, props in records.items()
            ),
        )

    def _drop(self, vendor_object: str, ids: Iterable[str]) -> None:
        for chunk in chunks(sorted(ids)):
            VendorObject.objects.filter(
                connection=self.connection, object=vendor_object, external_id__in=chunk
            ).delete()

    def get(self, vendor_object: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(sorted({i for i in ids if i})):
            rows = VendorObject.objects.filter(
                connection=self.connection, object=vendor_object, external_id__in=chunk
            ).values_list("external_id", "properties")
            found.update((external_id, properties) for external_id, properties in rows)
        return found

    def ids(self, vendor_object: str) -> set[str]:
        return set(
            VendorObject.objects.filter(
                connection=self.connection, object=vendor_object
            ).values_list("external_id", flat=True)
        )

    def delete(self, vendor_object: str, ids: Collection[str]) -> None:
        """Forget these records and their own associations. Associations to them stay as
        the other end holds them (a contact's company id is its own property): the records
        pointing here are mapped again by the caller, deals with their links read again."""
        self._drop(vendor_object, ids)
        for chunk in chunks(sorted(ids)):
            VendorLink.objects.filter(
                connection=self.connection, from_object=vendor_object, from_id__in=chunk
            ).delete()

    def set_links(
        self,
        from_object: str,
        to_object: str,
        links: Mapping[str, Iterable[tuple[str, str]]],
    ) -> None:
        """Replace the `to_object` associations of these records by (to id, label) pairs."""
        for chunk in chunks(sorted(links)):
            VendorLink.objects.filter(
                connection=self.connection,
                from_object=from_object,
                to_object=to_object,
                from_id__in=chunk,
            ).delete()
        insert_rows(
            VendorLink,
            ("connection_id", "from_object", "from_id", "to_object", "to_id", "label"),
            (
                (self.connection.pk, from_object, from_id, to_object, to_id, label[:100])
                for from_id, targets in links.items()
                for to_id, label in targets
                if to_id
            ),
        )

    def links(
        self, from_object: str, to_object: str, ids: Iterable[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """Per record, its (to id, label) associations to `to_object`, in to-id order."""
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for chunk in chunks(sorted(set(ids))):
            rows = (
                VendorLink.objects.filter(
                    connection=self.connection,
                    from_object=from_object,
                    to_object=to_object,
                    from_id__in=chunk,
                )
                .order_by("from_id", "to_id", "label")
                .values_list("from_id", "to_id", "label")
            )
            for from_id, to_id, label in rows:
                found[from_id].append((to_id, label))
        return found

    def linked_to(self, from_object: str, to_object: str, ids: Iterable[str]) -> set[str]:
        """The `from_object` records associated with any of these `to_object` records."""
        found: set[str] = set()
        for chunk in chunks(sorted(set(ids))):
            found.update(
                VendorLink.objects.filter(
                    connection=self.connection,
                    from_object=from_object,
                    to_object=to_object,
                    to_id__in=chunk,
                ).values_list("from_id", flat=True)
            )
        return found

    # --- work left for later in the run (survives a run that dies) ----------------------

    def mark(self, kind: str, ids: Iterable[str]) -> None:
        """Canonical records of `kind` to derive again: committed with the vendor records
        that changed them, consumed by `done`; a run that dies leaves them for the next."""
        marks: dict[str, dict[str, Any]] = {key: {} for key in ids if key}
        if marks:
            self.put(f"pending:{kind}", marks)

    def marked(self, kind: str, limit: int) -> list[str]:
        return list(
            VendorObject.objects.filter(connection=self.connection, object=f"pending:{kind}")
            .order_by("external_id")
            .values_list("external_id", flat=True)[:limit]
        )

    def done(self, kind: str, ids: Collection[str]) -> None:
        self.delete(f"pending:{kind}", ids)


EVERYTHING = "everything"  # mark: derive every record (after a full read)
DERIVE_CHUNK = 1000
Derive = Callable[[list[str]], None]


def derive_marked(
    vendor_store: VendorStore,
    kinds: Sequence[tuple[str, Derive, Callable[[], set[str]]]],
    costs: Callable[[], None],
    publish: Callable[[], None],
) -> None:
    """Stage 2 of a sync that reads, then derives (Salesforce, Account Engagement): the
    canonical records of each kind (name, how to derive a chunk of ids, every id the
    connection holds) marked by the reading, DERIVE_CHUNK a transaction that clears their
    marks, then the costs when a campaign changed. After a full read (the EVERYTHING mark)
    every held record is derived, and the marks go at the end: a run that dies starts the
    whole derivation again."""
    if vendor_store.marked(EVERYTHING, 1):
        for _kind, derive, held in kinds:
            ids = sorted(held())
            for start in range(0, len(ids), DERIVE_CHUNK):
                with page():
                    derive(ids[start : start + DERIVE_CHUNK])
                publish()
        with page():
            costs()
            for kind in [*(kind for kind, _derive, _held in kinds), "costs", EVERYTHING]:
                vendor_store.done(kind, vendor_store.ids(f"pending:{kind}"))
        return
    for kind, derive, _held in kinds:
        while chunk := vendor_store.marked(kind, DERIVE_CHUNK):
            with page():
                derive(chunk)
                vendor_store.done(kind, chunk)
            publish()
    if vendor_store.marked("costs", 1):
        with page():
            costs()
            vendor_store.done("costs", ["costs"])
