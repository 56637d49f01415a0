"""The complaint classifier's interface, language detection and predictions."""

# Chinese complaints with full-width punctuation and letters are the point of these tests.
# ruff: noqa: RUF001

from __future__ import annotations

import dataclasses
import threading

import pytest

from anxin.care.classify import (
    CATEGORIES,
    ComplaintClassifier,
    Prediction,
    default_classifier,
    detect_language,
)
from anxin.care.classify_corpus import CorpusError, LabelledComplaint, load_shipped_corpus


def test_the_wallet_taxonomy() -> None:
    assert CATEGORIES == (
        "unauthorized_debit", "funds_frozen", "topup_withdrawal", "verification_login", "fees",
        "points", "refund", "service_quality", "privacy", "feature_request", "other",
    )  # fmt: skip


def test_prediction_is_immutable() -> None:
    prediction = Prediction(category="fees", confidence=0.9, language="en")
    with pytest.raises(dataclasses.FrozenInstanceError):
        prediction.category = "points"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我的账户被冻结了", "zh"),
        ("my account is frozen", "en"),
        ("我的wechat pay被扣了200", "zh"),  # five Han characters outweigh two words
        ("my alipay account got 冻结, please help me", "en"),
        ("退款 still pending, seller agreed last week", "en"),
        ("otp收不到 登不上去", "zh"),
        ("ＭＹ ＡＣＣＯＵＮＴ", "en"),  # full-width Latin is still Latin
        ("😡😡😡", "en"),
        ("😡 钱呢", "zh"),
        ("", "en"),
        ("   ", "en"),
        ("12345 !!!", "en"),
        ("dong jie le wo de qian", "en"),  # pinyin is written in Latin script
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_default_classifier_is_trained_once_even_under_concurrency() -> None:
    seen: list[ComplaintClassifier] = []
    threads = [threading.Thread(target=lambda: seen.append(default_classifier()))
               for _ in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4
    assert all(classifier is default_classifier() for classifier in seen)
    assert set(default_classifier().categories) == set(CATEGORIES)


CLEAR_EXAMPLES = [
    ("有人盗刷了我的账户，我没买过这个东西，扣了我399", "unauthorized_debit", "zh"),
    ("someone used my wallet to pay 250 to a shop I never visited", "unauthorized_debit", "en"),
    ("我的账户被冻结了，钱取不出来", "funds_frozen", "zh"),
    ("my account is frozen and my money is on hold", "funds_frozen", "en"),
    ("提现到银行卡三天了还没到账", "topup_withdrawal", "zh"),
    ("my withdrawal to the bank has not arrived after 3 days", "topup_withdrawal", "en"),
    ("收不到验证码，登录不了", "verification_login", "zh"),
    ("i never get the OTP so i cant log in", "verification_login", "en"),
    ("提现手续费太高了", "fees", "zh"),
    ("why is the withdrawal fee so high", "fees", "en"),
    ("我的积分突然少了一千分", "points", "zh"),
    ("my reward points disappeared", "points", "en"),
    ("商家同意退款了，钱一直没退回来", "refund", "zh"),
    ("the merchant approved my refund but I never got the money back", "refund", "en"),
    ("客服电话一直打不通，没人处理", "service_quality", "zh"),
    ("support never answers, worst customer service", "service_quality", "en"),
    ("我要求删除我的个人信息", "privacy", "zh"),
    ("delete all my personal data please", "privacy", "en"),
    ("希望增加夜间模式", "feature_request", "zh"),
    ("please add a dark mode", "feature_request", "en"),
    ("请问客服工作时间是几点", "other", "zh"),
    ("what are your opening hours", "other", "en"),
]


@pytest.mark.parametrize(("text", "category", "language"), CLEAR_EXAMPLES)
def test_clear_complaints(text: str, category: str, language: str) -> None:
    prediction = default_classifier().predict(text)
    assert (prediction.category, prediction.language) == (category, language)
    assert 0.0 < prediction.confidence <= 1.0


def test_predictions_are_deterministic() -> None:
    """Two models trained from the same corpus say exactly the same thing."""
    texts = [text for text, _, _ in CLEAR_EXAMPLES] + ["钱呢？？", "hmm", "帮帮我 help"]
    again = ComplaintClassifier.train(load_shipped_corpus())
    assert again.predict_many(texts) == default_classifier().predict_many(texts)


def test_predict_many_matches_predict() -> None:
    classifier = default_classifier()
    texts = ["扣了我两次钱", "", "refund pls", "😡"]
    assert classifier.predict_many(texts) == [classifier.predict(t) for t in texts]
    assert classifier.predict_many([]) == []


@pytest.mark.parametrize("text", ["", "   ", "😡😡", "12345", "？？？"])
def test_nothing_to_read_is_other_with_no_confidence(text: str) -> None:
    assert default_classifier().predict(text) == Prediction("other", 0.0, "en")


def test_misspelled_and_shouted_complaints() -> None:
    classifier = default_classifier()
    assert classifier.predict("MY ACOUNT IS FROZEN!!!").category == "funds_frozen"
    assert classifier.predict("withdrawl not recieved in my bank").category == "topup_withdrawal"
    assert classifier.predict("ｒｅｆｕｎｄ 还没到账 商家早就同意了").category == "refund"


def test_training_needs_two_examples_of_each_category() -> None:
    one_each = [
        LabelledComplaint("my card was charged", "unauthorized_debit", "en", "a"),
        LabelledComplaint("fees are high", "fees", "en", "b"),
        LabelledComplaint("fees are too high", "fees", "en", "c"),
    ]
    with pytest.raises(CorpusError, match="unauthorized_debit has a single training example"):
        ComplaintClassifier.train(one_each)
    with pytest.raises(CorpusError, match="at least two categories"):
        ComplaintClassifier.train(one_each[1:])


def test_small_corpora_of_two_or_three_categories_train() -> None:
    two = [
        LabelledComplaint("fees too high", "fees", "en", "a"),
        LabelledComplaint("the fee is a ripoff", "fees", "en", "b"),
        LabelledComplaint("my points vanished", "points", "en", "c"),
        LabelledComplaint("where are my points", "points", "en", "d"),
    ]
    classifier = ComplaintClassifier.train(two)
    assert classifier.categories == ("fees", "points")
    assert classifier.predict("a fee again").category == "fees"
    # A category whose examples are all variants of one sentence still trains.
    three = [*two, LabelledComplaint("refund please", "refund", "en", "e"),
             LabelledComplaint("refund please!!", "refund", "en", "e")]  # fmt: skip
    prediction = ComplaintClassifier.train(three).predict("refund")
    assert prediction.category == "refund"
    assert 0.0 < prediction.confidence <= 1.0
