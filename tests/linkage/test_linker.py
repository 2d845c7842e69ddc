"""Linker behaviour on small synthetic data: dedupe, settings, errors, term frequencies."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from linkage import BlockingRule, LinkageSettings, Linker, block_across, block_on
from linkage import comparisons as cl
from linkage.errors import InputDataError, LinkageError, ModelNotTrainedError, SettingsError

FIRST = [
    "OLIVER",
    "GEORGE",
    "HARRY",
    "NOAH",
    "JACK",
    "AMELIA",
    "OLIVIA",
    "ISLA",
    "EMILY",
    "AVA",
    "LILY",
    "MIA",
    "SOPHIA",
    "ISABELLA",
    "GRACE",
    "THOMAS",
    "JAMES",
    "WILLIAM",
]
# Skewed surnames: SMITH is common, so an exact SMITH match should weigh less than a rare one.
SURNAMES = (
    ["SMITH"] * 30 + ["JONES"] * 10 + [f"SURNAME{c}{d}" for c in "ABCDEFGH" for d in "QRSTUVWXYZ"]
)
POSTCODES = [
    f"{a}{n} {m}{x}{y}"
    for a in ("SW", "M", "LS", "B")
    for n in range(1, 6)
    for m in range(1, 4)
    for x, y in (("A", "B"), ("C", "D"))
]


def _typo(rng: random.Random, s: str) -> str:
    i = rng.randrange(len(s))
    return s[:i] + rng.choice("AEIOUXZ") + s[i + 1 :]


def make_people(n_entities: int = 1500, seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records of ``n_entities`` people, ~40% duplicated with typos; returns (records, links)."""
    rng = random.Random(seed)
    rows, links, next_id = [], [], 0
    for _ in range(n_entities):
        person = {
            "first_name": rng.choice(FIRST),
            "surname": rng.choice(SURNAMES),
            "dob": f"{rng.randint(1930, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            "postcode": rng.choice(POSTCODES),
        }
        ids = [next_id]
        rows.append({"id": next_id, **person})
        next_id += 1
        if rng.random() < 0.4:
            dup = dict(person)
            field = rng.choice(["first_name", "surname", "dob", "postcode", None])
            if field == "postcode":
                dup["postcode"] = rng.choice(POSTCODES)
            elif field is not None:
                dup[field] = _typo(rng, dup[field])
            if rng.random() < 0.1:
                dup["first_name"] = None
            rows.append({"id": next_id, **dup})
            ids.append(next_id)
            next_id += 1
        links += [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    records = pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=seed)
    truth = pl.DataFrame(links, schema=["id_l", "id_r"], orient="row")
    return records, truth


