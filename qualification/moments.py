"""Qualifying moments stored per criteria set (kpi-spec section 2b): computed for all
persons by a background job, kept current by the ingest, read by the KPI engine.

Every write of `QualifyingMoment` is here. A set's row is locked while its moments are
written (the job, chunk by chunk, and an import for the persons it touched), so the job
never writes a moment from data an import has changed under it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from funnel.choices import SourceKind, Stage
from funnel.ingest.batches import chunks
from funnel.models import Activity, Person, StageEntry
from qualification.criteria import BehaviourCondition, Criteria, parse_criteria
from qualification.evaluation import Activity as TimelineActivity
from qualification.evaluation import Profile, attributes_hold, qualifying_moment
from qualification.models import CriteriaVersion, MomentSet, QualifyingMoment

log = logging.getLogger(__name__)

CHUNK = 2_000
_PROFILE_FIELDS = (
    "pk",
    "lead_at",
    "industry",
    "company_size",
    "channel__key",
    "campaign__key",
    "owner",
    "email_normalized",
    "lead_score",
)


def fingerprint(criteria: Criteria) -> str:
    """What the moments depend on: the stage and the groups (the name does not count)."""
    groups = criteria.as_json()["groups"]
    text = json.dumps([criteria.stage, groups], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def moment_set_for(criteria: Criteria) -> MomentSet:
    """The set of these criteria, created (pending) if none exists yet."""
    moment_set, _ = MomentSet.objects.get_or_create(
        stage=criteria.stage,
        fingerprint=fingerprint(criteria),
        defaults={"definition": criteria.as_json()},
    )
    return moment_set


def ready_set(criteria: Criteria) -> MomentSet:
    """The set of these criteria, computed here and now if the job has not finished it
    (the job normally has: it starts when a draft is proposed)."""
    moment_set = moment_set_for(criteria)
    if moment_set.status != MomentSet.Status.READY:
        compute_set(moment_set.pk)
        moment_set.refresh_from_db()
    if moment_set.status != MomentSet.Status.READY:
        raise RuntimeError(f"qualifying moments could not be computed: {moment_set.error}")
    now = timezone.now()
    if moment_set.used_at is None or moment_set.used_at < now - dt.timedelta(hours=1):
        MomentSet.objects.filter(pk=moment_set.pk).update(used_at=now)
    return moment_set


def compute_set(set_id: int) -> None:
    """Every person's moment under the set, chunk by chunk with progress; a set that is
    ready already is left alone, one that failed is computed again."""
    with transaction.atomic():
        moment_set = MomentSet.objects.select_for_update().get(pk=set_id)
        if moment_set.status == MomentSet.Status.READY:
            return
        ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
        moment_set.status = MomentSet.Status.COMPUTING
        moment_set.persons_done, moment_set.persons_total = 0, len(ids)
        moment_set.error = ""
        moment_set.save(update_fields=["status", "persons_done", "persons_total", "error"])
    criteria = parse_criteria(moment_set.definition)
    done = 0
    try:
        for chunk in chunks(ids, CHUNK):
            with transaction.atomic():
                MomentSet.objects.select_for_update().filter(pk=set_id).first()
                _write(moment_set, chunk, moments_of(criteria, chunk))
                done += len(chunk)
                MomentSet.objects.filter(pk=set_id).update(persons_done=done)
    except Exception as exc:
        MomentSet.objects.filter(pk=set_id).update(
            status=MomentSet.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        log.exception("qualifying moments of set %s failed", set_id)
        raise
    if connection.vendor == "postgresql":  # the planner must know the set's size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE qualification_qualifyingmoment")
    MomentSet.objects.filter(pk=set_id).update(
        status=MomentSet.Status.READY, finished_at=timezone.now()
    )
    sync_persons_with_versions(timezone.now())


def refresh_moments(person_ids: Iterable[int]) -> None:
    """The moments of these persons under every set, again: the ingest calls this for the
    persons an import or sync touched (records, activities, merges, feedback), inside its
    transaction. No set, no cost."""
    if not MomentSet.objects.exists():
        return
    ids = sorted({int(pid) for pid in person_ids if pid is not None})
    if not ids:
        return
    with transaction.atomic():
        sets = list(
            MomentSet.objects.select_for_update()
            .exclude(status=MomentSet.Status.FAILED)
            .order_by("pk")
        )
        for moment_set in sets:
            criteria = parse_criteria(moment_set.definition)
            for chunk in chunks(ids, CHUNK):
                _write(moment_set, chunk, moments_of(criteria, chunk))


def moments_of(criteria: Criteria, person_ids: Sequence[int]) -> dict[int, dt.datetime]:
    """The qualifying moment of each of these persons that qualifies (for SQL, the earlier
    of it and sales' acceptance, kpi-spec 2b)."""
    moments: dict[int, dt.datetime] = {}
    for pid, profile in profiles(criteria, person_ids):
        moment = qualifying_moment(criteria, profile)
        if moment is not None:
            moments[pid] = moment
    if criteria.stage == Stage.SQL.value:
        for pid, accepted in _acceptances(person_ids):
            moments[pid] = min(moments.get(pid, accepted), accepted)
    return moments


def profiles(criteria: Criteria, person_ids: Sequence[int]) -> Iterator[tuple[int, Profile]]:
    """What the criteria read of each person: its attributes, and the activities of the
    types the criteria count, for the persons some group's attributes let through."""
    rows = list(Person.objects.filter(pk__in=person_ids).values_list(*_PROFILE_FIELDS))
    bare = {row[0]: _profile(row, ()) for row in rows}
    behaviours = [
        c
        for group in criteria.groups
        for c in group.conditions
        if isinstance(c, BehaviourCondition)
    ]
    hopeful = [
        pid
        for pid, profile in bare.items()
        if behaviours and any(attributes_hold(group, profile) for group in criteria.groups)
    ]
    timelines: dict[int, list[TimelineActivity]] = defaultdict(list)
    if hopeful:
        types = sorted({t for c in behaviours for t in c.types})
        # The detail (long text) is read only when a condition looks into it.
        fields = ["person_id", "occurred_at", "type"]
        if any(c.detail_contains for c in behaviours):
            fields.append("detail")
        for pid, occurred_at, kind, *detail in Activity.objects.filter(
            person_id__in=hopeful, type__in=types
        ).values_list(*fields):
            timelines[pid].append(TimelineActivity(occurred_at, kind, *detail))
    for row in rows:
        pid = row[0]
        yield pid, _profile(row, timelines.get(pid, ()))


def _profile(row: tuple[Any, ...], activities: Sequence[TimelineActivity]) -> Profile:
    _, lead_at, industry, size, channel, campaign, owner, email, score = row
    return Profile(
        lead_at=lead_at,
        industry=industry,
        company_size=size,
        channel=channel or "",
        campaign=campaign or "",
        owner=owner,
        email=email,
        lead_score=score,
        activities=tuple(activities),
    )


def _acceptances(person_ids: Sequence[int]) -> Iterable[tuple[int, dt.datetime]]:
    """Sales' first acceptance of each person (the feedback source's SQL entries)."""
    return (
        StageEntry.objects.filter(
            person_id__in=person_ids,
            stage=Stage.SQL,
            source_record__source__kind=SourceKind.FEEDBACK,
        )
        .values("person_id")
        .annotate(first=Min("entered_at"))
        .values_list("person_id", "first")
    )


def _write(moment_set: MomentSet, person_ids: Sequence[int], moments: dict[int, Any]) -> None:
    """Replace the set's moments of these persons (the caller holds the set's lock)."""
    QualifyingMoment.objects.filter(moment_set=moment_set, person_id__in=person_ids).delete()
    QualifyingMoment.objects.bulk_create(
        QualifyingMoment(moment_set=moment_set, person_id=pid, moment=moment)
        for pid, moment in moments.items()
    )
    if moment_set.on_persons:
        _copy_to_persons(moment_set, person_ids)


def _copy_to_persons(moment_set: MomentSet, person_ids: Sequence[int] | None) -> None:
    """Person.ruled_<stage>_at := the set's moment (NULL: none), for these persons or all.

    One UPDATE ... FROM joined on the set's (set, person) index: a correlated subquery per
    person lets a planner with stale statistics scan the whole set for every person."""
    column = f"ruled_{moment_set.stage}_at"
    only = Q() if person_ids is None else Q(pk__in=person_ids)
    Person.objects.filter(only).exclude(**{f"{column}__isnull": True}).update(**{column: None})
    ids = [] if person_ids is None else list(person_ids)
    if person_ids is not None and not ids:
        return
    chosen = "" if person_ids is None else f" AND qm.person_id IN ({', '.join(['%s'] * len(ids))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE funnel_person SET {column} = qm.moment "  # noqa: S608 - fixed names
            "FROM qualification_qualifyingmoment qm "
            f"WHERE qm.moment_set_id = %s AND qm.person_id = funnel_person.id{chosen}",
            [moment_set.pk, *ids],
        )


