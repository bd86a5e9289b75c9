"""transcribe/checkpoint.py: commit point, watermark filtering, commit metadata."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from stenograph.transcribe.checkpoint import (
    METADATA_TAG,
    Watermark,
    commit_point,
    decode_metadata,
    encode_metadata,
    relevant,
)


def test_commit_point_is_earliest_open_chunk_offset() -> None:
    assert commit_point([120, 95, 300], 400) == 95
    assert commit_point(iter([7]), 8) == 7
    assert commit_point((o for o in [50, 40]), None) == 40


def test_commit_point_without_open_chunks_is_next_offset() -> None:
    assert commit_point([], 400) == 400
    assert commit_point(iter(()), 0) == 0


def test_commit_point_nothing_seen() -> None:
    assert commit_point([], None) is None


def test_relevant_keeps_sessions_seen_at_or_after_point() -> None:
    marks = {
        "old": Watermark(next_seq=10, last_offset=99),
        "edge": Watermark(next_seq=3, last_offset=100),
        "new": Watermark(next_seq=0, last_offset=150),
    }
    assert relevant(marks, 100) == {"edge": marks["edge"], "new": marks["new"]}
    assert relevant(marks, 151) == {}
    assert relevant(marks, 0) == marks
    assert relevant({}, 5) == {}


def test_metadata_round_trip() -> None:
    marks = {
        "sess-b": Watermark(12, 1_000_000_000_123),
        "sess-a": Watermark(0, 0),
        "sess-ü:1": Watermark(2**40, 7),
    }
    text = encode_metadata(marks)
    assert text.startswith(METADATA_TAG)
    assert text.isascii()
    assert decode_metadata(text) == marks


def test_metadata_round_trip_empty() -> None:
    assert decode_metadata(encode_metadata({})) == {}


def test_encoding_is_deterministic_regardless_of_insertion_order() -> None:
    a = {"x": Watermark(1, 2), "y": Watermark(3, 4)}
    b = {"y": Watermark(3, 4), "x": Watermark(1, 2)}
    assert encode_metadata(a) == encode_metadata(b)


def test_metadata_is_compact_for_many_sessions() -> None:
    marks = {f"session-{i:04d}": Watermark(i * 10, 5_000 + i) for i in range(200)}
    text = encode_metadata(marks)
    assert decode_metadata(text) == marks
    assert len(text) < len(json.dumps({k: [v.next_seq, v.last_offset] for k, v in marks.items()}))


def tagged(raw: bytes) -> str:
    return METADATA_TAG + base64.b64encode(zlib.compress(raw)).decode()


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "plain consumer metadata",
        "stg0:" + base64.b64encode(zlib.compress(b'{"s":[1,2]}')).decode(),  # other tag
        METADATA_TAG,
        METADATA_TAG + "not base64 at all ###",
        METADATA_TAG + "abc",  # bad padding
        METADATA_TAG + base64.b64encode(b"not zlib").decode(),
        tagged(b"not json"),
        tagged(b"\xff\xfe"),
        tagged(b'{"s": [1]}'),  # too short
        tagged(b'{"s": 5}'),  # not a pair
        tagged(b'{"s": ["x", 2]}'),  # not ints
        tagged(b'{"s": {}}'),
    ],
)
def test_garbage_metadata_decodes_to_empty(text: str | None) -> None:
    assert decode_metadata(text) == {}


def test_truncated_metadata_decodes_to_empty() -> None:
    text = encode_metadata({"s": Watermark(1, 2), "t": Watermark(3, 4)})
    for cut in range(len(METADATA_TAG), len(text) - 1):
        assert decode_metadata(text[:cut]) == {}


@pytest.mark.parametrize("payload", [b"[1,2]", b"null", b"5", b'{"s": "12"}', b'{"s": [1]}'])
def test_well_tagged_metadata_of_the_wrong_shape_decodes_to_nothing(payload: bytes) -> None:
    text = METADATA_TAG + base64.b64encode(zlib.compress(payload)).decode()
    assert decode_metadata(text) == {}
