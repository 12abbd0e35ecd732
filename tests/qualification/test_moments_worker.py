"""The qualifying moments' background job on a real Celery worker (PostgreSQL + Redis): a
proposal queues it once committed, the worker computes every person's moment, and an
approval puts the version's dates on the persons."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from funnel.models import Person
from qualification import services
from qualification.criteria import parse_criteria
from qualification.models import MomentSet, QualifyingMoment
from qualification.moments import moment_set_for, moments_of
from tests.integrations.test_sync_runs import worker  # noqa: F401 - the fixture
from tests.qualification.test_kpis_under_criteria import MQL_CRITERIA


def _wait(condition: Any, log: Path, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    pytest.fail(f"{what} after {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_worker_computes_a_proposed_draft_and_follows_its_approval(
    worker: Path,  # noqa: F811
    example_dir: Path,
    role_user: Any,
) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    criteria = parse_criteria(MQL_CRITERIA)
    draft = services.propose(criteria, role_user("ops_admin"), "by the worker")
    moment_set = moment_set_for(criteria)
    _wait(
        lambda: MomentSet.objects.get(pk=moment_set.pk).status == MomentSet.Status.READY,
        worker,
        "the moments are not computed",
    )
    done = MomentSet.objects.get(pk=moment_set.pk)
    assert done.persons_done == done.persons_total == Person.objects.count()
    stored = dict(
        QualifyingMoment.objects.filter(moment_set=done).values_list("person_id", "moment")
    )
    assert stored == moments_of(criteria, list(Person.objects.values_list("pk", flat=True)))
    services.approve(draft, role_user("marketing"))
    services.approve(draft, role_user("sales"))
    _wait(
        lambda: MomentSet.objects.get(pk=moment_set.pk).on_persons,
        worker,
        "the version's dates are not on the persons",
    )
    copied = dict(Person.objects.exclude(ruled_mql_at=None).values_list("pk", "ruled_mql_at"))
    assert copied == stored
    assert "qualification.tasks.compute_moments_task" in worker.read_text()
