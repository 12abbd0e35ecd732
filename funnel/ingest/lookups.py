"""Resolve the small dimension tables (channels, campaigns, accounts) for a batch at once."""

from __future__ import annotations

from collections.abc import Iterable

from funnel.choices import DEFAULT_SALES_CHANNEL_KEYS, SourceKind
from funnel.models import Account, Campaign, Channel, Source

FEEDBACK_SOURCE = "sales-feedback"  # the product's own source: sales' decisions on MQLs


class ReservedSource(ValueError):
    """A source name the product keeps for itself."""


def check_source_name(name: str) -> None:
    if name.strip() == FEEDBACK_SOURCE:
        raise ReservedSource(
            f"'{FEEDBACK_SOURCE}' holds the sales feedback recorded in KPI Bridge: "
            "use another source name"
        )


def get_or_create_source(name: str, kind: str) -> Source:
    if kind != SourceKind.FEEDBACK:
        check_source_name(name)
    source, _ = Source.objects.get_or_create(name=name, defaults={"kind": kind})
    return source


class Dimensions:
    """Per-ingest cache of channel, campaign and account ids, creating missing rows in bulk."""

    def __init__(self) -> None:
        self.channels: dict[str, int] = {}
        self.campaigns: dict[tuple[int, str], int] = {}
        self.accounts: dict[str, int] = {}

    def load_channels(self, keys: Iterable[str]) -> None:
        wanted = {key for key in keys if key and key not in self.channels}
        if not wanted:
            return
        found = dict(Channel.objects.filter(key__in=wanted).values_list("key", "id"))
        missing = wanted - found.keys()
        if missing:
            Channel.objects.bulk_create(
                [
                    Channel(key=key, name=key, is_marketing=key not in DEFAULT_SALES_CHANNEL_KEYS)
                    for key in sorted(missing)
                ],
                ignore_conflicts=True,
            )
            found.update(Channel.objects.filter(key__in=missing).values_list("key", "id"))
        self.channels.update(found)

    def load_campaigns(self, pairs: Iterable[tuple[str, str]]) -> None:
        """`pairs` are (channel key, campaign key); a campaign needs its channel."""
        wanted = {
            (self.channels[channel], key)
            for channel, key in pairs
            if key and channel and (self.channels[channel], key) not in self.campaigns
        }
        if not wanted:
            return
        keys = {key for _, key in wanted}
        channel_ids = {channel_id for channel_id, _ in wanted}
        existing = Campaign.objects.filter(key__in=keys, channel_id__in=channel_ids)
        found = {(c.channel_id, c.key): c.pk for c in existing}
        missing = wanted - found.keys()
        if missing:
            Campaign.objects.bulk_create(
                [Campaign(channel_id=cid, key=key, name=key) for cid, key in sorted(missing)],
                ignore_conflicts=True,
            )
            existing = Campaign.objects.filter(key__in=keys, channel_id__in=channel_ids)
            found = {(c.channel_id, c.key): c.pk for c in existing}
        self.campaigns.update(found)

    def load_accounts(self, names: Iterable[str]) -> None:
        wanted = {name for name in names if name and name not in self.accounts}
        if not wanted:
            return
        found = dict(Account.objects.filter(name__any=wanted).values_list("name", "id"))
        missing = wanted - found.keys()
        if missing:
            Account.objects.bulk_create(
                [Account(name=name) for name in sorted(missing)], ignore_conflicts=True
            )
            found.update(Account.objects.filter(name__any=missing).values_list("name", "id"))
        self.accounts.update(found)

    def channel_id(self, key: str) -> int | None:
        return self.channels[key] if key else None

    def campaign_id(self, channel: str, key: str) -> int | None:
        if not key or not channel:
            return None
        return self.campaigns[(self.channels[channel], key)]

    def account_id(self, name: str) -> int | None:
        return self.accounts[name] if name else None
