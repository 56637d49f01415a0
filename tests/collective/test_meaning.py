# ruff: noqa: RUF001 - Chinese complaint text uses full-width punctuation
from __future__ import annotations

import numpy as np

from anxin.collective.meaning import Clusters, Featuriser, Vector, concepts, topics


def _cosine(a: Vector, b: Vector, dimensions: int) -> float:
    left, right = np.zeros(dimensions), np.zeros(dimensions)
    left[a.indexes] = a.values
    right[b.indexes] = b.values
    return float(left @ right)


def _featuriser(texts: list[str]) -> Featuriser:
    featuriser = Featuriser(4096)
    for text in texts:  # some history, so the IDF means something
        featuriser.vector(text)
    return featuriser


BACKGROUND = [
    "退款申请好几天了还没处理",
    "客服电话一直打不通",
    "my balance is frozen, why",
    "app keeps logging me out",
    "积分兑换的券用不了",
    "提现到工商银行一直处理中",
    "nobody told me about this fee",
    "please add dark mode",
] * 5


def test_a_misspelled_complaint_is_close_to_the_correct_one() -> None:
    featuriser = _featuriser(BACKGROUND)
    right = featuriser.vector("verification code never arrives after the update")
    typo = featuriser.vector("verifcation code nevr arives after teh update!!")
    other = featuriser.vector("please add dark mode to the app")
    assert _cosine(right, typo, 4096) > 0.45
    assert _cosine(right, other, 4096) < 0.15


def test_chinese_needs_no_segmentation_and_homophone_slips_stay_close() -> None:
    featuriser = _featuriser(BACKGROUND)
    one = featuriser.vector("转账到银行卡显示成功但是钱没到账")
    two = featuriser.vector("转帐到银行卡显示成功但钱没到帐！！")
    other = featuriser.vector("客服态度太差了")
    assert _cosine(one, two, 4096) > 0.45
    assert _cosine(one, other, 4096) < 0.1


def topics_of(text: str) -> list[str]:
    return topics(concepts(text))


def test_chinese_and_english_meet_through_shared_concepts() -> None:
    assert "code+not_received" in topics_of("更新以后验证码一直收不到")
    assert "code+not_received" in topics_of("didnt get the verification code")
    assert "expired+points" in topics_of("我的积分突然全部清零了")
    assert "expired+points" in topics_of("all my points got wiped")
    assert topics_of("客服") == []  # one concept alone is not a topic
    featuriser = _featuriser(BACKGROUND)
    zh = featuriser.vector("验证码收不到")
    en = featuriser.vector("verification code not arriving")
    assert _cosine(zh, en, 4096) > 0.2


def test_clusters_gather_paraphrases_and_keep_different_complaints_apart() -> None:
    featuriser = _featuriser(BACKGROUND)
    clusters = Clusters(4096, similarity=0.45, capacity=2)  # capacity 2 makes it grow
    first = clusters.assign(featuriser.vector("sms code not arriving, can't log in"), 0.0)
    again = clusters.assign(featuriser.vector("SMS code not arriving cant log in!!"), 1.0)
    other = clusters.assign(featuriser.vector("积分兑换的券用不了"), 2.0)
    third = clusters.assign(featuriser.vector("客服电话一直打不通"), 3.0)
    assert first == again
    assert len({first, other, third}) == 3
    assert clusters.live == 3


def test_idle_clusters_are_forgotten_unless_kept() -> None:
    featuriser = _featuriser(BACKGROUND)
    clusters = Clusters(4096, similarity=0.45)
    kept = clusters.assign(featuriser.vector("积分兑换的券用不了"), 0.0)
    gone = clusters.assign(featuriser.vector("客服电话一直打不通"), 0.0)
    forgotten = clusters.forget_idle(100.0, idle=1e9, single_idle=10.0, keep={kept})
    assert forgotten == [gone]
    assert clusters.live == 1
    again = clusters.assign(featuriser.vector("客服电话一直打不通"), 101.0)
    assert again not in (kept, gone)
