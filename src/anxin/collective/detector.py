"""The streaming detector: ``observe(complaint)`` returns the collective complaints it raises.

Each complaint joins one group per structured fact (``facts``) and one meaning cluster
(``meaning``). Every group runs a Poisson CUSUM (``cusum``) on distinct-holder arrivals
against its own expected rate for that hour of the week (``baseline``). When a group's
statistic passes the threshold with enough distinct holders, the complaints of its current
episode that mean the same thing become a collective complaint, or join an open one that
they overlap or that means the same (one outage seen through a merchant, an app version and
its wording). While open, complaints arriving in its groups join it if their meaning fits;
it closes once its groups are back to baseline.

Pure and deterministic: time is the complaints' own timestamps, never the wall clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from anxin.collective.alarm import CollectiveComplaint, GroupKey, dense, unit
from anxin.collective.baseline import GroupShares, WeeklyProfile, expected_events, group_rate
from anxin.collective.cusum import PoissonCusum
from anxin.collective.facts import fact_keys
from anxin.collective.history import History
from anxin.collective.meaning import Clusters, Featuriser, Vector, concepts, topics
from anxin.collective.model import Complaint
from anxin.collective.settings import DetectorSettings

__all__ = ["CategoryClassifier", "CollectiveComplaint", "Detector", "DetectorSettings"]

_PRUNE_EVERY = 500  # complaints between housekeeping passes
_RECORD_HOURS = 48.0  # how long a complaint is remembered for membership
# Facts specific enough that complaints sharing one at the same time are one incident
# (an app version with a category is not: a release has many unrelated complaints).
_MERGING_FACTS = {"merchant", "error"}


class _HasCategory(Protocol):
    @property
    def category(self) -> str: ...


class CategoryClassifier(Protocol):
    """Anything that predicts a complaint's category from its text."""

    def predict(self, text: str) -> _HasCategory: ...


@dataclass(slots=True)
class _Record:
    index: int
    id: str
    seconds: float
    user: str
    text: str
    category: str | None
    vector: Vector
    facts: list[GroupKey]
    in_collective: bool = False


@dataclass(slots=True)
class _Group:
    cusum: PoissonCusum
    last_seconds: float
    episode: list[int] = field(default_factory=list)
    episode_holders: set[str] = field(default_factory=set)
    counted_at: dict[str, float] = field(default_factory=dict)
    collective: CollectiveComplaint | None = None
    calibrated: bool = False
    # Arrival times not yet in the group's share: a group learns from its arrivals only
    # `learn_delay_hours` later, so a burst does not mask itself while it is being tested.
    held: deque[float] = field(default_factory=deque)


