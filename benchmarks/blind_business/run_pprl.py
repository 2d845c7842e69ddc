"""pprl on the blind business data, through its CLI as README "Business linkage" shows.

The keystore, key file and environment are made once (``pprl keys init``, ``keys add-env``),
outside the timed runs. Results carry pseudonymised entrefs only, so the register's entrefs are
pseudonymised with the same environment (``pprl pseudonymise --column entref:entref``) to
score them: the curator's view, not the researcher's.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import polars as pl

ENV = "bench"
#: A benchmark-only passphrase for a throwaway key file under the work folder.
PASSPHRASE = "blind-business-benchmark-only"
LINKED = ("matched_exact", "matched_probabilistic", "matched_clerical")


def pprl_command() -> str:
    found = shutil.which("pprl")
    if found is None:
        raise SystemExit("pprl is not on the PATH: activate the virtualenv that installs it")
    return found


def environment(work: Path) -> dict[str, str]:
    return os.environ | {"PPRL_KEYSTORE": str(work / "ks"), "PPRL_KEY_PASSPHRASE": PASSPHRASE}


def make_keystore(work: Path) -> None:
    """A fresh keystore with one environment (skipped when it exists)."""
    if (work / "ks").exists():
        return
    env = environment(work)
    pprl = pprl_command()
    subprocess.run(
        [pprl, "keys", "init", "--key-file", str(work / "master.key")], env=env, check=True
    )
    subprocess.run([pprl, "keys", "add-env", ENV], env=env, check=True)


def token_map(data: Path, work: Path) -> pl.DataFrame:
    """``entref_pseudonym, entref`` for every register row, made by ``pprl pseudonymise``."""
    plain, tokens = work / "entrefs.parquet", work / "entref_tokens.parquet"
    paths = (str(plain), str(tokens))
    register = pl.read_parquet(data / "register.parquet", columns=["entref"])
    register.with_columns(pl.col("entref").alias("entref_plain")).write_parquet(plain)
    subprocess.run(
        [pprl_command(), "pseudonymise", "--env", ENV, "--column", "entref:entref", *paths],
        env=environment(work),
        check=True,
        capture_output=True,
    )
    return pl.read_parquet(tokens).select(
        pl.col("entref").alias("entref_pseudonym"), pl.col("entref_plain").alias("entref")
    )


def link_register_argv(
    data: Path, out: Path, incoming: str, *, previous_names: bool = False
) -> list[str]:
    """``pprl link-register`` on ``data``; ``previous_names`` maps the register's
    ``previous_name`` column (the unseen generator's ``--register-previous-names``)."""
    mapped = ["--register-column", "previous_name=previous_name"] if previous_names else []
    return [
        pprl_command(),
        "link-register",
        "--env",
        ENV,
        "--register",
        str(data / "register.parquet"),
        "--input",
        str(data / incoming),
        "--trading-name-column",
        "trading_name",
        *mapped,
        "--out",
        str(out),
    ]


def crn_request_argv(data: Path, requests: Path, out: Path) -> list[str]:
    return [
        pprl_command(),
        "crn-request",
        "--env",
        ENV,
        "--register",
        str(data / "register.parquet"),
        "--input",
        str(requests),
        "--key-column",
        "request_id",
        "--out",
        str(out),
    ]


def write_crn_requests(data: Path, path: Path, count: int, seed: int) -> None:
    """``count`` requests: 90% register CRNs (a tenth written without zero padding or in lower
    case), 10% well-formed numbers the register does not hold."""
    rng = random.Random(seed)
    crns = pl.read_parquet(data / "register.parquet", columns=["crn"])["crn"]
    held = [c for c in crns.to_list() if c]
    known = set(held)
    picked = [rng.choice(held) for _ in range(count * 9 // 10)]
    picked = [
        (c.lstrip("0") if c.isdigit() else c.lower()) if rng.random() < 0.1 else c for c in picked
    ]
    while len(picked) < count:
        number = f"{rng.randint(100_000, 15_999_999):08d}"
        if number not in known:
            picked.append(number)
    rng.shuffle(picked)
    ids = [f"R{i:06d}" for i in range(count)]
    pl.DataFrame({"request_id": ids, "crn": picked}).write_csv(path)


def read_links(out: Path, tokens: pl.DataFrame) -> pl.DataFrame:
    """``incoming_id, entref, status, method, match_probability`` of every linked record."""
    results = pl.read_csv(out / "results.csv", infer_schema=False)
    return (
        results.filter(pl.col("status").is_in(LINKED))
        .join(tokens, on="entref_pseudonym", how="left")
        .select(
            "incoming_id",
            "entref",
            "status",
            "method",
            pl.col("match_probability").cast(pl.Float64),
        )
    )


def self_estimate(links: pl.DataFrame) -> dict[str, float | int]:
    """What pprl's own probabilities say about its probabilistic links: their mean is the
    precision the model expects (pprl reports no overall estimate of its own)."""
    probabilistic = links.filter(pl.col("status") == "matched_probabilistic")
    mean = probabilistic["match_probability"].mean()
    return {
        "probabilistic_links": probabilistic.height,
        "expected_precision": round(float(mean), 4) if mean is not None else 0.0,  # type: ignore[arg-type]
    }
