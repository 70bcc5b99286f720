"""The census of what beta users completed examines a bounded sample, the newest, whatever the target's history."""

from __future__ import annotations

from steps.chain import CENSUS_SAMPLE, newest


def test_the_newest_by_creation_time_when_records_carry_it() -> None:
    records = [{"id": i, "createdAt": f"2026-01-{i % 28 + 1:02d}T00:00:{i % 60:02d}Z"} for i in range(3000)]
    sample = newest(records)
    assert len(sample) == CENSUS_SAMPLE
    assert sample[0]["createdAt"] == max(r["createdAt"] for r in records)
    assert min(r["createdAt"] for r in sample) >= sorted(r["createdAt"] for r in records)[-CENSUS_SAMPLE]


def test_else_the_last_ones_listed() -> None:
    records = [{"id": i} for i in range(200)]
    assert [r["id"] for r in newest(records, 3)] == [199, 198, 197]
    assert newest([], 3) == []