def people_in_two_files(
    n_entities: int, seed: int, *, column: str, files: tuple[str, str], twins: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`make_people`'s records with ``column`` naming their file: each person's first
    record in ``files[0]``, repeats in ``files[1]``; and for ``twins`` people a namesake in
    ``files[0]`` born a day later (ids from 100,000), who also looks like the person's
    repeat. Returns (records, links)."""
    records, truth = make_people(n_entities=n_entities, seed=seed)
    repeats = pl.col("id").is_in(truth["id_r"].implode())
    records = records.with_columns(
        pl.when(repeats).then(pl.lit(files[1])).otherwise(pl.lit(files[0])).alias(column)
    )
    twins_of = records.filter(pl.col("id").is_in(truth["id_l"].head(twins).implode()))
    day = pl.col("dob").str.slice(6, 2).cast(pl.Int64)
    namesakes = twins_of.with_columns(
        (pl.col("id") + 100_000).alias("id"),
        pl.col("dob").str.slice(0, 6) + ((day % 28) + 1).cast(pl.String).str.zfill(2),
    )
    return pl.concat([records, namesakes]), truth


def dedupe_settings(**overrides: object) -> LinkageSettings:
    data: dict = {
        "link_type": "dedupe_only",
        "comparisons": [
            cl.NameComparison("first_name"),
            cl.NameComparison("surname", term_frequency=True),
            cl.DateOfBirthComparison("dob", date_format="%Y%m%d"),
            cl.PostcodeComparison("postcode"),
        ],
        "blocking_rules": [
            block_on("surname"),
            block_on("dob"),
            BlockingRule(
                'l."first_name" = r."first_name" AND left(l.postcode, 2) = left(r.postcode, 2)'
            ),
        ],
    }
    data.update(overrides)
    return LinkageSettings(**data)


@pytest.fixture(scope="module")
def people() -> tuple[pl.DataFrame, pl.DataFrame]:
    return make_people()


@pytest.fixture(scope="module")
def trained(people: tuple[pl.DataFrame, pl.DataFrame]) -> Linker:
    linker = Linker(dedupe_settings(), people[0])
    linker.train(max_pairs=200_000, seed=4)
    return linker


def test_dedupe_finds_duplicates(trained: Linker, people: tuple) -> None:
    _, truth = people
    pairs = trained.predict(threshold=None)
    assert (pairs["id_l"] != pairs["id_r"]).all()
    unordered = pairs.select(
        pl.min_horizontal("id_l", "id_r").alias("a"), pl.max_horizontal("id_l", "id_r").alias("b")
    )
    assert unordered.unique().height == pairs.height  # each unordered pair once
    assert trained.blocking_report()["pairs"].sum() == pairs.height
    metrics = trained.evaluate(pairs, truth, trained.auto_threshold())
    assert metrics.f1 >= 0.9, metrics
    sweep = trained.threshold_sweep(pairs, truth, [0.01, 0.5, 0.999])
    assert sweep["recall"].to_list() == sorted(sweep["recall"].to_list(), reverse=True)


def test_scores_are_floating_point(people: tuple) -> None:
    # weights are inlined as SQL constants; without a term-frequency term (a DOUBLE) in the
    # sum, DECIMAL literals would make match_weight a DECIMAL column
    comparisons = [
        cl.NameComparison("first_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("dob", date_format="%Y%m%d"),
    ]
    linker = Linker(dedupe_settings(comparisons=comparisons), people[0])
    linker.train(max_pairs=50_000, seed=4)
    pairs = linker.predict()
    assert pairs.schema["match_weight"] == pl.Float64
    assert pairs.schema["match_probability"] == pl.Float64


def test_term_frequency_discounts_common_surnames(trained: Linker) -> None:
    pairs = trained.predict()
    common = pairs.filter(pl.col("tf_surname") == pl.col("tf_surname").max())
    rare = pairs.filter(pl.col("tf_surname") == pl.col("tf_surname").min())
    assert common.height and rare.height
    steps = trained.explain(pl.concat([common.head(1), rare.head(1)]))
    tf = steps.filter(pl.col("component") == "surname term frequency")["match_weight"]
    assert tf[0] < 0 < tf[1]  # common surname loses weight, rare one gains


def test_clusters_use_smallest_member_id(trained: Linker, people: tuple) -> None:
    records, _ = people
    clusters = trained.cluster(trained.predict(), threshold=0.5)
    assert clusters.height == records.height
    smallest = clusters.group_by("cluster_id").agg(pl.col("id").min())
    assert (smallest["cluster_id"] == smallest["id"]).all()


def test_classify_marks_review_band(trained: Linker) -> None:
    decided = Linker.classify(trained.predict(), match=0.9, review=0.3)
    p = decided["match_probability"]
    assert ((decided["decision"] == "review") == ((p >= 0.3) & (p < 0.9))).all()
    with pytest.raises(SettingsError):
        Linker.classify(decided, match=0.3, review=0.9)


def test_parquet_input_and_settings_json_round_trip(people: tuple, tmp_path: Path) -> None:
    records, _ = people
    path = tmp_path / "people.parquet"
    records.write_parquet(path)
    settings = dedupe_settings()
    settings_path = tmp_path / "settings.json"
    settings_path.write_text(json.dumps(settings.to_dict()))
    again = LinkageSettings.from_json(settings_path)
    assert again.to_dict() == settings.to_dict()
    linker = Linker(again, path)
    assert linker.counts == {"__left": records.height}


def test_settings_errors_list_every_problem() -> None:
    with pytest.raises(SettingsError) as info:
        LinkageSettings(
            link_type="both",
            comparisons=[],
            blocking_rules=[],  # type: ignore
            probability_two_random_records_match=2.0,
        )
    assert len(info.value.problems) == 4
    assert isinstance(info.value, ValueError) and isinstance(info.value, LinkageError)
    with pytest.raises(SettingsError, match="unknown settings keys: colour"):
        LinkageSettings.from_dict({"colour": 1})
    with pytest.raises(SettingsError):
        BlockingRule("surname = surname")  # no l./r. references


def _assert_no_values(message: str, values: list[str]) -> None:
    for v in values:
        assert v not in message


def test_input_errors_name_columns_not_values(people: tuple) -> None:
    records, _ = people
    with pytest.raises(InputDataError) as info:
        Linker(dedupe_settings(), records.drop("surname", "dob"))
    assert len(info.value.problems) == 2 and "'surname'" in str(info.value)

    shifted = records.with_columns(pl.col("id") + 987_654_000)
    dupes = pl.concat([shifted, shifted.head(1)])
    with pytest.raises(InputDataError) as info:
        Linker(dedupe_settings(), dupes)
    message = str(info.value)
    assert "duplicated" in message
    row = shifted.row(0, named=True)
    _assert_no_values(message, [str(row["id"]), row["surname"], row["dob"], row["postcode"]])

    with pytest.raises(InputDataError, match="null"):
        Linker(
            dedupe_settings(),
            records.with_columns(
                pl.when(pl.col("id") == 0).then(None).otherwise(pl.col("id")).alias("id")
            ),
        )


def test_unusable_states_raise(people: tuple, tmp_path: Path) -> None:
    records, _ = people
    linker = Linker(dedupe_settings(), records.head(200))
    with pytest.raises(ModelNotTrainedError):
        linker.predict()
    with pytest.raises(SettingsError):
        Linker(dedupe_settings(link_type="link_only"), records)
    with pytest.raises(SettingsError):
        Linker(dedupe_settings(), records, records)
    bad = tmp_path / "model.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(SettingsError):
        Linker.load_model(bad, records)
    with pytest.raises(SettingsError):
        linker.one_to_one(pl.DataFrame({"id_l": [1], "id_r": [2], "match_weight": [1.0]}))


def test_em_pass_holds_fixed_comparisons_correlated_with_block(
    people: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    # town is a function of the postcode, so within a postcode block non-matches share it:
    # EM must not read that agreement as evidence of a match.
    records, truth = people
    with_town = records.with_columns(town=pl.col("postcode").str.slice(0, 2))
    settings = dedupe_settings(
        comparisons=[*dedupe_settings().comparisons, cl.ExactComparison("town")],
        blocking_rules=[block_on("surname"), block_on("postcode")],
    )
    linker = Linker(settings, with_town)
    with caplog.at_level("INFO", logger="linkage"):
        linker.train(max_pairs=200_000, seed=4)
    held = [
        r.getMessage() for r in caplog.records if "correlated with the block key" in r.getMessage()
    ]
    assert any("block_on(postcode)" in m and "town" in m for m in held)
    assert not any("first_name" in m for m in held)
    pairs = linker.predict()
    assert linker.evaluate(pairs, truth, linker.auto_threshold()).f1 >= 0.9


def _labelled_link() -> tuple[Linker, pl.DataFrame]:
    """40 known matches: surnames agree in 30, differ in 8, are missing on the right in 2;
    towns agree in all 40. One labelled pair names an id that is in neither input."""
    surnames_l = [f"NAME{i}" for i in range(40)]
    surnames_r = surnames_l[:30] + [f"OTHER{i}" for i in range(8)] + [None, None]
    left = pl.DataFrame({"id": list(range(40)), "surname": surnames_l, "town": ["LEEDS"] * 40})
    right = pl.DataFrame(
        {"id": list(range(100, 140)), "surname": surnames_r, "town": ["LEEDS"] * 40}
    )
    settings = LinkageSettings(
        link_type="link_only",
        comparisons=[cl.ExactComparison("surname"), cl.ExactComparison("town")],
        blocking_rules=[block_on("surname")],
    )
    labels = pl.DataFrame({"id_l": [*range(40), 999], "id_r": [*range(100, 140), 100]})
    return Linker(settings, left, right), labels


def test_m_from_labelled_pairs_is_each_levels_smoothed_share() -> None:
    linker, labels = _labelled_link()
    try:
        assert linker.estimate_m_from_labelled_pairs(labels) == 40
        m = {name: p.m for name, p in linker.parameters.comparisons.items()}
    finally:
        linker.close()
    # gamma 0 = all other, gamma 1 = exact; null pairs (2) count for neither level
    assert m["surname"] == pytest.approx([8.5 / 39, 30.5 / 39])
    assert m["town"] == pytest.approx([0.5 / 41, 40.5 / 41])


def test_block_across_joins_one_column_with_another() -> None:
    rule = block_across("legal_key", "trading_key", name="legal-trading")
    assert rule.columns == ("legal_key", "trading_key")
    assert rule.name == "legal-trading"
    left = pl.DataFrame({"id": [1, 2], "legal_key": ["A", "B"], "trading_key": ["X", "Y"]})
    right = pl.DataFrame({"id": [3, 4], "legal_key": ["Z", "Z"], "trading_key": ["B", "A"]})
    settings = LinkageSettings(
        link_type="link_only", comparisons=[cl.ExactComparison("legal_key")], blocking_rules=[rule]
    )
    linker = Linker(settings, left, right)
    try:
        assert linker.blocking_report()["pairs"].to_list() == [2]
    finally:
        linker.close()
    with pytest.raises(SettingsError):
        block_across("legal_key", "")
