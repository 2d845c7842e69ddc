"""Keyed pseudonyms: the recipe pipeline code calls, never raw HMAC.

A pseudonym for a *normalised* identifier ``value`` of type ``id_type`` is::

    tag  = HMAC-SHA256(K, id_type + ":" + value)      (UTF-8 message)
    text = prefix + str(version) + "_" + base32(tag[:16]).lower()[:26]

where ``K`` is the ASCII text of the lowercase hex of the 32-byte working key derived for
(environment, id_type, version): the polars-hash plugin takes its key as text, so the *defined*
HMAC key is those 64 ASCII bytes (64 bytes is the SHA-256 block size, used as is). The stdlib path
computes exactly the same bytes and serves as the independent verifier in the tests.

* The type tag and the per-type working key keep the same digits as NHS number and as UTR apart.
* Different environments derive different keys, so their pseudonyms cannot be joined.
* 128 bits are kept (26 base32 characters, RFC 4648 alphabet, lowercase, no padding). The chance
  of any collision among n distinct identifiers is about n**2 / 2**129: for 10**9 identifiers,
  about 1.5e-21.
* The prefix (environment letters + key version, e.g. ``research2_``) shows where a pseudonym came
  from, so pseudonyms of different environments or versions are not mixed by mistake. Within one
  (environment, version) every pseudonym has the same length.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, NoReturn

import numpy as np
import polars as pl
import pyarrow as pa

from pseudonym.errors import PseudonymError
from pseudonym.keystore import Keystore

logger = logging.getLogger(__name__)

Backend = Literal["auto", "polars-hash", "stdlib"]
TOKEN_CHARS = 26
# Every pseudonym, as a regular expression: prefix letters, key version, "_", base32 text.
TOKEN_SHAPE = rf"^[a-z]{{1,8}}[0-9]+_[a-z2-7]{{{TOKEN_CHARS}}}$"
RECORD_KEY_PURPOSE = "record-key"
_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_ID_TYPE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
_CHUNK_ROWS = 1 << 18  # small enough to spread over two threads and keep numpy temporaries in cache
_WORKERS = 2


class TokenError(PseudonymError, ValueError):
    """Pseudonymisation was asked for something it cannot do (bad type name, bad dtype)."""


def polars_hash_available() -> bool:
    """Whether the polars-hash plugin (the fast path) can be imported."""
    try:
        import polars_hash  # noqa: F401
    except ImportError:
        return False
    return True


class Pseudonymiser:
    """Deterministic keyed pseudonyms for one environment and key version.

    Build it with :meth:`from_keystore`; working keys are derived per identifier type on first use
    and never leave this object (``repr`` shows only the environment and version).
    """

    def __init__(
        self,
        keystore: Keystore,
        environment: str,
        *,
        version: int | None = None,
        backend: Backend = "auto",
    ) -> None:
        self.environment = environment
        self.version = keystore.active_version(environment) if version is None else version
        self.prefix = f"{keystore.environment(environment).prefix}{self.version}_"
        self._keystore = keystore
        if backend == "auto":
            backend = "polars-hash" if polars_hash_available() else "stdlib"
        self.backend: Backend = backend
        self._keys: dict[str, tuple[str, str]] = {}  # purpose -> (hex key text, key ID)

    @classmethod
    def from_keystore(
        cls,
        keystore: Keystore,
        environment: str,
        *,
        version: int | None = None,
        backend: Backend = "auto",
    ) -> Pseudonymiser:
        """Recipe for ``environment`` at ``version`` (default: the active version)."""
        pseudonymiser = cls(keystore, environment, version=version, backend=backend)
        # Derive one key now so a missing master key or destroyed environment fails early.
        pseudonymiser._key(RECORD_KEY_PURPOSE)
        return pseudonymiser

    def __repr__(self) -> str:
        return f"Pseudonymiser(environment={self.environment!r}, version={self.version})"

    def __reduce__(self) -> NoReturn:
        # Pickling would copy derived keys into task graphs, spill files and caches.
        raise TypeError(
            "Pseudonymiser cannot be pickled: send the environment and version, and rebuild it"
            " from the keystore where it is used"
        )

    @property
    def key_ids(self) -> dict[str, str]:
        """Key ID of every working key derived so far, by identifier type (no keys)."""
        return {purpose: kid for purpose, (_, kid) in sorted(self._keys.items())}

    def key_id(self, id_type: str) -> str:
        """Key ID of the working key for ``id_type``."""
        return self._key(_check_type(id_type))[1]

    def describe(self) -> dict[str, object]:
        """Facts for a manifest: environment, version, prefix, algorithm and key IDs."""
        return {
            "environment": self.environment,
            "key_version": self.version,
            "prefix": self.prefix,
            "algorithm": "HMAC-SHA256(hex(HKDF-SHA256 key)), 128-bit, base32",
            "key_ids": self.key_ids,
        }

    def pseudonymise(self, id_type: str, values: pl.Series) -> pl.Series:
        """Pseudonyms for normalised identifiers of ``id_type``; null stays null."""
        key_text = self._key(_check_type(id_type))[0]
        text = _as_text(values)
        prefix = self.prefix.encode("ascii")

        def chunk_tokens(start: int) -> pa.Array:
            hi, lo, valid = _tag_halves(
                key_text, id_type, text.slice(start, _CHUNK_ROWS), self.backend
            )
            return _encode_chunk(hi, lo, prefix, valid)

        return _from_chunks(_map_chunks(chunk_tokens, text.len())).alias(values.name)

    def pseudonymise_one(self, id_type: str, value: str) -> str:
        """Scalar convenience for tests and the CLI; the same result as :meth:`pseudonymise`."""
        if not isinstance(value, str):
            raise TokenError("value must be a str (the normalised identifier)")
        key_text = self._key(_check_type(id_type))[0]
        digest = hmac.digest(key_text.encode("ascii"), f"{id_type}:{value}".encode(), "sha256")
        return self.prefix + _b32_text(digest)

    def record_keys(self, values: pl.Series) -> pl.Series:
        """Per-record keys 0-255 (UInt8) for the ONS cell-key method; null stays null.

        Keyed and deterministic per environment and key version: a record always gets the same
        key, so a cell always gets the same perturbation. Pass a stable record identifier.
        """
        key_text = self._key(RECORD_KEY_PURPOSE)[0]
        hi, _, valid = _tag_halves(key_text, RECORD_KEY_PURPOSE, values, self.backend)
        first_byte = pl.Series(values.name, (hi >> np.uint64(56)).astype(np.uint8))
        return first_byte if valid.all() else _restore_nulls(first_byte, valid)

    def _key(self, purpose: str) -> tuple[str, str]:
        if purpose not in self._keys:
            key, kid = self._keystore.working_key(self.environment, purpose, version=self.version)
            self._keys[purpose] = (key.reveal().hex(), kid)
            logger.debug("derived working key %s for %s", kid, purpose)
        return self._keys[purpose]


# --- HMAC back ends ---------------------------------------------------------------------------


def _resolve(backend: Backend) -> Backend:
    if backend == "auto":
        return "polars-hash" if polars_hash_available() else "stdlib"
    if backend not in ("polars-hash", "stdlib"):
        raise TokenError(f"unknown HMAC backend {backend!r}")
    return backend


def _hmac_expr(key: str, column: str) -> pl.Expr:
    # Private: the expression carries the key, so it never leaves this module unevaluated.
    import polars_hash as plh

    return plh.col(column).chash.hmac_sha256(key=key)


def _stdlib_digests(key: str, messages: pl.Series) -> list[bytes | None]:
    raw_key = key.encode("utf-8")
    return [
        None if m is None else hmac.digest(raw_key, m.encode(), "sha256")
        for m in messages.to_list()
    ]


def _tag_halves(
    key: str, tag: str, values: pl.Series, backend: Backend
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First 128 bits of HMAC(key, tag + ":" + value) as uint64 arrays (hi, lo), and validity."""
    text = _as_text(values)
    messages = text.to_frame("v").lazy().select((pl.lit(f"{tag}:") + pl.col("v")).alias("m"))
    hi, lo = _hmac_halves(key, messages, backend)
    return hi, lo, text.is_not_null().to_numpy()


