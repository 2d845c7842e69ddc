"""Check-digit rules needed to make synthetic identifiers valid, vectorised with numpy.

Kept inside :mod:`synthetic` on purpose: the generator must not depend on the
validators it will be used to test (``pseudonym.identifiers``), so the rules are written twice
and tests can cross-check one against the other.

- NHS number: 9 digits weighted 10..2, check = 11 - (sum mod 11); 11 -> 0; 10 -> no valid number
  with that stem (NHS Data Dictionary, "NHS Number").
- VAT registration number (GB, 9 digits): first 7 digits weighted 8..2; the last two digits make
  ``sum + check`` (old "mod 97" scheme) or ``sum + 55 + check`` (new "97-55" scheme) divisible
  by 97 (HMRC VAT Notice 700/1 and its published check method).
- Company registration number: 8 characters, either 8 digits (England and Wales) or a 2-letter
  prefix and 6 digits (Companies House "company number" formats). There is no check digit.
- IDBR reference check letters are not published; :func:`ruref_check_letter` is a documented
  stand-in (weighted mod 23) so that a mistyped synthetic ruref is detectable.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

NHS_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # 10, 9, ..., 2
VAT_WEIGHTS = np.arange(8, 1, -1, dtype=np.int64)  # 8, 7, ..., 2

#: Companies House number prefixes used by the register generator, with the legal form of
#: companies carrying them ("" = 8 digits, England and Wales companies).
CRN_PREFIXES: dict[str, str] = {
    "": "company",
    "SC": "company",  # Scotland
    "NI": "company",  # Northern Ireland
    "R0": "company",  # Northern Ireland, pre-partition numbering
    "OC": "llp",  # LLP, England and Wales
    "SO": "llp",  # LLP, Scotland
    "NC": "llp",  # LLP, Northern Ireland
    "LP": "lp",  # limited partnership, England and Wales
    "SL": "lp",  # limited partnership, Scotland
    "NL": "lp",  # limited partnership, Northern Ireland
    "FC": "overseas",  # overseas company
    "SF": "overseas",
    "NF": "overseas",
    "IP": "society",  # industrial and provident society
    "SP": "society",
    "RC": "charter",  # royal charter
    "SR": "charter",
    "CE": "cio",  # charitable incorporated organisation
    "CS": "cio",
    "SE": "european",  # Societas Europaea
}


def digits_of(numbers: IntArray, width: int) -> IntArray:
    """Split non-negative integers into an (n, width) array of digits, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (numbers[:, None] // powers) % 10


def nhs_check_digit(stems: IntArray) -> IntArray:
    """Check digit for 9-digit NHS number stems; 10 means the stem has no valid number."""
    remainder = (digits_of(stems, 9) * NHS_WEIGHTS).sum(axis=1) % 11
    check = 11 - remainder
    return np.where(check == 11, 0, check)


def is_valid_nhs_number(number: str) -> bool:
    """True when ``number`` is 10 digits whose last digit is the mod-11 check of the first 9."""
    if len(number) != 10 or not number.isdigit():
        return False
    check = int(nhs_check_digit(np.array([int(number[:9])], dtype=np.int64))[0])
    return check != 10 and check == int(number[9])


def vat_check_digits(stems: IntArray, *, scheme_9755: npt.NDArray[np.bool_]) -> IntArray:
    """Two check digits (0-96) for 7-digit VAT stems under the 97 or 97-55 scheme."""
    total = (digits_of(stems, 7) * VAT_WEIGHTS).sum(axis=1)
    return np.where(scheme_9755, (-total - 55) % 97, (-total) % 97)


def is_valid_vat_number(number: str) -> bool:
    """True when a 9-digit GB VAT number satisfies the 97 or the 97-55 rule."""
    if len(number) != 9 or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:7], range(8, 1, -1), strict=True))
    check = int(number[7:])
    return (total + check) % 97 == 0 or (total + 55 + check) % 97 == 0


def is_valid_crn(number: str) -> bool:
    """True when a company number has a known prefix (or none) and the right digit count."""
    if len(number) != 8:
        return False
    if number.isdigit():
        return True
    prefix, rest = number[:2], number[2:]
    return prefix in CRN_PREFIXES and prefix != "" and rest.isdigit()


_CHECK_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXY"))  # 23 letters: no I, O, Z


def ruref_check_letter(stems: IntArray, width: int = 11) -> npt.NDArray[np.str_]:
    """Synthetic check letter for IDBR-style references (weighted mod 23; not the ONS rule)."""
    weights = np.arange(width + 1, 1, -1, dtype=np.int64)
    return _CHECK_LETTERS[(digits_of(stems, width) * weights).sum(axis=1) % 23]


def is_valid_ruref(reference: str) -> bool:
    """True when an 11-digit reference ends in its synthetic check letter."""
    if len(reference) != 12 or not reference[:11].isdigit():
        return False
    stem = np.array([int(reference[:11])], dtype=np.int64)
    return bool(ruref_check_letter(stem)[0] == reference[11])
