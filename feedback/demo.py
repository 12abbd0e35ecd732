"""The demo's sales feedback: what the demo sales manager decided on the marketing leads of
the last weeks, so the feedback summary, the quarterly report's feedback section and the
weekly meeting show a working loop instead of empty tables (`load_demo`)."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.roles import SALES
from feedback.models import Feedback
from feedback.selectors import waiting_mqls
from feedback.services import decide
from funnel.demo import DEMO_USERS

DEMO_WEEKS = 8  # how far back the demo's decisions go
DECIDED_SHARE = 0.7  # of the MQLs of those weeks that still wait: sales now use the inbox
ACCEPTED_SHARE = 0.55
# (reason, weight, what the sales rep wrote)
REJECTIONS = (
    ("no_timing", 5, "半年以上先の検討。ナーチャリングに戻してください"),
    ("no_budget", 4, "今期の予算なし。来年度の予算取りで再検討"),
    ("wrong_target", 3, "従業員10名未満で対象外"),
    ("competitor", 2, "他社ツールで決定済み"),
    ("student_job_seeker", 1, ""),
)


def ensure_demo_feedback(seed: int, now: dt.datetime | None = None) -> tuple[int, bool]:
    """Decide a deterministic share of the MQLs of the last weeks that still wait, each
    hours to a few days after it became an MQL, never after now. A database with any
    decision keeps its own. Returns (decisions, made now)."""
    if Feedback.objects.exists():
        return Feedback.objects.count(), False
    sales = next(user for user in DEMO_USERS if user.group == SALES)
    author = get_user_model().objects.filter(username=sales.username).first()
    if author is None:
        return 0, False
    now = now or timezone.now()
    rng = random.Random(seed * 7919 + 2)
    since = now - dt.timedelta(weeks=DEMO_WEEKS)
    reasons = [reason for reason, weight, _comment in REJECTIONS for _ in range(weight)]
    comments = {reason: comment for reason, _weight, comment in REJECTIONS}
    made = 0
    for person in list(waiting_mqls(now)):
        became_mql: dt.datetime = person.stage_mql_at  # type: ignore[attr-defined]
        if became_mql < since or rng.random() >= DECIDED_SHARE:
            continue
        at = became_mql + dt.timedelta(hours=rng.uniform(2, 96))
        accepted = rng.random() < ACCEPTED_SHARE
        reason = "" if accepted else rng.choice(reasons)
        if at >= now:
            continue
        made += decide(
            [person.pk],
            author,
            "accept" if accepted else "reject",
            reason=reason,
            comment=comments.get(reason, ""),
            at=at,
        )
    return made, True
