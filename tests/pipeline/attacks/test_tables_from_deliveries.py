"""Attack on tables researchers build from what they receive: sums and means of the delivered
``income`` (an integer attribute with missing values) by the delivered quasi-identifiers, checked
by ``check_table`` and then attacked three ways, independently of ``pipeline.disclosure``:

* dominance: every published cell is recomputed from the delivered records, and none has fewer
  than 10 non-missing contributions or fails p% (0.10) or (n,k) = (2, 0.9) on them;
* ACRO (SACRO 1.0) on the same tables: every cell it flags for dominance or its threshold is
  withheld (tables with and without missing contributions);
* linear programming: from the published cells and margins (counts, and sums or mean x count),
  no withheld cell is exactly recoverable.

Some tables get one or two dominant contributions (large incomes) so dominance occurs often;
the checks assert that it does, so they are not vacuous.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import acro  # test dependency (pyproject [test])
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from scipy.optimize import linprog

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.disclosure import TableSpec, check_table
from pipeline.runner import run_pipeline
from tests.pipeline.attacks.inputs import THOROUGH, Scenario, nhs_linker, write_batch, write_config
from tests.pipeline.runner_support import fake_services, make_keystore

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::Warning:acro")
TABLES = 150 if THOROUGH else 100  # own dominance check: ~20 ms a table
ACRO_TABLES = TABLES if THOROUGH else 15  # ACRO takes ~0.3 s a table
LP_TABLES = 10  # without the thorough profile: secondary suppression then the LP attack
SCENARIO = Scenario(
    7, ("hospital", "gp", "mental"), 500, 3, ("age_band", "sex_code", "region"), None
)


@pytest.fixture(scope="module")
def delivered() -> Iterator[dict[str, pl.DataFrame]]:
    """One delivery of the pipeline on 500 people, read back from its Parquet files."""
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        root = Path(folder)
        keystore = make_keystore(root, patch)
        write_batch(root, SCENARIO, 1, SCENARIO.sources)
        summary = run_pipeline(
            load_config(write_config(root, keystore, SCENARIO)), services=fake_services(nhs_linker)
        )
        assert summary.delivery_dir is not None
        yield {s: pl.read_parquet(summary.delivery_dir / f"{s}.parquet") for s in SCENARIO.sources}


def test_income_is_delivered_as_integers_and_check_output_sums_it(
    delivered: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    gp = delivered["gp"]
    assert gp.schema["income"] == pl.Int64 and gp.schema["region"] == pl.Categorical
    assert gp["income"].null_count() > 0  # blanks in the input stay missing
    path = tmp_path / "gp.parquet"
    gp.write_parquet(path)
    result = CliRunner().invoke(
        cli, ["check-output", "--data", str(path), "--by", "region", "--by", "sex_code",
              "--stat", "sum:income", "--out", str(tmp_path / "checked")],
    )  # fmt: skip
    assert result.exit_code in (0, 3), result.output  # safe, or unsafe: never "not numeric"
    assert "not numeric" not in result.output
    table = pl.read_parquet(tmp_path / "checked" / "table.parquet")
    assert table.schema["n"] == pl.Int64  # counts are whole numbers
    assert table["sum_income"].drop_nulls().len() > 0


def _table(delivered: dict[str, pl.DataFrame], seed: int) -> tuple[pl.DataFrame, TableSpec]:
    """A random table's microdata (a sub-population of the GP file, or GP joined to the
    mental-health file) and its spec; some get dominant contributions."""
    rng = np.random.default_rng(seed)
    data = delivered["gp"]
    columns = ["age_band", "sex_code", "region"]
    if rng.random() < 0.3:
        mental = delivered["mental"].select("person_id", pl.col("ethnicity"))
        data = data.join(mental.drop_nulls("person_id"), on="person_id", how="inner")
        columns.append("ethnicity")
    data = data.filter(pl.Series(rng.random(data.height) < rng.uniform(0.2, 1.0)))
    income = data.get_column("income").cast(pl.Float64).to_numpy().copy()
    if rng.random() < 0.5:
        boosted = rng.choice(income.size, size=min(income.size, int(rng.integers(1, 4))))
        income[boosted] *= rng.uniform(10, 300, boosted.size)
    by = tuple(str(c) for c in rng.choice(columns, 2, replace=False))
    frame = data.select(
        *(pl.col(c).cast(pl.String) for c in by), pl.Series("income", income).fill_nan(None)
    )
    statistic = "sum" if rng.random() < 0.5 else "mean"
    return frame, TableSpec(by, statistic, "income", margins=False)  # type: ignore[arg-type]


def _dominated(values: np.ndarray) -> bool:  # type: ignore[type-arg]
    """Our own reading of the rules on a cell's non-missing contributions."""
    present = np.sort(values[~np.isnan(values)])[::-1]
    if present.size < 10:
        return True
    total, top1, top2 = present.sum(), present[0], present[:2].sum()
    return bool(total - top2 < 0.10 * top1 or top2 >= 0.9 * total or np.unique(present).size == 1)