def _hmac_halves(
    key: str, messages: pl.LazyFrame, backend: Backend
) -> tuple[np.ndarray, np.ndarray]:
    """First 128 bits of HMAC-SHA256 under the UTF-8 bytes of ``key`` of each UTF-8 message in
    column ``m``, as uint64 arrays (hi, lo); zero where the message is null.

    The only place a back end computes an HMAC (the RFC 4231 tests call it for both). The
    polars-hash path runs the HMAC and parses the hex in the query that builds the messages
    (polars runs it on one thread: callers run chunks side by side); the expression carrying
    the key is built and evaluated here, never returned.
    """
    if _resolve(backend) == "polars-hash":
        halves = (
            messages.select(_hmac_expr(key, "m").alias("h"))
            .select(
                pl.col("h").str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64).alias("hi"),
                pl.col("h").str.slice(16, 16).str.to_integer(base=16, dtype=pl.UInt64).alias("lo"),
            )
            .collect()
        )
        if halves["hi"].null_count():
            halves = halves.fill_null(0)
        return halves["hi"].to_numpy(), halves["lo"].to_numpy()
    blank = bytes(16)
    digests = _stdlib_digests(key, messages.collect().get_column("m"))
    packed = b"".join(blank if d is None else d[:16] for d in digests)
    words = np.frombuffer(packed, dtype=">u8").reshape(-1, 2).astype(np.uint64)
    return words[:, 0].copy(), words[:, 1].copy()


