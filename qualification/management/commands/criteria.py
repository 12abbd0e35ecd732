"""python manage.py criteria import FILE.json [--user NAME] [--reason TEXT]
                           export ID | list | approve ID --user NAME [--comment TEXT]
                           reject ID --user NAME --comment TEXT
                           compute [ID]

Criteria versions from the command line (kpi-spec sections 2b and 7), for review in
version control and for scripts: the JSON is the exchange format of section 2b."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qualification import services
from qualification.criteria import CriteriaProblem, parse_criteria_text
from qualification.models import CriteriaVersion, MomentSet, QualifyingMoment
from qualification.moments import compute_set, moment_set_for
from qualification.services import criteria_of


class Command(BaseCommand):
    help = "Import, export, list, approve or reject MQL/SQL criteria versions."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        imported = actions.add_parser("import", help="store a draft; prints its id")
        imported.add_argument("file", type=Path)
        imported.add_argument("--user", help="the proposer's username")
        imported.add_argument("--reason", default="", help="why this change")
        exported = actions.add_parser("export", help="print a version's JSON")
        exported.add_argument("id", type=int)
        actions.add_parser("list", help="every version, newest first")
        approved = actions.add_parser("approve", help="approve for the user's team")
        approved.add_argument("id", type=int)
        approved.add_argument("--user", required=True)
        approved.add_argument("--comment", default="")
        rejected = actions.add_parser("reject", help="reject, saying why")
        rejected.add_argument("id", type=int)
        rejected.add_argument("--user", required=True)
        rejected.add_argument("--comment", required=True)
        computed = actions.add_parser(
            "compute",
            help="compute the MQL/SQL dates under a version now (default: every draft and "
            "version in effect); the background job normally does this",
        )
        computed.add_argument("id", type=int, nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import":
            self._import(options)
        elif action == "export":
            version = _version(options["id"])
            self.stdout.write(json.dumps(version.definition, ensure_ascii=False, indent=2))
        elif action == "list":
            self._list()
        elif action == "compute":
            self._compute(options["id"])
        else:
            version, user = _version(options["id"]), _user(options["user"])
            try:
                if action == "approve":
                    services.approve(version, user, options["comment"])
                else:
                    services.reject(version, user, options["comment"])
            except services.AgreementRefused as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(_line(version))

    def _import(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text") from None
        try:
            criteria = parse_criteria_text(text)
        except CriteriaProblem as exc:
            raise CommandError(f"{path}: {exc}") from None
        user = _user(options["user"]) if options["user"] else None
        version = services.propose(criteria, user, options["reason"])
        self.stdout.write(str(version.pk))

    def _compute(self, pk: int | None) -> None:
        versions = (
            [_version(pk)]
            if pk is not None
            else CriteriaVersion.objects.exclude(status=CriteriaVersion.Status.REJECTED)
        )
        for version in versions:
            moment_set = moment_set_for(criteria_of(version))
            if moment_set.status != MomentSet.Status.READY:
                compute_set(moment_set.pk)
                moment_set.refresh_from_db()
            self.stdout.write(
                f"{version.pk}\t{version.stage}\t{version.name}\t{moment_set.status}\t"
                f"{QualifyingMoment.objects.filter(moment_set=moment_set).count()} qualify"
            )

    def _list(self) -> None:
        for version in CriteriaVersion.objects.select_related("proposed_by"):
            self.stdout.write(_line(version))


def _line(version: CriteriaVersion) -> str:
    since = f" since {version.effective_at:%Y-%m-%d %H:%M %Z}" if version.effective_at else ""
    proposer = version.proposed_by.get_username() if version.proposed_by else "-"
    return (
        f"{version.pk}\t{version.stage}\t{version.status}{since}\t{version.name}\t"
        f"proposed by {proposer}"
    )


def _version(pk: int) -> CriteriaVersion:
    found = CriteriaVersion.objects.filter(pk=pk).select_related("proposed_by").first()
    if found is None:
        raise CommandError(f"no criteria version {pk} (see `criteria list`)")
    return found


def _user(username: str) -> Any:
    found = get_user_model().objects.filter(username=username).first()
    if found is None:
        raise CommandError(f"--user: no user {username!r}")
    return found
