"""The detector on small hand-made streams (no warm-up, so no history is needed)."""
# ruff: noqa: RUF001 - Chinese complaint text uses full-width punctuation

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from anxin.collective import Detector, DetectorSettings
from anxin.collective.model import Complaint
from tests.collective.conftest import MONDAY, complaint

QUICK = DetectorSettings(warmup_hours=0)
EVERYDAY = [
    "客服电话一直打不通",
    "退款申请好几天了还没处理",
    "my balance is frozen, why??",
    "app keeps logging me out",
    "积分兑换的券用不了",
    "nobody told me about this fee",
    "please add dark mode",
    "提现到工商银行一直处理中",
    "账单里的商户名字看不懂",
]


def _background(start: datetime, hours: int, per_hour: int, seed: int = 1) -> list[Complaint]:
    rng = random.Random(seed)
    return [
        complaint(
            start + timedelta(seconds=rng.randrange(hours * 3600)),
            f"bg{n}",
            rng.choice(EVERYDAY),
            merchant=f"m{rng.randrange(50)}",
        )
        for n in range(hours * per_hour)
    ]


def _history() -> list[Complaint]:
    """A day and a half of everyday complaints before Monday 09:00 (past the warm-up)."""
    return _background(MONDAY - timedelta(hours=36), hours=36, per_hour=20)


def _run(complaints: list[Complaint], settings: DetectorSettings = QUICK) -> Detector:
    detector = Detector(settings)
    for item in sorted(complaints, key=lambda c: c.at):
        detector.observe(item)
    return detector


def test_a_steady_background_never_alarms() -> None:
    detector = _run(_background(MONDAY, hours=48, per_hour=40), DetectorSettings())
    assert detector.collectives == []


def test_one_holder_repeating_himself_is_not_a_crowd() -> None:
    spam = [
        complaint(
            MONDAY + timedelta(minutes=2 * n), "h1", "m7 took 88 from me, not me!!", merchant="m7"
        )
        for n in range(30)
    ]
    assert _run(spam).collectives == []


def test_as_many_distinct_holders_are_a_crowd() -> None:
    crowd = [
        complaint(
            MONDAY + timedelta(minutes=2 * n),
            f"h{n}",
            "m7 took 88 from me, not me!!",
            merchant="m7",
        )
        for n in range(30)
    ]
    detector = _run(crowd)
    assert len(detector.collectives) == 1
    found = detector.collectives[0]
    assert found.member_ids == [c.id for c in crowd]
    assert found.detected_at < MONDAY + timedelta(minutes=20)


def test_fewer_holders_than_the_minimum_do_not_alarm_however_fast() -> None:
    few = [
        complaint(MONDAY + timedelta(seconds=n), f"h{n}", "m7 payment failed", merchant="m7")
        for n in range(5)
    ]
    assert _run(few, DetectorSettings(warmup_hours=0, min_holders=6)).collectives == []
    assert len(_run(few, DetectorSettings(warmup_hours=0, min_holders=5)).collectives) == 1


def test_nothing_alarms_during_the_warm_up() -> None:
    crowd = [
        complaint(MONDAY + timedelta(minutes=n), f"h{n}", "m7 payment failed", merchant="m7")
        for n in range(30)
    ]
    assert _run(crowd, DetectorSettings(warmup_hours=24)).collectives == []


def test_grouping_by_facts_takes_the_merchant_and_leaves_other_problems_out() -> None:
    texts = [
        "payment failed at m9 but money gone",
        "在m9付款一直失败，钱却扣了",
        "m9 checkout payment error, charged anyway",
        "m9支付失败了三次！！！",
    ]
    burst = [
        complaint(MONDAY + timedelta(minutes=n), f"h{n}", texts[n % 4], merchant="m9")
        for n in range(24)
    ]
    unrelated = [
        complaint(
            MONDAY + timedelta(minutes=n, seconds=30),
            f"x{n}",
            "please add dark mode",
            merchant="m9",
        )
        for n in range(0, 24, 6)
    ]
    detector = _run(_history() + burst + unrelated, DetectorSettings())
    assert len(detector.collectives) == 1
    found = detector.collectives[0]
    assert ("merchant", "m9") in found.keys
    assert set(found.member_ids) == {c.id for c in burst}


def test_grouping_by_meaning_needs_no_facts_and_mixes_languages_and_typos() -> None:
    texts = [
        "更新以后验证码一直收不到",
        "收不到短信验证码，登不上去",
        "验证码发了五次都没收到",
        "sms code not arriving, can't log in",
        "didnt get the verifcation code!!",
        "登陆要验证码，短信一直不来",
    ]
    burst = [
        Complaint(
            f"b{n}", MONDAY + timedelta(minutes=2 * n), f"h{n}", "weibo", texts[n % len(texts)]
        )
        for n in range(30)
    ]
    detector = _run(_history() + burst, DetectorSettings())
    assert len(detector.collectives) >= 1
    members = set().union(*(set(c.member_ids) for c in detector.collectives))
    assert all(m.startswith("b") for m in members)
    assert len(members) >= 27  # nearly all, in both languages
    assert any(m in members for m in ("b3", "b9")) and any(m in members for m in ("b0", "b6"))


def test_the_same_stream_gives_the_same_answer() -> None:
    stream = _background(MONDAY, 4, 30) + [
        complaint(
            MONDAY + timedelta(hours=2, minutes=n), f"h{n}", "m3 double charged", merchant="m3"
        )
        for n in range(25)
    ]
    first, second = _run(stream), _run(list(reversed(stream)))
    assert [c.member_ids for c in first.collectives] == [c.member_ids for c in second.collectives]


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": 0},
        {"elevation": 1},
        {"min_holders": 0},
        {"similarity": 1.5},
        {"timezone": "Mars/Olympus"},
        {"warmup_hours": -1},
    ],
)
def test_settings_refuse_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DetectorSettings(**bad)  # type: ignore[arg-type]


def test_an_app_version_and_an_error_code_are_facts_too() -> None:
    codes = [
        complaint(
            MONDAY + timedelta(minutes=n),
            f"v{n}",
            ["收不到验证码", "login code never came", "验证码一直不来"][n % 3],
            app_version="5.3.0",
            category="verification_login",
        )
        for n in range(20)
    ]
    errors = [
        complaint(
            MONDAY + timedelta(hours=5, minutes=n),
            f"e{n}",
            ["withdrawal fails with error E5021", "提现报错E5021"][n % 2],
            transaction="withdrawal",
            error_code="E5021",
        )
        for n in range(20)
    ]
    detector = _run(_history() + codes + errors, DetectorSettings())
    assert len(detector.collectives) == 2
    first, second = detector.collectives
    assert ("app_version", "5.3.0", "verification_login") in first.keys
    assert set(first.member_ids) == {c.id for c in codes}
    assert first.category == "verification_login"
    assert ("error", "withdrawal", "e5021") in second.keys
    assert set(second.member_ids) == {c.id for c in errors}
