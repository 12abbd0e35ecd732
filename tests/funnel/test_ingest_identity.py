"""funnel/ingest: identity across sources (kpi-spec sections 2 and 6).

One person per normalised email across sources; an opportunity finds its person by
`person_external_id` within its own source, else by `person_email` across sources; records
whose person arrives later are linked when it does; unlinked records are counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from funnel import ingest
from funnel.csv_import.importer import import_csv_files
from funnel.models import Activity, Opportunity, Person, Source, SourcePerson, StageEntry
from funnel.records import ActivityRecord, OpportunityRecord, PersonRecord

JST = ZoneInfo("Asia/Tokyo")
pytestmark = pytest.mark.django_db
MakeSource = Callable[..., Source]


def _at(day: int, hour: int = 10, month: int = 4) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=JST)


def _person(external_id: str, email: str = "", day: int = 1, **fields: object) -> PersonRecord:
    return PersonRecord(external_id=external_id, created_at=_at(day), email=email, **fields)  # type: ignore[arg-type]


def _deal(
    external_id: str,
    person_external_id: str = "",
    person_email: str = "",
    day: int = 20,
    **fields: object,
) -> OpportunityRecord:
    return OpportunityRecord(
        external_id=external_id,
        amount=Decimal(1_000_000),
        created_at=_at(day),
        status="open",
        person_external_id=person_external_id,
        person_email=person_email,
        **fields,  # type: ignore[arg-type]
    )


def test_it_merges_a_person_held_by_two_sources_with_different_email_case(
    source: MakeSource,
) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(
        ma, [_person("P1", "Taro.Yamada@Example.co.jp", day=3, mql_at=_at(5), channel="webinar")]
    )
    ingest.ingest_persons(
        sfa, [_person("L1", "  TARO.YAMADA@example.CO.JP ", day=1, sql_at=_at(8), mql_at=_at(6))]
    )
    person = Person.objects.get()
    assert person.email_normalized == "taro.yamada@example.co.jp"
    assert SourcePerson.objects.filter(person=person).count() == 2
    # Each stage date is the earliest among its sources; lead_at the earliest creation.
    assert person.lead_at == _at(1)
    assert person.mql_at == _at(5)
    assert person.sql_at == _at(8)
    # The first-touch channel is the non-empty channel of the earliest-created record.
    assert person.channel is not None and person.channel.key == "webinar"


def test_it_merges_two_sources_in_either_order(source: MakeSource) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(sfa, [_person("L1", "HANAKO@example.jp", day=2)])
    ingest.ingest_persons(ma, [_person("P1", "hanako@example.jp", day=4, mql_at=_at(6))])
    person = Person.objects.get()
    assert (person.lead_at, person.mql_at) == (_at(2), _at(6))


def test_it_merges_two_records_of_one_batch_with_the_same_email(source: MakeSource) -> None:
    ma = source("ma")
    result = ingest.ingest_persons(
        ma, [_person("P1", "a@example.jp", day=3), _person("P2", "A@EXAMPLE.JP", day=1)]
    )
    assert result.created == 2
    person = Person.objects.get()
    assert person.lead_at == _at(1)


@pytest.mark.parametrize("gaining_first", [True, False])
def test_it_merges_a_record_that_gains_the_email_of_a_new_record_of_the_same_batch(
    source: MakeSource, gaining_first: bool
) -> None:
    """Found by the import-path property test: the stored person and the batch's new person
    both took the email, and the unique email index refused the second."""
    ma = source("ma")
    ingest.ingest_persons(ma, [_person("P1", day=1)])
    gaining, new = _person("P1", "a@example.jp", day=1), _person("P2", "A@example.jp", day=2)
    result = ingest.ingest_persons(ma, [gaining, new] if gaining_first else [new, gaining])
    assert (result.created, result.updated) == (1, 1)
    person = Person.objects.get()
    assert person.email_normalized == "a@example.jp"
    assert person.lead_at == _at(1)
    assert person.source_records.count() == 2


def test_it_keeps_persons_without_email_apart(source: MakeSource) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(ma, [_person("P1"), _person("P2")])
    ingest.ingest_persons(sfa, [_person("P1")])
    assert Person.objects.count() == 3


def test_it_links_an_opportunity_imported_before_its_person(source: MakeSource) -> None:
    sfa = source("sfa")
    result = ingest.ingest_opportunities(sfa, [_deal("O1", person_external_id="L1", day=20)])
    assert result.unlinked == 1
    assert Opportunity.objects.get().person is None
    ingest.ingest_persons(sfa, [_person("L1", "late@example.jp", day=2)])
    opportunity = Opportunity.objects.get()
    assert opportunity.person is not None
    assert opportunity.person.email_normalized == "late@example.jp"
    assert opportunity.person.opportunity_at == _at(20)


def test_it_links_an_opportunity_by_email_when_a_person_arrives_from_another_source(
    source: MakeSource,
) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_opportunities(sfa, [_deal("O1", person_email="Buyer@Example.jp")])
    ingest.ingest_activities(
        sfa,
        [
            ActivityRecord(
                "A1", "webinar", _at(10), person_email="buyer@example.jp", detail="seminar"
            )
        ],
    )
    ingest.ingest_persons(ma, [_person("M1", "buyer@example.jp")])
    person = Person.objects.get()
    assert Opportunity.objects.get().person == person
    assert Activity.objects.get().person == person
    person.refresh_from_db()
    assert person.opportunity_at == _at(20)


def test_it_links_by_external_id_within_its_own_source_first(source: MakeSource) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(ma, [_person("X1", "ma-x1@example.jp")])
    ingest.ingest_persons(sfa, [_person("X1", "sfa-x1@example.jp")])
    # The id wins over an email that names another person.
    ingest.ingest_opportunities(
        sfa, [_deal("O1", person_external_id="X1", person_email="ma-x1@example.jp")]
    )
    linked = Opportunity.objects.get().person
    assert linked is not None and linked.email_normalized == "sfa-x1@example.jp"


def test_it_does_not_link_by_an_external_id_of_another_source(source: MakeSource) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(ma, [_person("M9", "m9@example.jp")])
    result = ingest.ingest_opportunities(sfa, [_deal("O1", person_external_id="M9")])
    assert result.unlinked == 1
    assert Opportunity.objects.get().person is None


def test_it_falls_back_to_the_email_across_sources(source: MakeSource) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(ma, [_person("M1", "buyer@example.jp")])
    result = ingest.ingest_opportunities(
        sfa, [_deal("O1", person_external_id="UNKNOWN", person_email=" BUYER@example.jp ")]
    )
    assert result.unlinked == 0
    linked = Opportunity.objects.get().person
    assert linked is not None and linked.email_normalized == "buyer@example.jp"


def test_it_counts_unlinked_opportunities_and_activities_in_the_import_report(
    tmp_path: Path, source: MakeSource
) -> None:
    ingest.ingest_persons(source("sfa"), [_person("L1", "known@example.jp")])
    (tmp_path / "opportunities.csv").write_bytes(
        b"external_id,person_external_id,person_email,amount,created_at,status\r\n"
        b"O1,L1,,1000,2026-04-20,open\r\n"
        b"O2,L404,,1000,2026-04-20,open\r\n"
        b"O3,,nobody@example.jp,1000,2026-04-20,open\r\n"
        b"O4,,,1000,2026-04-20,open\r\n"
    )
    (tmp_path / "activities.csv").write_bytes(
        b"external_id,person_external_id,person_email,type,occurred_at\r\n"
        b"A1,L1,,web_visit,2026-04-20\r\n"
        b"A2,L404,,web_visit,2026-04-20\r\n"
        b"A3,,,web_visit,2026-04-20\r\n"
    )
    report = import_csv_files("sfa", [tmp_path])
    unlinked = {f.kind: f.as_dict()["unlinked"] for f in report.files}
    # O4 and A3 name no person at all: anonymous, not unlinked.
    assert unlinked == {"opportunities": 2, "activities": 1}
    # Unlinked records are kept (they still count in the period KPIs).
    assert Opportunity.objects.count() == 4
    assert Activity.objects.count() == 3


def test_it_moves_a_record_whose_email_changes_and_merges_the_orphan_away(
    source: MakeSource,
) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(ma, [_person("M1", "taro@example.jp", day=5, mql_at=_at(6))])
    ingest.ingest_persons(sfa, [_person("L1", "taro@old-company.jp", day=2, sql_at=_at(9))])
    ingest.ingest_opportunities(sfa, [_deal("O1", person_external_id="L1", day=20)])
    assert Person.objects.count() == 2
    orphan = Person.objects.get(email_normalized="taro@old-company.jp")

    ingest.ingest_persons(sfa, [_person("L1", "Taro@Example.jp", day=2, sql_at=_at(9))])

    person = Person.objects.get()  # the orphan was merged away
    assert person.email_normalized == "taro@example.jp"
    assert not Person.objects.filter(pk=orphan.pk).exists()
    assert set(SourcePerson.objects.values_list("person_id", flat=True)) == {person.pk}
    assert Opportunity.objects.get().person == person  # opportunities follow
    assert set(StageEntry.objects.values_list("person_id", flat=True)) == {person.pk}
    assert (person.lead_at, person.mql_at, person.sql_at) == (_at(2), _at(6), _at(9))
    assert person.opportunity_at == _at(20)


def test_it_moves_a_record_to_a_new_email_nobody_else_has(source: MakeSource) -> None:
    sfa = source("sfa")
    ingest.ingest_persons(sfa, [_person("L1", "old@example.jp", day=2)])
    ingest.ingest_opportunities(sfa, [_deal("O1", person_external_id="L1")])
    ingest.ingest_persons(sfa, [_person("L1", "new@example.jp", day=2)])
    person = Person.objects.get()
    assert person.email_normalized == "new@example.jp"
    assert Opportunity.objects.get().person == person
    assert person.opportunity_at == _at(20)


def test_it_keeps_a_person_that_still_has_another_record_when_one_record_moves(
    source: MakeSource,
) -> None:
    ma, sfa = source("ma"), source("sfa")
    ingest.ingest_persons(ma, [_person("M1", "shared@example.jp", day=1)])
    ingest.ingest_persons(sfa, [_person("L1", "shared@example.jp", day=3)])
    ingest.ingest_persons(sfa, [_person("L1", "other@example.jp", day=3)])
    emails = set(Person.objects.values_list("email_normalized", flat=True))
    assert emails == {"shared@example.jp", "other@example.jp"}
    assert Person.objects.get(email_normalized="shared@example.jp").lead_at == _at(1)
    assert Person.objects.get(email_normalized="other@example.jp").lead_at == _at(3)


def test_it_changes_nothing_when_the_same_batches_come_again(source: MakeSource) -> None:
    ma, sfa = source("ma"), source("sfa")
    persons = [_person("M1", "a@example.jp", mql_at=_at(3)), _person("M2", "b@example.jp")]
    deals = [_deal("O1", person_email="a@example.jp"), _deal("O2", person_external_id="M2")]
    ingest.ingest_persons(ma, persons)
    ingest.ingest_opportunities(sfa, deals)
    again_persons = ingest.ingest_persons(ma, persons)
    again_deals = ingest.ingest_opportunities(sfa, deals)
    assert (again_persons.created, again_persons.updated, again_persons.unchanged) == (0, 0, 2)
    assert (again_deals.created, again_deals.updated, again_deals.unchanged) == (0, 0, 2)
    # O2 names M2, an id of another source, and no email: it stays unlinked.
    assert again_deals.unlinked == 1