def put_on_persons(stage: str, set_id: int | None) -> None:
    """Copy a ready set's moments to Person.ruled_<stage>_at (None: clear them), so the KPI
    passes read the version in effect now from the person's own indexes."""
    column = f"ruled_{stage}_at"
    with transaction.atomic():
        sets = list(MomentSet.objects.select_for_update().filter(stage=stage).order_by("pk"))
        chosen = next((s for s in sets if s.pk == set_id), None)
        if chosen is not None and chosen.status != MomentSet.Status.READY:
            return  # the job puts it there when it is ready
        current = next((s for s in sets if s.on_persons), None)
        if current is not None and current.pk == set_id:
            return
        MomentSet.objects.filter(stage=stage, on_persons=True).update(on_persons=False)
        if chosen is None:
            Person.objects.exclude(**{f"{column}__isnull": True}).update(**{column: None})
            return
        _copy_to_persons(chosen, None)
        MomentSet.objects.filter(pk=chosen.pk).update(on_persons=True)


def sync_persons_with_versions(now: dt.datetime) -> None:
    """Person.ruled_*_at hold the sets of the versions in effect now (or nothing): after a
    version takes effect, after its set is computed, and daily as a check."""
    from qualification.applied import version_in_effect

    for stage in (Stage.MQL.value, Stage.SQL.value):
        version = version_in_effect(stage, now)
        if version is None:
            put_on_persons(stage, None)
            continue
        put_on_persons(stage, moment_set_for(parse_criteria(version.definition)).pk)


UNUSED_SET_DAYS = 7


def tidy_sets(now: dt.datetime) -> tuple[list[int], int]:
    """Daily: (the sets of drafts and versions that are not ready and no job is computing,
    to compute again; how many sets nobody needs were deleted). A set serves a version not
    rejected, or was read by `kpis --criteria FILE` in the last UNUSED_SET_DAYS days; the
    others would only cost every import."""
    needed = {
        (version.stage, fingerprint(parse_criteria(version.definition)))
        for version in CriteriaVersion.objects.exclude(status=CriteriaVersion.Status.REJECTED)
    }
    cutoff = now - dt.timedelta(days=UNUSED_SET_DAYS)
    unused = [
        s.pk
        for s in MomentSet.objects.all()
        if (s.stage, s.fingerprint) not in needed and (s.used_at or s.created_at) < cutoff
    ]
    deleted = MomentSet.objects.filter(pk__in=unused).delete()[1].get(MomentSet._meta.label, 0)
    again = list(
        MomentSet.objects.filter(
            status__in=[MomentSet.Status.PENDING, MomentSet.Status.FAILED]
        ).values_list("pk", flat=True)
    )
    return again, deleted
