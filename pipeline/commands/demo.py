"""``pprl demo``: generate fictitious inputs and run the whole pipeline on them, end to end.

The demo makes a fresh keystore whose master key lives only in this process's memory: nothing
secret is written to disk, and when the command ends the demo keys are gone (the crypto-shredding
a project gets at its end). Rerunning ``pprl demo`` on the same folder starts again from scratch,
but only a folder the demo made (its marker file) and holding nothing else: a delivery, state
or audit log that another command wrote there is never deleted.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import polars as pl
import yaml

from pipeline.commands.results import review_pairs
from pipeline.config import load_config
from pipeline.errors import ConfigError, DataError
from pipeline.executors import executor_for
from pipeline.leakscan import known_values, scan_paths
from pipeline.progress import Progress, stage_progress
from pipeline.runner import STAGES, RunSummary, run_pipeline
from pseudonym.keys import encode_master_key, generate_master_key
from pseudonym.keystore import Keystore
from synthetic import SyntheticError, write_demo_sources

MARKER = ".pprl-demo"
#: What a demo folder holds; anything else in it was put there by someone else.
DEMO_ENTRIES = frozenset(
    {MARKER, "inputs", "demo.yaml", "keystore", "delivery", ".pprl-work", ".pprl-state"}
)
#: The demo's steps, for the progress bar: the data, the pipeline's stages, the leak scan.
DEMO_STEPS = ("generate", *STAGES, "leak scan")
MASTER_KEY_ENV = "PPRL_DEMO_MASTER_KEY"
ENVIRONMENT = "demo-research"
IDENTIFYING_COLUMNS = {
    "hospital": ["nhs_number", "patient_name", "date_of_birth", "postcode", "address"],
    "gp": ["nhs_number", "forename", "surname", "date_of_birth", "postcode", "street"],
}


#: Deterministic on the NHS number first, then names, date of birth and postcode.
DEMO_LINKAGE: dict[str, object] = {
    "mode": "link",
    "blocking": ["identifier:nhs", "date_of_birth", "surname & postcode"],
    "comparisons": {
        "identifier:nhs": "identifier",
        "first_name": "name",
        "surname": "name",
        "date_of_birth": "date",
        "postcode": "postcode",
    },
    "thresholds": {"match": "auto", "review": 0.2},
}


def demo_config(inputs: str, keystore: str, delivery: str) -> dict[str, object]:
    """The pipeline config the demo runs (paths relative to the demo folder); a fresh document
    each call, so a caller that edits it cannot change the next demo's."""
    return {
        "project": "demo",
        "environment": ENVIRONMENT,
        "sources": [
            {
                "name": "hospital",
                "path": f"{inputs}/hospital_episodes.csv",
                "format": "csv",
                "date_format": "%d/%m/%Y",
                "columns": {
                    "nhs_number": "identifier:nhs",
                    "patient_name": "full_name",
                    "date_of_birth": "date_of_birth",
                    "sex": "sex",
                    "postcode": "postcode",
                    "address": "address",
                    "diagnosis_code": "attribute:category",
                    "admission_date": "attribute:date",
                },
            },
            {
                "name": "gp",
                "path": f"{inputs}/gp_register.parquet",
                "format": "parquet",
                "columns": {
                    "nhs_number": "identifier:nhs",
                    "forename": "first_name",
                    "surname": "surname",
                    "date_of_birth": "date_of_birth",
                    "sex": "sex",
                    "postcode": "postcode",
                    "income": "attribute:integer",
                    "employment_status": "attribute:category",
                },
            },
        ],
        "linkage": copy.deepcopy(DEMO_LINKAGE),
        "keystore": {"path": keystore, "master_key_env": MASTER_KEY_ENV},
        "approved_attributes": ["diagnosis_code", "income", "employment_status"],
        "disclosure": {
            "k": 5,
            "derive": ["geography", "age_band"],
            "reference_date": "2026-01-01",
            "quasi_identifiers": ["age_band", "geography"],
            "geography_floor": "region",
            "suppression_budget": 0.2,
        },
        "delivery": {"path": delivery},
    }


def prepare_folder(out: Path) -> None:
    """Empty ``out`` if it holds an earlier demo and nothing else; refuse to touch a folder
    the demo did not create, or one where something else has been written since."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise ConfigError(
                f"{out}: folder exists and is not a pprl demo folder; choose another --out"
            )
        foreign = sorted(p.name for p in out.iterdir() if p.name not in DEMO_ENTRIES)
        if foreign:
            raise ConfigError(
                f"{out}: holds files pprl demo did not create ({', '.join(foreign[:5])}); "
                "move them or choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("created by 'pprl demo'; safe to delete\n", encoding="utf-8")


@contextlib.contextmanager
def _demo_master_key() -> Iterator[str]:
    """A fresh master key in this process's environment only, removed afterwards."""
    master = generate_master_key()
    previous = os.environ.get(MASTER_KEY_ENV)
    os.environ[MASTER_KEY_ENV] = encode_master_key(master)
    try:
        yield os.environ[MASTER_KEY_ENV]
    finally:
        if previous is None:
            os.environ.pop(MASTER_KEY_ENV, None)
        else:
            os.environ[MASTER_KEY_ENV] = previous