def test_no_dominated_cell_is_published_from_delivered_data(
    delivered: dict[str, pl.DataFrame],
) -> None:
    withheld = with_missing = 0
    for seed in range(TABLES):
        frame, spec = _table(delivered, seed)
        cells = check_table(frame, spec).cells
        for row in cells.iter_rows(named=True):
            members = frame.filter(
                pl.all_horizontal(pl.col(c).fill_null("(missing)") == row[c] for c in spec.by)
            )
            values = members.get_column("income").to_numpy().astype(float)
            if row["published"] is not None:
                assert not _dominated(values), f"table {seed}: cell {row} published"
            elif values.size and _dominated(values):
                withheld += 1
                with_missing += bool(np.isnan(values).any())
    assert withheld >= 100 and with_missing >= 30  # dominance (with gaps) is common here


def _acro_flags(frame: pl.DataFrame, spec: TableSpec) -> set[tuple[str, str]]:
    data = frame.to_pandas()
    logging.disable(logging.INFO)  # ACRO logs every table at INFO
    try:
        checker = acro.ACRO(suppress=True)
        a, b = spec.by
        checker.crosstab(data[a], data[b], values=data["income"], aggfunc=spec.statistic)
        outcome = list(checker.results.results.values())[-1].outcome
    finally:
        logging.disable(logging.NOTSET)
    rules = ("NKCheck", "PPercentCheck", "MinimumThresholdCheck")
    return {
        (str(r), str(c))
        for r in outcome.index
        for c in outcome.columns
        if any(rule in str(outcome.loc[r, c]) for rule in rules)
    }


def test_every_cell_acro_flags_is_withheld(delivered: dict[str, pl.DataFrame]) -> None:
    flagged = 0
    for seed in range(ACRO_TABLES):
        frame, spec = _table(delivered, seed)
        cells = check_table(frame.drop_nulls(list(spec.by)), spec).cells
        rows = cells.iter_rows(named=True)
        withheld = {(r[spec.by[0]], r[spec.by[1]]) for r in rows if r["published"] is None}
        acro_flags = _acro_flags(frame.drop_nulls(list(spec.by)), spec)
        assert acro_flags <= withheld, f"table {seed}: ACRO flags {acro_flags - withheld}"
        flagged += len(acro_flags)
    assert flagged >= ACRO_TABLES  # on average at least one flagged cell per table


def _recoverable(cells: pl.DataFrame, by: tuple[str, ...], measure: str) -> list[int]:
    """Withheld interior cells whose ``measure`` the published interior cells and margins pin
    down exactly (min = max over non-negative interior values consistent with them)."""
    interior = cells.filter(pl.col("interior"))
    keys = [tuple(r) for r in interior.select(by).iter_rows()]
    rows, rhs = [], []
    for cell in cells.iter_rows(named=True):
        if cell["published"] is None:
            continue
        covered = [all(cell[c] in ("Total", key[i]) for i, c in enumerate(by)) for key in keys]
        rows.append(np.array(covered, dtype=float))
        rhs.append(cell[measure])
    exposed = []
    for index, cell in enumerate(interior.iter_rows(named=True)):
        if cell["published"] is not None:
            continue
        objective = np.eye(len(keys))[index]
        low = linprog(objective, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
        assert low.status == 0 and high.status in (0, 3)  # 3: unbounded (its margins withheld)
        if high.status == 0 and -high.fun - low.fun <= 1e-6:
            exposed.append(index)
    return exposed


def test_no_withheld_cell_is_recoverable_from_margins(delivered: dict[str, pl.DataFrame]) -> None:
    suppressed = 0
    tables = [_table(delivered, seed) for seed in range(TABLES)]
    if not THOROUGH:  # the smaller tables (no age band: 11 categories) keep this quick
        tables = [t for t in tables if "age_band" not in t[1].by][:LP_TABLES]
    for index, (frame, spec) in enumerate(tables):
        with_margins = TableSpec(spec.by, spec.statistic, spec.variable, margins=True)
        cells = check_table(frame, with_margins).cells
        # An intruder reads counts from every table and sums from sum tables (a mean times
        # its count is not a sum when contributions are missing: contributors are not shown).
        published = cells.with_columns(pl.col("n_published").cast(pl.Float64).alias("count"))
        assert _recoverable(published, spec.by, "count") == [], f"LP table {index}: counts"
        if spec.statistic == "sum":
            assert _recoverable(cells, spec.by, "published") == [], f"LP table {index}: sums"
        suppressed += int(cells.filter(pl.col("interior"))["published"].null_count())
    assert suppressed >= 5