class Detector:
    def __init__(
        self,
        settings: DetectorSettings | None = None,
        classifier: CategoryClassifier | None = None,
    ) -> None:
        self.settings = s = settings or DetectorSettings()
        self._classifier = classifier
        self._profile = WeeklyProfile(
            timezone=s.timezone,
            weight=s.profile_weight,
            prior_rate=s.profile_prior_rate_per_hour,
            learn_delay_hours=s.learn_delay_hours,
        )
        self._shares = GroupShares(half_life_hours=s.share_half_life_hours)
        self._featuriser = Featuriser(s.dimensions)
        self._clusters = Clusters(s.dimensions, s.similarity)
        self._history = History(s.lookback_hours)
        self._groups: dict[GroupKey, _Group] = {}
        self._records: dict[int, _Record] = {}
        self._open: list[CollectiveComplaint] = []
        self.collectives: list[CollectiveComplaint] = []
        self._seen = 0
        self._start: float | None = None
        self._now = 0.0
        self._now_at: datetime | None = None

    @property
    def groups(self) -> int:
        return len(self._groups)

    def observe(self, complaint: Complaint) -> list[CollectiveComplaint]:
        """Take one complaint; returns the collective complaints raised by it (often none)."""
        seconds = complaint.at.timestamp()
        if self._start is None:
            self._start = seconds
        if self._now_at is None or seconds >= self._now:
            # A late complaint does not turn the clock back.
            self._now, self._now_at = seconds, complaint.at
        now = self._now
        self._profile.advance(now)
        self._profile.observe(seconds)

        category = complaint.category
        if not category and self._classifier is not None:
            category = self._classifier.predict(complaint.text).category
        found = concepts(complaint.text)
        vector = self._featuriser.vector(complaint.text, found)
        cluster = self._clusters.assign(vector, now)
        facts = fact_keys(complaint, category)
        keys: list[GroupKey] = [*facts, ("meaning", str(cluster))]
        keys.extend(("topic", pair) for pair in topics(found))
        record = _Record(
            self._seen,
            complaint.id,
            seconds,
            complaint.user,
            complaint.text,
            category,
            vector,
            facts,
        )
        self._records[record.index] = record
        self._seen += 1

        raised: list[CollectiveComplaint] = []
        for key in keys:
            collective = self._arrive(key, record, now)
            if collective is not None:
                raised.append(collective)
        self._shares.observe_total(now)
        self._history.add(seconds, vector)
        self._close_calm(now)
        if self._seen % _PRUNE_EVERY == 0:
            self._housekeeping(now)
        return raised

    def _new_cusum(self) -> PoissonCusum:
        s = self.settings
        return PoissonCusum(
            s.elevation, s.cap_factor * s.threshold, s.max_excess_per_hour, s.min_excess_per_hour
        )

    def _excess(self, key: GroupKey, cusum: PoissonCusum, start: float, end: float) -> float:
        share = self._shares.share(key, end)
        prior = self.settings.prior_rate_per_hour
        return expected_events(
            self._profile, share, prior, start, end, excess=cusum.excess, enough=cusum.value
        )

    def baseline_rate(self, key: GroupKey, seconds: float) -> float:
        """Complaints per hour the detector expects for ``key`` at ``seconds`` (epoch): its
        share of the hour-of-week profile, or the prior while it has no history. What a
        burst is measured against, and what the console charts it against."""
        share = self._shares.share(key, seconds)
        return group_rate(self._profile, share, self.settings.prior_rate_per_hour, seconds)

    def _drain(self, key: GroupKey, group: _Group, now: float) -> None:
        """Let the quiet time since the group's last arrival drain its statistic."""
        if now > group.last_seconds and group.cusum.value > 0:
            group.cusum.drain(self._excess(key, group.cusum, group.last_seconds, now))
        if group.cusum.value == 0.0:
            group.episode.clear()
            group.episode_holders.clear()
        self._release(key, group, now)
        group.last_seconds = max(group.last_seconds, now)

    def _release(self, key: GroupKey, group: _Group, now: float) -> None:
        due = now - self.settings.learn_delay_hours * 3600
        while group.held and group.held[0] <= due:
            self._shares.observe_late(key, group.held.popleft(), now)

    def _arrive(self, key: GroupKey, record: _Record, now: float) -> CollectiveComplaint | None:
        s = self.settings
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(self._new_cusum(), now)
        self._drain(key, group, now)

        last_counted = group.counted_at.get(record.user)
        if last_counted is None or now - last_counted > s.holder_window_minutes * 60:
            group.counted_at[record.user] = now
            group.cusum.arrive(self.baseline_rate(key, now))
        group.episode_holders.add(record.user)
        group.episode.append(record.index)
        group.held.append(now)

        if group.collective is not None:
            if group.collective.similarity(record.vector) >= s.join_similarity:
                self._join(group.collective, [record], now)
            return None
        if not self._alarming(group, now):
            return None
        if key[0] == "meaning" and not group.calibrated:
            self._calibrate(key, group, now)
            if not self._alarming(group, now):
                return None
        return self._raise(key, group, now)

    def _alarming(self, group: _Group, now: float) -> bool:
        s = self.settings
        warm = self._start is not None and now - self._start >= s.warmup_hours * 3600
        return (
            warm and group.cusum.value > s.threshold and len(group.episode_holders) >= s.min_holders
        )

    def _episode(self, group: _Group) -> list[_Record]:
        return [self._records[i] for i in group.episode if i in self._records]

    def _calibrate(self, key: GroupKey, group: _Group, now: float) -> None:
        """Look up how often complaints like this episode's arrived before it, take that as
        the group's share, and rerun the episode's statistic with it."""
        s = self.settings
        group.calibrated = True
        episode = self._episode(group)
        oldest = self._history.span_start()
        if not episode or oldest is None:
            return
        since = max(oldest, now - s.lookback_hours * 3600)
        until = episode[0].seconds
        if until - since < s.min_history_hours * 3600:
            return
        centroid = unit(dense([r.vector for r in episode], s.dimensions))
        similar, total = self._history.count_similar(centroid, s.similarity, since, until)
        self._shares.seed(key, similar / total if total else 0.0, now)
        cusum = self._new_cusum()
        holders: set[str] = set()
        kept: list[int] = []
        last = episode[0].seconds
        for record in episode:
            if record.seconds > last:
                cusum.drain(self._excess(key, cusum, last, record.seconds))
                last = record.seconds
                if cusum.value == 0.0:
                    holders.clear()
                    kept.clear()
            if record.user not in holders:
                holders.add(record.user)
                cusum.arrive(self.baseline_rate(key, record.seconds))
            kept.append(record.index)
        group.cusum = cusum
        group.episode, group.episode_holders = kept, holders
        self._drain(key, group, now)

    def _raise(self, key: GroupKey, group: _Group, now: float) -> CollectiveComplaint | None:
        s = self.settings
        episode = self._episode(group)
        centroid = dense([r.vector for r in episode], s.dimensions)
        members = [r for r in episode if _cosine_to_others(centroid, r.vector) >= s.join_similarity]
        if len(members) < 2:
            return None
        indexes = {r.index for r in members}
        direction = unit(centroid)
        # Complaints an open collective complaint already explains are no evidence of
        # another: without enough other holders, this group only echoes that one.
        fresh = {r.user for r in members if not any(r.index in c.member_set for c in self._open)}
        matched = self._same_incident(members, indexes, direction)
        if matched is not None:
            # The same incident seen through another group: one collective complaint.
            matched.keys.append(key)
            group.collective = matched
            self._join(matched, members, now)
            return None
        best = max(self._open, key=lambda c: len(indexes & c.member_set), default=None)
        if best is not None and indexes & best.member_set and len(fresh) < s.min_holders:
            # Mostly an echo of an open collective complaint: follow it, add what fits.
            best.keys.append(key)
            group.collective = best
            fitting = [r for r in members if best.similarity(r.vector) >= s.join_similarity]
            self._join(best, fitting, now)
            return None
        if len(fresh) < s.min_holders:
            return None
        assert self._now_at is not None
        number = len(self.collectives) + 1
        collective = CollectiveComplaint(
            number, self._now_at, [key], np.zeros(s.dimensions, dtype=np.float32)
        )
        collective.first_text = members[0].text
        group.collective = collective
        self._join(collective, members, now)
        self._open.append(collective)
        self.collectives.append(collective)
        return collective

    def _same_incident(
        self, members: list[_Record], indexes: set[int], direction: np.ndarray
    ) -> CollectiveComplaint | None:
        """The open collective complaint these members are part of, if any: they largely
        overlap it, mean the same, or mostly carry one of the facts it was raised on."""
        s = self.settings
        for collective in self._open:
            shared = len(indexes & collective.member_set)
            smaller = min(len(indexes), len(collective.member_set)) or 1
            if shared / smaller >= s.merge_overlap:
                return collective
            if float(unit(collective.centroid) @ direction) >= s.merge_similarity:
                return collective
            for key in collective.keys:
                if key[0] in _MERGING_FACTS:
                    carrying = sum(1 for r in members if key in r.facts)
                    if carrying * 2 > len(members):
                        return collective
        return None

    def _join(self, collective: CollectiveComplaint, records: list[_Record], now: float) -> None:
        for record in records:
            collective.add(record.index, record.id, record.user, record.category, record.vector)
            if not record.in_collective:
                # A burst is not the baseline: take its complaints back out of the weekly
                # profile. (Group shares keep them: a group that stays this busy is the new
                # normal, and its share must be able to learn that.)
                record.in_collective = True
                self._profile.forget(record.seconds)

    def _close_calm(self, now: float) -> None:
        if not self._open:
            return
        quiet = self.settings.close_after_minutes * 60
        still_open: list[CollectiveComplaint] = []
        for collective in self._open:
            calm = True
            for key in collective.keys:
                group = self._groups[key]
                self._drain(key, group, now)
                last = self._records.get(group.episode[-1]) if group.episode else None
                if group.cusum.value > 0 and last is not None and now - last.seconds < quiet:
                    calm = False
            if calm:
                collective.open = False
                for key in collective.keys:
                    self._groups[key].collective = None
            else:
                still_open.append(collective)
        self._open = still_open

    def _housekeeping(self, now: float) -> None:
        s = self.settings
        keep = {int(k[1]) for c in self._open for k in c.keys if k[0] == "meaning"}
        for cluster in self._clusters.forget_idle(
            now,
            idle=s.cluster_idle_hours * 3600,
            single_idle=s.single_cluster_idle_hours * 3600,
            keep=keep,
        ):
            key = ("meaning", str(cluster))
            self._groups.pop(key, None)
            self._shares.drop(key)
        horizon = now - _RECORD_HOURS * 3600
        for index in [i for i, r in self._records.items() if r.seconds < horizon]:
            del self._records[index]
        window = s.holder_window_minutes * 60
        for group in self._groups.values():
            if len(group.counted_at) > 64:
                group.counted_at = {u: t for u, t in group.counted_at.items() if now - t <= window}


def _cosine_to_others(total: np.ndarray, vector: Vector) -> float:
    """Cosine of a unit vector to the sum of the others (``total`` includes it): a complaint
    is not counted as agreeing with itself."""
    if not vector.indexes.size:
        return 0.0
    dot = float(total[vector.indexes] @ vector.values)
    squared = float(total @ total) - 2.0 * dot + 1.0
    return (dot - 1.0) / math.sqrt(squared) if squared > 1e-9 else 0.0
