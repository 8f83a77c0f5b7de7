"""The level, its reasons in words (ja and en), the smoothing and 'not enough history'."""

from __future__ import annotations

import dataclasses

import pytest
from django.utils import translation

from ishibashi.contracts import timing
from ishibashi.reputation.rules import (
    ClientSignals,
    Level,
    Rate,
    RatingSummary,
    Severity,
    WorkerSignals,
    client_profile,
    median_of,
    median_words,
    rating_words,
    worker_track_record,
)

CLEAN = ClientSignals(
    client_id=1,
    identity_verified=True,
    payment_verified=True,
    jobs_posted=12,
    hires=12,
    jobs_closed_without_hire=0,
    jobs_expired_without_hire=0,
    consultations_sold=0,
    consultations_unconverted=0,
    contracts_completed=12,
    contracts_cancelled=0,
    auto_approvals=0,
    legal_deadline_releases=0,
    funding_requests_unanswered=0,
    silences_during_work=0,
    cancellations_after_funding=0,
    disputes=0,
    disputes_for_worker=0,
    disputes_split=0,
    disputes_for_client=0,
    escrow_before_work_flags=0,
    median_fund=None,
    median_inspect=None,
    median_reply=None,
)


def _with(**changes: object) -> ClientSignals:
    return dataclasses.replace(CLEAN, **changes)  # type: ignore[arg-type]


def _texts(signals: ClientSignals, language: str) -> tuple[Level, list[str]]:
    with translation.override(language):
        profile = client_profile(signals)
        return profile.level, [r.text for r in profile.reasons]


def test_three_automatic_approvals_in_twelve_contracts_is_a_warning_with_that_sentence():
    level, texts = _texts(_with(auto_approvals=3), "ja")
    assert level is Level.WARNING
    assert texts[0] == "過去の契約12件中3件で検収がなく自動承認されています"
    with translation.override("ja"):
        assert Level.WARNING.label == "要注意"
    level, texts = _texts(_with(auto_approvals=3), "en")
    assert texts[0] == (
        "In 3 of 12 past contracts the client did not inspect the delivery and it was "
        "approved automatically."
    )


def test_the_smoothing_is_the_beta_1_9_posterior_mean():
    assert Rate(3, 12, 1, 9).smoothed == pytest.approx(4 / 22)
    assert Rate(0, 0, 1, 9).smoothed == pytest.approx(0.1)
    # Per-milestone events never make a per-contract rate above 100 %.
    assert Rate(30, 12, 1, 9).smoothed == pytest.approx(13 / 22)


@pytest.mark.parametrize(
    ("k", "level"),
    [(0, Level.RELIABLE), (1, Level.RELIABLE), (2, Level.CAUTION), (3, Level.WARNING)],
)
def test_the_worst_reason_decides_the_level_by_the_documented_thresholds(k, level):
    # 1 in 12: (1+1)/22 = 9.1 % < 10 %, a note; 2 in 12: 13.6 %, caution; 3 in 12: 18 %, warning.
    assert client_profile(_with(auto_approvals=k)).level is level


def test_a_reliable_client_says_so_with_its_number_and_the_top_reason_is_the_worst():
    level, texts = _texts(CLEAN, "ja")
    assert (level, texts[0]) == (Level.RELIABLE, "終了した契約12件で、注意すべき点はありません")
    profile = client_profile(_with(auto_approvals=2, escrow_before_work_flags=3))
    assert profile.top_reason is not None
    assert profile.top_reason.code == "escrow_before_work_flags"
    assert profile.level is Level.WARNING


@pytest.mark.parametrize("completed", [0, 1, 2])
def test_a_new_client_is_never_reliable_but_not_enough_history(completed):
    level, texts = _texts(_with(contracts_completed=completed), "ja")
    assert level is Level.NOT_ENOUGH
    assert texts[0] == f"終了した契約が{completed}件で、実績が少ないため判定できません"
    with translation.override("ja"):
        assert Level.NOT_ENOUGH.label == "実績不足"


def test_a_new_client_with_a_bad_record_still_shows_the_warning():
    profile = client_profile(_with(contracts_completed=2, escrow_before_work_flags=1))
    assert profile.level is Level.WARNING
    assert "not_enough_history" in [r.code for r in profile.reasons]


