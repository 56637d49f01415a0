"""Labelled complaint streams for tests and tuning: background plus injected bursts.

The background has a daily and weekly rhythm (quiet nights, lunchtime and evening peaks,
calmer weekends, every Monday morning busy), every category, Chinese and English, hundreds
of merchants with a few big ones, several app versions, and holders who complain more than
once. Bursts of varied shape are injected on top (one merchant, one app version, one error
code, wording alone with no structured facts, slow-rising, at night), as are things that
must not alarm: one holder complaining 30 times in an hour, and the biggest merchant's high
steady volume. The labels say which complaints each burst consists of.
"""
# ruff: noqa: RUF001 - Chinese complaint text uses full-width punctuation

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from anxin.collective.texts import BACKGROUND, BURSTS, misspell

_ZONE = timezone(timedelta(hours=8))
START = datetime(2026, 11, 2, tzinfo=_ZONE)  # a Monday

# Share of a weekday's complaints per local hour (night lull, lunch and evening peaks).
_HOURLY = (8, 5, 3, 2, 2, 3, 8, 20, 42, 58, 64, 62, 55, 52, 55, 56, 54, 52, 50, 58, 66, 62, 44, 20)
_CATEGORY_WEIGHTS = {
    "unauthorized_debit": 10,
    "funds_frozen": 6,
    "topup_withdrawal": 16,
    "verification_login": 12,
    "fees": 6,
    "points": 6,
    "refund": 14,
    "service_quality": 10,
    "privacy": 4,
    "feature_request": 4,
    "other": 12,
}
_WITH_MERCHANT = {"unauthorized_debit", "refund", "points", "fees"}
_CHANNELS = (("app", 55), ("web", 15), ("phone", 12), ("email", 10), ("weibo", 8))
_BANKS = ("工商银行", "建设银行", "农业银行", "中国银行", "ICBC", "BOC", "Bank of Communications")
_ERRORS = ("E1001", "E1107", "E2003", "E2041", "E3100", "E4040")
_TIMES = ("this morning", "last night", "yesterday", "今天早上", "昨晚", "中午")


@dataclass(frozen=True)
class BurstPlan:
    id: str
    scenario: str
    day: int  # days after START
    hour: float  # local start hour
    size: int
    minutes: int
    shape: str = "flat"  # flat, rising (slow build-up) or front (sharp, then tailing off)
    merchant: str | None = None
    app_version: str | None = None
    category: str | None = None
    transaction: str | None = None
    error_code: str | None = None
    facts: bool = True  # False: complaints arrive by phone, email or weibo with text only
    english: float = 0.2


PLANS = (
    BurstPlan(
        "B01",
        "checkout_outage",
        1,
        12.3,
        60,
        45,
        merchant="m017",
        category="unauthorized_debit",
        transaction="payment",
    ),
    BurstPlan(
        "B02",
        "code_not_arriving",
        2,
        9.6,
        120,
        90,
        app_version="5.3.0",
        category="verification_login",
    ),
    BurstPlan("B03", "bank_transfer_missing", 2, 15.2, 45, 60, facts=False, english=0.1),
    BurstPlan(
        "B04",
        "double_charge",
        3,
        18.0,
        30,
        120,
        shape="rising",
        merchant="m044",
        category="unauthorized_debit",
        transaction="payment",
    ),
    BurstPlan("B05", "points_wiped", 4, 10.0, 20, 120, facts=False, english=0.3),
    BurstPlan(
        "B06",
        "gate_qr_failure",
        5,
        8.1,
        150,
        60,
        shape="front",
        merchant="m001",
        category="other",
        transaction="payment",
    ),
    BurstPlan(
        "B07",
        "withdrawal_error",
        5,
        14.5,
        50,
        40,
        category="topup_withdrawal",
        transaction="withdrawal",
        error_code="E5021",
    ),
    BurstPlan("B08", "reset_lockout", 6, 20.0, 25, 90, facts=False, english=0.9),
    BurstPlan(
        "B09",
        "charger_not_starting",
        7,
        2.5,
        22,
        120,
        merchant="m128",
        category="unauthorized_debit",
        transaction="payment",
    ),
    BurstPlan("B10", "crash_on_launch", 7, 19.4, 80, 60, app_version="5.3.1", category="other"),
    BurstPlan(
        "B11", "bank_topup_failure", 8, 11.0, 35, 60, shape="rising", facts=False, english=0.1
    ),
    BurstPlan(
        "B12",
        "delivery_refund_missing",
        8,
        17.5,
        200,
        120,
        merchant="m003",
        category="refund",
        transaction="refund",
    ),
)


