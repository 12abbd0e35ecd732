"""`import_csv` and funnel/csv_import/importer.py: the canonical import (kpi-spec section 6).

The product's bad-row rule (importer docstring): a file problem imports nothing from that
file; a bad row is rejected whole and reported with file, row and column, the good rows of
the same file are imported, and a rejected row never touches the stored record it names.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funnel.csv_import.importer import ImportReport, import_csv_files
from funnel.models import (
    Activity,
    CostEntry,
    Opportunity,
    OpportunityChange,
    Person,
    Source,
    SourcePerson,
    StageEntry,
    Target,
)

JST = ZoneInfo("Asia/Tokyo")
PERSONS = "external_id,email,name,company,created_at,channel,campaign,mql_at,sql_at"
OPPORTUNITIES = (
    "external_id,person_external_id,person_email,account,name,amount,currency,"
    "created_at,closed_at,status,stage,loss_reason,channel"
)
ACTIVITIES = "external_id,person_external_id,person_email,type,occurred_at,detail"
COSTS = "date,channel,campaign,amount"
TARGETS = "period,kpi,value"

pytestmark = pytest.mark.django_db


def _write(directory: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _import(*paths: Path, source: str = "sfa", **options: object) -> ImportReport:
    return import_csv_files(source, list(paths), **options)  # type: ignore[arg-type]


def _errors(report: ImportReport) -> list[str]:
    return [error for f in report.files for error in f.errors]


def _warnings(report: ImportReport) -> list[str]:
    return [warning for f in report.files for warning in f.warnings]


def _command(*paths: Path, **options: object) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_csv", *map(str, paths), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _person_row(
    external_id: str = "P1",
    email: str = "taro@example.jp",
    created_at: str = "2026-04-10T10:00:00+09:00",
    mql_at: str = "",
    sql_at: str = "",
    name: str = "Taro",
) -> str:
    return f"{external_id},{email},{name},Co,{created_at},webinar,,{mql_at},{sql_at}"


def _opportunity_row(
    external_id: str = "O1",
    amount: str = "1000000",
    status: str = "open",
    created_at: str = "2026-04-20T10:00:00+09:00",
    closed_at: str = "",
    currency: str = "JPY",
    stage: str = "Proposal",
    person: str = "P1",
    name: str = "Deal",
) -> str:
    return (
        f"{external_id},{person},,Co,{name},{amount},{currency},{created_at},{closed_at},"
        f"{status},{stage},,"
    )


# --- a whole directory --------------------------------------------------------------------


def _full_directory(directory: Path) -> Path:
    _write(directory, "persons.csv", PERSONS, _person_row(), _person_row("P2", "hanako@example.jp"))
    _write(
        directory,
        "opportunities.csv",
        OPPORTUNITIES,
        _opportunity_row(),
        _opportunity_row(
            "O2",
            status="won",
            closed_at="2026-05-20T10:00:00+09:00",
            person="P2",
            amount='"¥2,000"',
        ),
    )
    _write(
        directory,
        "activities.csv",
        ACTIVITIES,
        "A1,P1,,web_visit,2026-04-11T10:00:00+09:00,/pricing",
        "A2,,,web_visit,2026-04-12T10:00:00+09:00,/",
    )
    _write(directory, "costs.csv", COSTS, "2026-04,webinar,,300000", "2026-05-10,webinar,w1,5000")
    _write(directory, "targets.csv", TARGETS, "FY2026Q1,won_amount,30000000", "FY2026Q1,leads,120")
    return directory


def test_it_imports_every_kind_of_file_of_a_directory(tmp_path: Path) -> None:
    report = _import(_full_directory(tmp_path / "sfa"))
    assert report.ok, _errors(report)
    created = {f.kind: f.result.created for f in report.files}
    assert created == {
        "persons": 2,
        "opportunities": 2,
        "activities": 2,
        "costs": 2,
        "targets": 2,
    }
    assert Person.objects.count() == 2
    assert Opportunity.objects.filter(person__isnull=False).count() == 2
    assert Opportunity.objects.get(external_id="O2").amount == Decimal(2000)
    assert Activity.objects.get(external_id="A2").person is None  # anonymous web visit
    assert Target.objects.get(kpi="won_amount").value == Decimal(30_000_000)


# --- file problems --------------------------------------------------------------------------


def test_it_imports_nothing_from_a_file_missing_a_required_column_but_imports_the_others(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "sfa"
    _write(directory, "persons.csv", PERSONS, _person_row())
    _write(
        directory,
        "opportunities.csv",
        "external_id,person_external_id,created_at,status",
        "O1,P1,2026-04-20T10:00:00+09:00,open",
    )
    report = _import(directory)
    assert not report.ok
    by_kind = {f.kind: f for f in report.files}
    assert by_kind["opportunities"].failed
    (error,) = by_kind["opportunities"].errors
    assert "opportunities.csv" in error
    assert "amount" in error
    assert Opportunity.objects.count() == 0
    assert not by_kind["persons"].failed
    assert Person.objects.count() == 1


def test_it_names_every_missing_required_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "persons.csv", "email,name", "a@example.jp,A")
    report = _import(path)
    (error,) = _errors(report)
    assert "external_id" in error
    assert "created_at" in error
    assert Person.objects.count() == 0


def test_it_requires_a_person_reference_column_in_activities(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "activities.csv", "external_id,type,occurred_at", "A1,web_visit,2026-05-01"
    )
    report = _import(path)
    assert report.files[0].failed
    (error,) = _errors(report)
    assert "activities.csv" in error
    assert "person_external_id" in error
    assert Activity.objects.count() == 0


def test_it_warns_about_an_unknown_column_and_imports_the_rest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        "external_id,created_at,favourite_colour",
        "P1,2026-04-10T10:00:00+09:00,blue",
    )
    report = _import(path)
    assert report.ok
    (warning,) = _warnings(report)
    assert "favourite_colour" in warning
    assert "persons.csv" in warning
    assert Person.objects.count() == 1


def test_it_needs_kind_for_a_file_whose_name_does_not_say_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "export_2026-05.csv", PERSONS, _person_row())
    report = _import(path)
    assert report.files[0].failed
    (error,) = _errors(report)
    assert "export_2026-05.csv" in error
    assert "--kind" in error
    assert Person.objects.count() == 0
    with pytest.raises(CommandError):
        _command(path, source="sfa")
    _command(path, source="sfa", kind="persons")
    assert Person.objects.count() == 1


def test_it_finds_the_kind_in_a_longer_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "hubspot-persons_2026-05.csv", PERSONS, _person_row())
    report = _import(path)
    assert report.files[0].kind == "persons"
    assert Person.objects.count() == 1


# --- bad rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header", "row", "column"),
    [
        ("persons.csv", PERSONS, _person_row(created_at="04/05/2026"), "created_at"),
        ("persons.csv", PERSONS, _person_row(created_at="45123"), "created_at"),
        ("persons.csv", PERSONS, _person_row(created_at="2026-02-30"), "created_at"),
        ("persons.csv", PERSONS, _person_row(mql_at="yesterday"), "mql_at"),
        ("persons.csv", PERSONS, _person_row(sql_at="2026-05-01T10:00:00+24:00"), "sql_at"),
        ("persons.csv", "external_id,created_at,lead_score", "P1,2026-05-01,high", "lead_score"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(amount="30M"), "amount"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(amount="-100"), "amount"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(amount="n/a"), "amount"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(status="pending"), "status"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(currency="USD"), "currency"),
        (
            "opportunities.csv",
            OPPORTUNITIES,
            _opportunity_row(status="open", closed_at="soon"),
            "closed_at",
        ),
        ("activities.csv", ACTIVITIES, "A1,P1,,tweet,2026-05-01,", "type"),
        ("activities.csv", ACTIVITIES, "A1,P1,,web_visit,45123,", "occurred_at"),
        ("costs.csv", COSTS, "2026-13,webinar,,1000", "date"),
        ("costs.csv", COSTS, "2026-05,webinar,,n/a", "amount"),
        ("targets.csv", TARGETS, "FY2026Q5,leads,120", "period"),
        ("targets.csv", TARGETS, "2026-13,leads,120", "period"),
        ("targets.csv", TARGETS, "FY2026Q1,revenue_typo,120", "kpi"),
        ("targets.csv", TARGETS, "FY2026Q1,won_amount,-5", "value"),
        ("targets.csv", TARGETS, "FY2026Q1,won_amount,30M", "value"),
    ],
)
def test_it_names_file_row_and_column_of_a_bad_value(
    tmp_path: Path, name: str, header: str, row: str, column: str
) -> None:
    path = _write(tmp_path, name, header, row)
    report = _import(path)
    assert not report.ok
    (error,) = _errors(report)
    assert name in error
    assert "row 2" in error  # the header is row 1
    assert column in error
    assert report.files[0].result.rejected == 1
    assert report.files[0].result.created == 0


def test_it_accepts_money_with_separators_and_yen_signs(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "opportunities.csv",
        OPPORTUNITIES,
        _opportunity_row("O1", amount='"1,200,000"'),
        _opportunity_row("O2", amount='"¥1,200,000"'),
        _opportunity_row("O3", amount="￥1200000円"),
        _opportunity_row("O4", amount="1200000円"),
    )
    report = _import(path)
    assert report.ok, _errors(report)
    assert set(Opportunity.objects.values_list("amount", flat=True)) == {Decimal(1_200_000)}


def test_it_reports_every_bad_row_not_only_the_first(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        PERSONS,
        _person_row("P1", "a@example.jp"),
        _person_row("P2", "b@example.jp", created_at="04/05/2026"),
        _person_row("P3", "c@example.jp"),
        _person_row("P4", "d@example.jp", mql_at="n/a"),
        _person_row("P5", "e@example.jp", created_at=""),
    )
    report = _import(path)
    errors = _errors(report)
    assert len(errors) == 3
    assert "row 3" in errors[0] and "created_at" in errors[0]
    assert "row 5" in errors[1] and "mql_at" in errors[1]
    assert "row 6" in errors[2] and "created_at" in errors[2]
    assert report.files[0].result.rejected == 3


def test_it_reports_every_bad_column_of_one_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "opportunities.csv",
        OPPORTUNITIES,
        _opportunity_row(amount="30M", currency="USD", status="won", closed_at=""),
    )
    errors = _errors(_import(path))
    assert all("row 2" in e for e in errors)
    columns = {c for c in ("amount", "currency", "closed_at") if any(c in e for e in errors)}
    assert columns == {"amount", "currency", "closed_at"}


def test_it_imports_the_good_rows_of_a_file_with_bad_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        PERSONS,
        _person_row("P1", "a@example.jp"),
        _person_row("P2", "b@example.jp", mql_at="04/05/2026"),
        _person_row("P3", "c@example.jp"),
    )
    report = _import(path)
    assert (report.files[0].result.created, report.files[0].result.rejected) == (2, 1)
    assert set(SourcePerson.objects.values_list("external_id", flat=True)) == {"P1", "P3"}
    # A bad row is never partly imported: no person for b@example.jp at all.
    assert not Person.objects.filter(email_normalized="b@example.jp").exists()


def test_it_rejects_a_row_with_too_many_or_too_few_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        "external_id,email,created_at",
        "P1,a@example.jp,2026-04-10",
        "P2,b@example.jp,2026-04-10,extra",
        "P3,c@example.jp",
        "P4,d@example.jp,2026-04-10",
    )
    report = _import(path)
    errors = _errors(report)
    assert len(errors) == 2
    assert "persons.csv" in errors[0] and "row 3" in errors[0]
    assert "persons.csv" in errors[1] and "row 4" in errors[1]
    assert report.files[0].result.rejected == 2
    assert set(SourcePerson.objects.values_list("external_id", flat=True)) == {"P1", "P4"}


@pytest.mark.parametrize(
    ("name", "header", "row", "column"),
    [
        ("persons.csv", PERSONS, _person_row(external_id=""), "external_id"),
        ("persons.csv", PERSONS, _person_row(created_at="  "), "created_at"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(amount=""), "amount"),
        ("opportunities.csv", OPPORTUNITIES, _opportunity_row(status=""), "status"),
        ("activities.csv", ACTIVITIES, "A1,P1,,,2026-05-01,", "type"),
        ("costs.csv", COSTS, "2026-05,,,1000", "channel"),
        ("targets.csv", TARGETS, "FY2026Q1,leads,", "value"),
    ],
)
def test_it_rejects_an_empty_required_value(
    tmp_path: Path, name: str, header: str, row: str, column: str
) -> None:
    report = _import(_write(tmp_path, name, header, row))
    (error,) = _errors(report)
    assert name in error and "row 2" in error and column in error
    assert report.files[0].result.created == 0


def test_it_rejects_a_second_row_with_the_same_external_id(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        PERSONS,
        _person_row("P1", "a@example.jp", name="First"),
        _person_row("P2", "b@example.jp"),
        _person_row("P1", "a@example.jp", name="Second"),
    )
    report = _import(path)
    (error,) = _errors(report)
    assert "persons.csv" in error and "row 4" in error and "row 2" in error
    assert report.files[0].result.rejected == 1
    assert SourcePerson.objects.get(external_id="P1").name == "First"


def test_it_accepts_closed_before_created_with_a_warning_naming_row_and_column(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        "opportunities.csv",
        OPPORTUNITIES,
        _opportunity_row("O1"),
        _opportunity_row(
            "O2",
            status="won",
            created_at="2026-05-10T10:00:00+09:00",
            closed_at="2026-05-01T10:00:00+09:00",
        ),
    )
    report = _import(path)
    assert report.ok
    (warning,) = _warnings(report)
    assert "opportunities.csv" in warning and "row 3" in warning and "closed_at" in warning
    assert Opportunity.objects.get(external_id="O2").closed_at == dt.datetime(
        2026, 5, 1, 10, tzinfo=JST
    )


def test_it_rejects_a_foreign_currency_and_accepts_the_company_currency(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "opportunities.csv",
        OPPORTUNITIES,
        _opportunity_row("O1", currency="USD"),
        _opportunity_row("O2", currency="JPY"),
        _opportunity_row("O3", currency=""),
    )
    report = _import(path)
    (error,) = _errors(report)
    assert "row 2" in error and "currency" in error and "USD" in error
    assert set(Opportunity.objects.values_list("external_id", flat=True)) == {"O2", "O3"}


@pytest.mark.parametrize("status", ["won", "lost"])
def test_it_rejects_a_closed_opportunity_without_closed_at(tmp_path: Path, status: str) -> None:
    path = _write(
        tmp_path,
        "opportunities.csv",
        OPPORTUNITIES,
        _opportunity_row("O1", status=status),
        _opportunity_row("O2", status="open"),
    )
    report = _import(path)
    (error,) = _errors(report)
    assert "row 2" in error and "closed_at" in error
    assert list(Opportunity.objects.values_list("external_id", flat=True)) == ["O2"]


def test_it_keeps_the_stored_values_of_a_person_resent_with_a_bad_value(tmp_path: Path) -> None:
    good = _write(
        tmp_path / "1", "persons.csv", PERSONS, _person_row(name="Taro", mql_at="2026-04-12")
    )
    _import(good)
    bad = _write(
        tmp_path / "2",
        "persons.csv",
        PERSONS,
        _person_row(name="Changed", mql_at="04/05/2026"),
    )
    report = _import(bad)
    assert report.files[0].result.rejected == 1
    stored = SourcePerson.objects.get(external_id="P1")
    assert stored.name == "Taro"
    assert stored.mql_at == dt.datetime(2026, 4, 12, tzinfo=JST)
    person = Person.objects.get()
    assert (person.name, person.mql_at) == ("Taro", dt.datetime(2026, 4, 12, tzinfo=JST))


def test_it_keeps_the_stored_values_of_an_opportunity_resent_with_a_bad_value(
    tmp_path: Path,
) -> None:
    _import(_write(tmp_path / "1", "opportunities.csv", OPPORTUNITIES, _opportunity_row()))
    changes = OpportunityChange.objects.count()
    report = _import(
        _write(
            tmp_path / "2",
            "opportunities.csv",
            OPPORTUNITIES,
            _opportunity_row(amount="-5", status="won", stage="Closed", name="Renamed"),
        )
    )
    assert report.files[0].result.rejected == 1
    stored = Opportunity.objects.get()
    assert (stored.amount, stored.status, stored.stage, stored.name) == (
        Decimal(1_000_000),
        "open",
        "Proposal",
        "Deal",
    )
    assert OpportunityChange.objects.count() == changes


def test_it_stores_text_verbatim(tmp_path: Path) -> None:
    texts = {
        "P1": (
            '"=HYPERLINK(""http://evil.example"",""click"")"',
            '=HYPERLINK("http://evil.example","click")',
        ),
        "P2": ("'; DROP TABLE funnel_person; --", "'; DROP TABLE funnel_person; --"),
        "P3": ("山田 🚀 太郎", "山田 🚀 太郎"),
        "P4": ("\"+cmd|' /C calc'!A0\"", "+cmd|' /C calc'!A0"),
        "P5": ('"Robert ""Bobby"", Jr."', 'Robert "Bobby", Jr.'),
    }
    path = _write(
        tmp_path,
        "persons.csv",
        "external_id,created_at,name,company",
        *(f"{key},2026-04-10,{raw},{raw}" for key, (raw, _) in texts.items()),
    )
    report = _import(path)
    assert report.ok, _errors(report)
    stored = {sp.external_id: (sp.name, sp.company) for sp in SourcePerson.objects.all()}
    assert stored == {key: (text, text) for key, (_, text) in texts.items()}
    assert set(Person.objects.values_list("name", flat=True)) == {t for _, t in texts.values()}


def test_it_stores_activity_detail_and_opportunity_name_verbatim(tmp_path: Path) -> None:
    text = '=HYPERLINK("x") 🚀 \'; DROP TABLE'
    quoted = '"' + text.replace('"', '""') + '"'
    _import(
        _write(tmp_path, "activities.csv", ACTIVITIES, f"A1,,,download,2026-05-01,{quoted}"),
        _write(tmp_path, "opportunities.csv", OPPORTUNITIES, _opportunity_row(name=quoted)),
    )
    assert Activity.objects.get().detail == text
    assert Opportunity.objects.get().name == text


# --- dry run, re-import, history ------------------------------------------------------


def test_it_writes_nothing_on_a_dry_run_but_reports_counts(tmp_path: Path) -> None:
    directory = _full_directory(tmp_path / "sfa")
    out, _ = _command(directory, source="sfa", dry_run=True)
    assert "persons.csv" in out and "created 2" in out
    assert "would be written" in out
    for model in (Source, Person, SourcePerson, Opportunity, Activity, CostEntry, Target):
        assert model.objects.count() == 0, model.__name__
    out, _ = _command(directory, source="sfa", dry_run=True, json=True)
    counts = {f["kind"]: f["created"] for f in json.loads(out)}
    assert counts == {"persons": 2, "opportunities": 2, "activities": 2, "costs": 2, "targets": 2}


def test_it_reports_the_same_counts_on_a_dry_run_as_on_the_real_run(tmp_path: Path) -> None:
    """A dry run "validates and reports"; its report must be the one the import would give,
    including opportunities linked to persons of the same run (no false "unlinked")."""
    directory = _full_directory(tmp_path / "sfa")
    dry = [f.as_dict() for f in _import(directory, dry_run=True).files]
    real = [f.as_dict() for f in _import(directory).files]
    assert dry == real


def test_it_reports_every_row_unchanged_on_a_reimport_and_changes_nothing(tmp_path: Path) -> None:
    directory = _full_directory(tmp_path / "sfa")
    _import(directory)
    models = (
        Person,
        SourcePerson,
        StageEntry,
        Opportunity,
        OpportunityChange,
        Activity,
        CostEntry,
        Target,
    )
    before = {m.__name__: sorted(m.objects.values_list("pk", flat=True)) for m in models}
    stamps = list(Opportunity.objects.values_list("updated_at", flat=True))
    report = _import(directory)
    assert report.ok
    for file_report in report.files:
        result = file_report.result
        assert (result.created, result.updated, result.rejected) == (0, 0, 0), file_report.path
        assert result.unchanged == file_report.rows == 2
    after = {m.__name__: sorted(m.objects.values_list("pk", flat=True)) for m in models}
    assert after == before
    assert list(Opportunity.objects.values_list("updated_at", flat=True)) == stamps


def test_it_updates_a_changed_opportunity_and_records_its_history(tmp_path: Path) -> None:
    _import(_write(tmp_path / "1", "opportunities.csv", OPPORTUNITIES, _opportunity_row()))
    opportunity = Opportunity.objects.get()
    assert opportunity.changes.count() == 1
    report = _import(
        _write(
            tmp_path / "2",
            "opportunities.csv",
            OPPORTUNITIES,
            _opportunity_row(
                status="won",
                closed_at="2026-06-01T10:00:00+09:00",
                stage="Closed",
                amount="1500000",
            ),
        )
    )
    assert (report.files[0].result.updated, report.files[0].result.created) == (1, 0)
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.amount, opportunity.stage) == (
        "won",
        Decimal(1_500_000),
        "Closed",
    )
    history = list(opportunity.changes.values_list("status", "stage", "amount"))
    assert history == [
        ("open", "Proposal", Decimal(1_000_000)),
        ("won", "Closed", Decimal(1_500_000)),
    ]
    assert Opportunity.objects.count() == 1


def test_it_records_a_new_stage_date_of_a_person_as_history(tmp_path: Path) -> None:
    _import(_write(tmp_path / "1", "persons.csv", PERSONS, _person_row(mql_at="2026-04-12")))
    assert list(StageEntry.objects.values_list("stage", flat=True)) == ["mql"]
    report = _import(
        _write(
            tmp_path / "2",
            "persons.csv",
            PERSONS,
            _person_row(mql_at="2026-04-12", sql_at="2026-04-15T11:00:00+09:00"),
        )
    )
    assert report.files[0].result.updated == 1
    assert sorted(StageEntry.objects.values_list("stage", flat=True)) == ["mql", "sql"]
    person = Person.objects.get()
    assert person.sql_at == dt.datetime(2026, 4, 15, 11, tzinfo=JST)
    assert person.mql_at == dt.datetime(2026, 4, 12, tzinfo=JST)


def test_it_keeps_the_first_mql_at_of_a_recycled_person(tmp_path: Path) -> None:
    _import(_write(tmp_path / "1", "persons.csv", PERSONS, _person_row(mql_at="2026-04-12")))
    _import(_write(tmp_path / "2", "persons.csv", PERSONS, _person_row(mql_at="2026-05-20")))
    person = Person.objects.get()
    assert person.mql_at == dt.datetime(2026, 4, 12, tzinfo=JST)
    entries = sorted(StageEntry.objects.filter(stage="mql").values_list("entered_at", flat=True))
    assert entries == [dt.datetime(2026, 4, 12, tzinfo=JST), dt.datetime(2026, 5, 20, tzinfo=JST)]
    assert SourcePerson.objects.get().mql_at == dt.datetime(2026, 5, 20, tzinfo=JST)


def test_it_replaces_a_reimported_cost_instead_of_adding(tmp_path: Path) -> None:
    _import(_write(tmp_path / "1", "costs.csv", COSTS, "2026-05,webinar,,100000"), source="ma")
    report = _import(
        _write(tmp_path / "2", "costs.csv", COSTS, "2026-05,webinar,,150000"), source="ma"
    )
    assert report.files[0].result.updated == 1
    (entry,) = CostEntry.objects.all()
    assert entry.amount == Decimal(150_000)


def test_it_keeps_costs_of_other_campaigns_and_sources_apart(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "costs.csv", COSTS, "2026-05,webinar,,100000", "2026-05,webinar,w1,7000"
    )
    _import(path, source="ma")
    _import(path, source="agency")
    assert CostEntry.objects.count() == 4


def test_it_replaces_a_reimported_target(tmp_path: Path) -> None:
    _import(_write(tmp_path / "1", "targets.csv", TARGETS, "FY2026Q1,won_amount,30000000"))
    report = _import(
        _write(tmp_path / "2", "targets.csv", TARGETS, 'FY2026Q1,won_amount,"¥35,000,000"'),
        source="other",
    )
    assert report.files[0].result.updated == 1
    (target,) = Target.objects.all()
    assert target.value == Decimal(35_000_000)
    assert (target.start, target.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))


def test_it_dates_a_monthly_cost_on_the_first_day_of_the_month(tmp_path: Path) -> None:
    _import(_write(tmp_path, "costs.csv", COSTS, "2026-05,webinar,,100000", "2026-06-15,ads,,1"))
    dates = dict(CostEntry.objects.values_list("channel__key", "date"))
    assert dates == {"webinar": dt.date(2026, 5, 1), "ads": dt.date(2026, 6, 15)}


# --- the command ------------------------------------------------------------------------


def test_it_exits_non_zero_when_rows_were_rejected(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        PERSONS,
        _person_row("P1", "a@example.jp"),
        _person_row("P2", "b@example.jp", created_at="04/05/2026"),
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_csv", str(path), source="sfa", stdout=out, stderr=err)
    assert raised.value.returncode != 0
    assert "persons.csv, row 3, column created_at" in err.getvalue()
    assert Person.objects.count() == 1


def test_it_exits_non_zero_on_a_file_problem(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    path.write_bytes("external_id,created_at\r\nP1,2026-05-01\r\n".encode("utf-16"))
    with pytest.raises(CommandError) as raised:
        _command(path, source="sfa")
    assert raised.value.returncode != 0


def test_it_exits_non_zero_for_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as raised:
        _command(tmp_path / "nope.csv", source="sfa")
    assert "nope.csv" in str(raised.value)


def test_it_exits_zero_when_every_row_was_imported(tmp_path: Path) -> None:
    out, err = _command(_full_directory(tmp_path / "sfa"), source="sfa")
    assert err == ""
    assert "persons.csv" in out and "created 2" in out
    assert Person.objects.count() == 2


def test_it_exits_zero_with_warnings_only(tmp_path: Path) -> None:
    path = _write(tmp_path, "persons.csv", "external_id,created_at,shoe_size", "P1,2026-05-01,42")
    out, _ = _command(path, source="sfa")
    assert "shoe_size" in out


def test_it_imports_a_declared_encoding_through_the_command(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        "external_id,created_at,name",
        "P1,2026-05-01,山田",
        encoding="cp932",
    )
    _command(path, source="sfa", encoding="cp932")
    assert Person.objects.get().name == "山田"
