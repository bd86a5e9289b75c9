"""The chaos checker counts what a fault cost: lost words, extra words, repeated segment ids; and
for webhooks, the owed deliveries that never reached the log."""

from __future__ import annotations

from tests.checker import compare, deliveries

REF = ["ask", "not", "what", "your", "country", "can", "do", "for", "you"]


def test_an_identical_run_is_clean() -> None:
    v = compare("none", "live", REF, REF, segment_ids=["a", "b"], recovery_s=1.5)
    assert (v.lost, v.extra, v.repeated_ids, v.ok) == (0, 0, 0, True)
    assert "lost 0" in v.line() and "1.5 s" in v.line()


def test_a_gap_is_lost_and_a_replay_is_extra() -> None:
    gap = REF[:3] + REF[5:]
    assert (compare("f", "live", gap, REF).lost, compare("f", "live", gap, REF).extra) == (2, 0)
    replayed = REF[:6] + REF[4:6] + REF[6:]  # "country can" twice: a chunk transcribed twice
    v = compare("f", "live", replayed, REF)
    assert (v.lost, v.extra, v.ok) == (0, 2, False)


def test_a_changed_word_is_both_lost_and_extra() -> None:
    changed = [*REF[:4], "county", *REF[5:]]
    v = compare("f", "settled", changed, REF)
    assert (v.lost, v.extra) == (1, 1)


def test_repeated_ids_and_services_left_down_fail_the_verdict() -> None:
    assert compare("f", "live", REF, REF, segment_ids=["a", "a", "a", "b"]).repeated_ids == 2
    v = compare("f", "live", REF, REF, services_down=["aggregator"])
    assert not v.ok and "aggregator" in v.line()


def test_a_row_says_what_it_counts_and_keeps_its_notes() -> None:
    v = compare("f", "live", REF, REF, notes=["from the kill"])
    assert "9 words  lost 0" in v.line() and v.notes == ("from the kill",)


def test_deliveries_never_logged_are_lost_and_unowed_or_repeated_ones_count() -> None:
    owed = ["s1", "s2", "abc-final", "abc-settled"]
    v = deliveries("target down", owed, ["s2", "s1", "abc-settled", "abc-final"], recovery_s=2.0)
    assert (v.words, v.lost, v.extra, v.repeated_ids, v.ok) == (4, 0, 0, 0, True)
    assert "4 events lost 0" in v.line() and "2.0 s" in v.line() and v.run == "webhooks"
    v = deliveries("target down", owed, ["s1", "s1", "abc-final", "other"], services_down=["webhooks"])
    assert (v.lost, v.extra, v.repeated_ids, v.ok) == (2, 1, 1, False)
    assert "webhooks" in v.line()


def test_an_event_published_twice_may_be_logged_twice() -> None:
    assert deliveries("f", ["a", "a", "b"], ["a", "b", "a"]).repeated_ids == 0
    assert deliveries("f", ["a", "b"], ["a", "b", "a"]).repeated_ids == 1