def _as_text(values: pl.Series) -> pl.Series:
    if values.dtype == pl.String:
        return values
    if values.dtype.is_integer() or values.dtype == pl.Null:
        return values.cast(pl.String)
    raise TokenError(
        f"column {values.name!r} has type {values.dtype}; normalised identifiers must be strings"
    )


def _check_type(id_type: str) -> str:
    if not isinstance(id_type, str) or not _ID_TYPE.match(id_type):
        raise TokenError("identifier type must be lowercase letters, digits and '_'")
    return id_type


# --- encoding ---------------------------------------------------------------------------------


def _b32_text(digest: bytes) -> str:
    return base64.b32encode(digest[:16]).decode("ascii")[:TOKEN_CHARS].lower()


def _map_chunks(work: Callable[[int], pa.Array], rows: int) -> list[pa.Array]:
    """``work(start)`` for every chunk start, in order, on up to ``_WORKERS`` threads.

    Each chunk runs its whole path (polars-hash query, numpy encoding) on one thread; both
    release the GIL, so two chunks proceed on two cores at once.
    """
    starts = range(0, rows, _CHUNK_ROWS)
    if len(starts) <= 1:
        return [work(start) for start in starts]
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(starts))) as pool:
        return list(pool.map(work, starts))


def _from_chunks(chunks: list[pa.Array]) -> pl.Series:
    # Arrow string views are polars' own string layout: the import copies nothing.
    return pl.Series("", pa.chunked_array(chunks, type=pa.string_view()))


def _restore_nulls(series: pl.Series, valid: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.Series(valid)).then(series)).to_series().alias(series.name)


def _encode_chunk(hi: np.ndarray, lo: np.ndarray, prefix: bytes, valid: np.ndarray) -> pa.Array:
    """Arrow string views of ``prefix`` + 26 base32 characters of hi:lo; null where not valid.

    Ten bits make two base32 characters, so each of the 13 ten-bit groups (the last one padded
    with two zero bits) is one table lookup; temporaries are reused to keep memory traffic low.
    Every string is longer than 12 bytes, so each view holds (length, first 4 bytes, buffer 0,
    offset) and the characters sit back to back in one buffer.
    """
    n, width = len(hi), len(prefix) + TOKEN_CHARS
    out = np.empty((n, width), dtype=np.uint8)
    out[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    pairs = out[:, len(prefix) :].view("<u2")  # (n, 13): row stride `width` bytes, any alignment
    group, spill = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64)
    index = group.view(np.int64)
    mask = np.uint64(1023)
    for i in range(TOKEN_CHARS // 2):
        start = 10 * i  # bit offset from the most significant bit of hi
        if start + 10 <= 64:
            np.right_shift(hi, np.uint64(54 - start), out=group)
            np.bitwise_and(group, mask, out=group)
        elif start < 64:  # straddles hi and lo
            low_bits = start + 10 - 64
            np.bitwise_and(hi, np.uint64((1 << (64 - start)) - 1), out=group)
            np.left_shift(group, np.uint64(low_bits), out=group)
            np.right_shift(lo, np.uint64(64 - low_bits), out=spill)
            np.bitwise_or(group, spill, out=group)
        elif start + 10 <= 128:
            np.right_shift(lo, np.uint64(118 - start), out=group)
            np.bitwise_and(group, mask, out=group)
        else:  # the last group: 8 bits of lo and 2 zero bits of padding
            np.bitwise_and(lo, np.uint64(255), out=group)
            np.left_shift(group, np.uint64(2), out=group)
        pairs[:, i] = _B32_PAIRS[index]
    views = np.zeros((n, 4), dtype="<u4")
    views[:, 0] = width
    views[:, 1] = out[:, :4].copy().view("<u4")[:, 0]
    views[:, 3] = np.arange(0, n * width, width, dtype=np.uint32)
    all_valid = bool(valid.all())
    validity = None if all_valid else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string_view(),
        n,
        [validity, pa.py_buffer(views), pa.py_buffer(out.reshape(-1))],
        null_count=0 if all_valid else n - int(valid.sum()),
    )


def _pair_table() -> np.ndarray:
    first, second = np.divmod(np.arange(1024), 32)
    # Little-endian uint16: the low byte (first character) comes first in memory.
    return (_B32[first].astype("<u2") | (_B32[second].astype("<u2") << 8)).astype("<u2")


_B32_PAIRS = _pair_table()