def run_demo(
    out: Path,
    *,
    rows: int,
    seed: int,
    executor: str = "local",
    progress: Progress | None = None,
) -> RunSummary:
    """Generate inputs into ``out``, run the pipeline, and fail if anything identifying leaked.
    ``progress`` is told each of :data:`DEMO_STEPS` as it starts."""
    step = progress or (lambda name, number, total: None)
    prepare_folder(out)
    step("generate", 1, len(DEMO_STEPS))
    try:
        sources = write_demo_sources(out / "inputs", n=rows, seed=seed)
    except SyntheticError as error:  # a generator's ValueError, reported as a config error
        raise ConfigError(error.problems, source="pprl demo") from None
    config_path = out / "demo.yaml"
    config_path.write_text(
        "# Generated by 'pprl demo' (fictitious data). Its master key existed only in memory.\n"
        + yaml.safe_dump(demo_config("inputs", "keystore", "delivery"), sort_keys=False),
        encoding="utf-8",
    )
    with _demo_master_key():
        from pseudonym.keys import master_key_from_env

        master = master_key_from_env({"PPRL_MASTER_KEY": os.environ[MASTER_KEY_ENV]})
        assert master is not None
        Keystore.create(out / "keystore", master=master).add_environment(ENVIRONMENT)
        config = load_config(config_path)
        with executor_for("dask" if executor == "dask" else "local", None) as ex:
            summary = run_pipeline(
                config,
                executor=ex,
                progress=lambda stage, n, _: step(stage, n + 1, len(DEMO_STEPS)),
            )
    step("leak scan", len(DEMO_STEPS), len(DEMO_STEPS))
    values = known_values(
        pl.read_csv(sources.hospital_path, infer_schema_length=0), IDENTIFYING_COLUMNS["hospital"]
    )
    values |= known_values(pl.read_parquet(sources.gp_path), IDENTIFYING_COLUMNS["gp"])
    findings = scan_paths([out / "delivery"], values)
    if findings:
        raise DataError("leak scan failed: " + "; ".join(f.describe() for f in findings[:5]))
    return summary


@click.command("demo")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the generated inputs, keystore and delivery (recreated on each run).",
)
@click.option(
    "--rows",
    default=5000,
    show_default=True,
    type=click.IntRange(min=10),
    help="People in the GP register (the hospital file gets 80% as many episodes).",
)
@click.option("--seed", default=2026, show_default=True, help="Seed for the generated data.")
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Run on this process or on a dask LocalCluster.",
)
def command(out: Path, rows: int, seed: int, executor: str) -> None:
    """Run the whole pipeline on generated, fictitious data and show what it delivered.

    Generates a messy hospital-episodes CSV and a GP-register Parquet file about overlapping
    people (with some invalid NHS numbers), creates a throw-away keystore, then ingests,
    validates, links, pseudonymises, de-identifies and delivers, and finally scans every
    delivered file for the generated identifying values.

    \b
    Example:
        pprl demo --out demo-output --rows 5000
    """
    with stage_progress("pprl demo", DEMO_STEPS) as progress:
        summary = run_demo(out, rows=rows, seed=seed, executor=executor, progress=progress)
    manifest = summary.manifest
    totals = manifest.get("totals", {})
    linkage = manifest.get("linkage", {})
    delivery = summary.delivery_dir
    click.echo(f"Demo run {summary.run_id}: {summary.status}")
    click.echo(
        f"  rows: {totals.get('input_rows')} in, {totals.get('delivered')} delivered, "
        f"{totals.get('quarantined')} quarantined, {totals.get('linked')} linked"
    )
    if linkage:
        match = linkage.get("match_threshold")
        setting = " (auto)" if linkage.get("match_threshold_setting") == "auto" else ""
        click.echo(
            f"  linkage: {linkage.get('pairs_matched')} pairs matched at p >= "
            f"{'-' if match is None else f'{match:.3g}'}{setting}, "
            f"{linkage.get('pairs_for_review')} for review, "
            f"{linkage.get('identifier_links', 0)} records linked by a shared NHS number"
        )
    click.echo(f"  warnings: {len(manifest.get('warnings', []))} (listed in the report)")
    click.echo("  leak scan: no generated identifying value found in any delivered file")
    click.echo(f"  extracts and manifest: {delivery}")
    click.echo(f"  report:                {delivery / 'report.html' if delivery else '-'}")
    click.echo(f"  audit log:             {summary.audit_log}")
    if summary.review_file is not None:
        pairs = review_pairs(summary.review_file)
        click.echo(f"  clerical review:       {pairs} pair(s) in {summary.review_file}")