REASONS = [
    (
        {"legal_deadline_releases": 3},
        "legal_deadline_releases",
        "過去の契約12件中3件で、法定の支払期日（60日）まで支払われませんでした",
        "In 3 of 12 past contracts the pay was released only by the legal 60-day deadline.",
    ),
    (
        {"funding_requests_unanswered": 3},
        "funding_requests_unanswered",
        "過去の契約12件中3件で、仮払いの依頼に期限まで応じていません",
        "In 3 of 12 past contracts the client let an escrow request expire unanswered.",
    ),
    (
        {"silences_during_work": 3},
        "silences_during_work",
        "過去の契約12件中3件で、作業中に7日間返信がありませんでした",
        "In 3 of 12 past contracts the client did not reply to the worker for 7 days during "
        "the work.",
    ),
    (
        {"cancellations_after_funding": 3},
        "cancellations_after_funding",
        "過去の契約12件中3件で、仮払い後に発注者がキャンセルしています",
        "In 3 of 12 past contracts the client cancelled after paying into escrow.",
    ),
    (
        {"disputes": 4, "disputes_for_worker": 2, "disputes_split": 1, "disputes_for_client": 1},
        "disputes_worker_paid",
        "過去の契約12件中3件で、トラブルの結果、運営が受注者への支払い（全額または一部）を認めました",
        "In 3 of 12 past contracts a dispute ended with the operator paying the worker in full "
        "or in part.",
    ),
    (
        {"escrow_before_work_flags": 3},
        "escrow_before_work_flags",
        "過去の契約12件中3件で、仮払い前の作業依頼が報告されています",
        "In 3 of 12 past contracts a worker reported being asked to start before escrow.",
    ),
    (
        # (7 + 1) / (8 + 4) = 67 % of jobs ended without a hire: at or over 60 %.
        {"hires": 1, "jobs_closed_without_hire": 4, "jobs_expired_without_hire": 3},
        "jobs_without_hire",
        "募集を終えた案件8件中7件が、誰も選ばれずに終了しています（募集終了・選定なし）",
        "7 of 8 jobs that ended closed or expired without hiring anyone.",
    ),
]


@pytest.mark.parametrize(("changes", "code", "ja", "en"), REASONS)
def test_every_warning_reason_reads_with_its_numbers_in_japanese_and_english(changes, code, ja, en):
    for language, sentence in (("ja", ja), ("en", en)):
        with translation.override(language):
            profile = client_profile(_with(**changes))
        reason = next(r for r in profile.reasons if r.code == code)
        assert reason.text == sentence
        assert reason.severity is Severity.WARNING
        assert profile.level is Level.WARNING
        assert reason.help_url.startswith("/help/reliability/#")


def test_notes_do_not_change_the_level():
    with translation.override("ja"):
        profile = client_profile(
            _with(
                consultations_unconverted=2,
                disputes=1,
                disputes_for_client=1,
                identity_verified=False,
                payment_verified=False,
            )
        )
    texts = {r.code: r.text for r in profile.reasons}
    assert profile.level is Level.RELIABLE
    assert texts["consultations_unconverted"] == "有料相談2件が契約につながっていません"
    assert texts["disputes"] == "トラブル1件（受注者への支払いを認めた判断はありません）"
    assert texts["identity_unverified"] == "本人確認はされていません"
    assert texts["payment_unverified"] == "まだ仮払いの実績がありません"


def test_the_median_is_read_from_the_buckets_to_within_a_factor_of_two():
    counts = [0] * timing.BUCKETS
    for seconds in (10 * 60, 3 * 3600, 3 * 3600, 5 * 3600, 30 * 86400):
        counts[timing.bucket_of(seconds)] += 1
    median = median_of(counts)
    assert median is not None
    assert (median.count, median.lower_seconds, median.upper_seconds) == (5, 7200, 14400)
    with translation.override("ja"):
        assert median_words(median) == "2時間〜4時間"
        assert median_words(None) == "まだデータがありません"
    assert median_of([0] * timing.BUCKETS) is None
    assert timing.bucket_of(0) == 0
    assert timing.bucket_of(10**9) == timing.BUCKETS - 1


def test_no_rating_reads_as_none_yet():
    with translation.override("ja"):
        assert rating_words(None) == "評価はまだありません"
        assert rating_words(RatingSummary(count=4, average=4.25)) == "平均評価 4.2（4件）"


def test_a_worker_track_record_reads_in_words_with_not_enough_history():
    signals = WorkerSignals(
        worker_id=2,
        identity_verified=True,
        contracts_completed=1,
        contracts_cancelled=0,
        milestones_delivered=4,
        delivered_on_time=3,
        revision_requests=2,
        withdrawals=0,
        disputes=0,
    )
    with translation.override("ja"):
        record = worker_track_record(signals)
        texts = {r.code: r.text for r in record.reasons}
    assert record.level is Level.NOT_ENOUGH
    assert texts["on_time"] == "納品したマイルストーン4件中3件を期日までに納品しています"
    assert texts["revisions"] == "納品したマイルストーン4件に対して修正依頼2件"
    assert texts["not_enough_history"] == "完了した契約が1件で、実績が少ないため判定できません"
    steady = worker_track_record(
        dataclasses.replace(signals, contracts_completed=5, delivered_on_time=4)
    )
    assert steady.level is Level.RELIABLE