class _Generator:
    def __init__(self, seed: int, days: int, daily: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - simulated data, not secrets
        self.days = days
        self.daily = daily
        self.rows: list[dict[str, Any]] = []
        self.bursts: dict[str, list[int]] = {}
        merchants = 400
        # Zipf-like merchant sizes; m001 is the biggest by far (a city's metro).
        self.merchant_names = [f"m{n:03d}" for n in range(1, merchants + 1)]
        self.merchant_weights = [1.0 / (n**1.1) for n in range(1, merchants + 1)]
        self.merchant_weights[0] *= 3.0
        self.users = [f"h{n:05d}" for n in range(40_000)]
        self.recent: list[dict[str, Any]] = []

    def version(self, day: int) -> str:
        # Newer versions roll out over the week.
        weights = (max(1, 30 - 3 * day), 40, 30 + 4 * day, 10 + 6 * day)
        return self.rng.choices(("5.1.0", "5.2.0", "5.3.0", "5.3.1"), weights)[0]

    def fill(self, template: str, merchant: str | None, error: str | None = None) -> str:
        rng = self.rng
        return template.format(
            m=merchant or rng.choice(self.merchant_names[:60]),
            a=rng.choice((9, 18, 35, 88, 120, 199, 256, 500, 1200, 3000)),
            d=rng.randint(2, 15),
            b=rng.choice(_BANKS),
            t=rng.choice(_TIMES),
            e=error or "",
        )

    def add(self, at: datetime, **row: Any) -> int:
        row["at"] = at
        self.rows.append(row)
        return len(self.rows) - 1

    def background(self) -> None:
        rng = self.rng
        total = sum(_HOURLY)
        for day in range(self.days):
            weekday = (START + timedelta(days=day)).weekday()
            scale = self.daily * (0.8 if weekday >= 5 else 1.0) / total
            for hour, share in enumerate(_HOURLY):
                rate = share * scale * (1.7 if weekday == 0 and 8 <= hour < 12 else 1.0)
                for _ in range(_poisson(rng, rate)):
                    at = START + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
                    self.one_background(at, day)

    def one_background(self, at: datetime, day: int) -> None:
        rng = self.rng
        if self.recent and rng.random() < 0.08:
            # A follow-up: the same holder about the same thing, some hours later.
            earlier = rng.choice(self.recent[-300:])
            self.add(
                at + timedelta(seconds=rng.randrange(3600, 72_000)),
                **{
                    **earlier,
                    "text": earlier["text"] + " 还没解决"
                    if earlier["lang"] == "zh"
                    else earlier["text"] + " still not solved",
                },
            )
            return
        category = rng.choices(list(_CATEGORY_WEIGHTS), list(_CATEGORY_WEIGHTS.values()))[0]
        channel = rng.choices([c for c, _ in _CHANNELS], [w for _, w in _CHANNELS])[0]
        lang = "en" if rng.random() < 0.2 else "zh"
        merchant = None
        if category in _WITH_MERCHANT or (category == "other" and rng.random() < 0.3):
            merchant = rng.choices(self.merchant_names, self.merchant_weights)[0]
        text = misspell(self.fill(rng.choice(BACKGROUND[category][lang]), merchant), lang, rng)
        row: dict[str, Any] = {
            "user": rng.choice(self.users),
            "channel": channel,
            "text": text,
            "lang": lang,
        }
        if channel in ("app", "web"):
            row["category"] = category
            if merchant:
                row["merchant"] = merchant
                row["transaction"] = "refund" if category == "refund" else "payment"
            if category == "topup_withdrawal":
                row["transaction"] = rng.choice(("top_up", "withdrawal"))
                if rng.random() < 0.3:
                    row["error_code"] = rng.choice(_ERRORS)
        if channel == "app":
            row["app_version"] = self.version(day)
        self.recent.append(row)
        self.add(at, **row)

    def burst(self, plan: BurstPlan) -> None:
        rng = self.rng
        start = START + timedelta(days=plan.day, hours=plan.hour)
        members: list[int] = []
        holders: list[str] = []
        for _ in range(plan.size):
            u = rng.random()
            fraction = u**0.5 if plan.shape == "rising" else (u**2 if plan.shape == "front" else u)
            at = start + timedelta(seconds=round(fraction * plan.minutes * 60))
            if holders and rng.random() < 0.08:
                user = rng.choice(holders)  # a member writing again
            else:
                user = rng.choice(self.users)
                holders.append(user)
            templates = BURSTS[plan.scenario]
            lang = "en" if rng.random() < plan.english and "en" in templates else "zh"
            if lang not in templates:
                lang = "en"
            text = misspell(
                self.fill(rng.choice(templates[lang]), plan.merchant, plan.error_code), lang, rng
            )
            with_facts = plan.facts and rng.random() < 0.85
            row: dict[str, Any] = {
                "user": user,
                "text": text,
                "lang": lang,
                "channel": "app" if with_facts else rng.choice(("phone", "email", "weibo")),
            }
            if with_facts:
                for name in ("merchant", "app_version", "category", "transaction", "error_code"):
                    value = getattr(plan, name)
                    if value is not None:
                        row[name] = value
                if plan.app_version is None and rng.random() < 0.7:
                    row["app_version"] = self.version(plan.day)
            members.append(self.add(at, **row))
        self.bursts[plan.id] = members

    def spammer(self) -> None:
        # One holder, 30 complaints in an hour about one merchant: not a crowd.
        start = START + timedelta(days=3, hours=11)
        for n in range(30):
            text = misspell(
                self.fill("{m}扣了我{a}块钱不是我买的，快退给我", "m250"), "zh", self.rng
            )
            self.add(
                start + timedelta(seconds=120 * n + self.rng.randrange(90)),
                user="h40000",
                channel="app",
                text=text,
                lang="zh",
                merchant="m250",
                category="unauthorized_debit",
                transaction="payment",
                app_version="5.2.0",
            )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method in pieces, so large means do not underflow.
    count = 0
    while mean > 0:
        step = min(mean, 30.0)
        mean -= step
        limit, product = pow(2.718281828459045, -step), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


def simulate(
    seed: int = 7, days: int = 9, daily: int = 4000
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A stream (rows in time order) and its labels (one per burst)."""
    if days < 9:
        raise ValueError("the injected bursts need at least 9 days")
    generator = _Generator(seed, days, daily)
    generator.background()
    for plan in PLANS:
        generator.burst(plan)
    generator.spammer()
    order = sorted(range(len(generator.rows)), key=lambda i: generator.rows[i]["at"])
    ids = {index: f"c{n + 1:06d}" for n, index in enumerate(order)}
    stream: list[dict[str, Any]] = []
    for index in order:
        row = generator.rows[index]
        line = {"id": ids[index], "at": row["at"].isoformat()}
        line.update({k: v for k, v in row.items() if k not in ("at", "lang")})
        stream.append(line)
    labels = []
    for plan in PLANS:
        members = sorted(generator.bursts[plan.id], key=lambda i: generator.rows[i]["at"])
        labels.append(
            {
                "burst": plan.id,
                "scenario": plan.scenario,
                "complaints": [ids[i] for i in members],
                "start": generator.rows[members[0]]["at"].isoformat(),
            }
        )
    return stream, labels
