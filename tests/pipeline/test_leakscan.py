from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.leakscan import known_values, scan_paths


def test_scan_finds_planted_values_in_parquet_and_text_without_quoting_them(
    tmp_path: Path,
) -> None:
    source = pl.DataFrame({"nhs": ["9434765919", None], "name": ["LEE", "ANNA SMITH"]})
    values = known_values(source, ["nhs", "name", "missing_column"])
    assert values == {"9434765919", "LEE", "ANNA SMITH"}
    pl.DataFrame({"token": ["x", "LEE"], "n": [1, 2]}).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "r.html").write_text("<p>9434765919</p><p>sleepy</p>")
    (tmp_path / "clean.json").write_text('{"rows": 2}')
    findings = scan_paths([tmp_path], values)
    described = sorted(f.describe() for f in findings)
    assert len(findings) == 2
    assert any("a.parquet column 'token': 1" in d for d in described)
    assert any("r.html: 1" in d for d in described)  # short "LEE" is not matched in "sleepy"
    assert not any(v in d for d in described for v in values)


def test_scan_of_clean_outputs_is_empty(tmp_path: Path) -> None:
    pl.DataFrame({"token": ["p_ab12"]}).write_parquet(tmp_path / "x.parquet")
    assert scan_paths([tmp_path], {"9434765919"}) == []


def test_substrings_are_counted_as_one_search_per_value_would() -> None:
    import random

    from pipeline.leakscan import count_substrings

    rng = random.Random(5)
    alphabet = "ab c"
    text = "".join(rng.choice(alphabet) for _ in range(3000))
    values = list(
        {"".join(rng.choice(alphabet) for _ in range(rng.randint(3, 9))) for _ in range(400)}
    )
    values += ["abab", "ababab", "bab"]  # overlapping and nested patterns
    expected = sum(1 for v in set(values) if v in text)
    assert 0 < expected < len(set(values))
    assert count_substrings(text, values) == expected
    assert count_substrings("", values) == 0 and count_substrings(text, []) == 0
