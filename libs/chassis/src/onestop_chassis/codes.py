"""National identifier formats shared by every service (plain Python, safe for domain code).

- Unit code (mã định danh đơn vị), e.g. "000.00.21.H17": four dot-separated groups of 3, 2, 2, 3
  digits or capital letters.
- Dossier code (Circular 01/2018 art. 19): "<unit code>-YYMMDD-NNNN", NNNN the day's sequence of
  that unit, 4 digits, widening only past 9999 dossiers in a day.

Patterns are matched with fullmatch and ASCII digits only: a trailing newline or a full-width
digit is not part of any code. What people type or copy (lower case, spaces around the dashes,
full-width digits, an en dash from a word processor) is brought to the one form first by
`normalise_code`, wherever a code enters a service.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from .errors import FieldViolation, InvalidArgument

UNIT_CODE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[0-9A-Z]{3}")
DOSSIER_CODE = re.compile(rf"(?P<unit>{UNIT_CODE.pattern})-(?P<day>[0-9]{{6}})-(?P<seq>[0-9]{{4,}})")


# Dashes a word processor, a phone keyboard or a PDF copy puts where the code has "-".
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"})


def normalise_code(value: str) -> str:
    """A unit or dossier code as typed → its one form: NFKC (full-width digits and letters become
    ASCII), typographic dashes become "-", all whitespace removed (a code has none, so spaces
    around "-" and "." go), upper case. "000.00.21.h17 – 261130 - 0003" → "000.00.21.H17-261130-0003".
    Anything else is left for `is_dossier_code`/`is_unit_code` to refuse; never raises."""
    value = unicodedata.normalize("NFKC", value).translate(_DASHES)
    return "".join(value.split()).upper()


def is_unit_code(value: str) -> bool:
    return bool(UNIT_CODE.fullmatch(value))


def is_dossier_code(value: str) -> bool:
    return bool(DOSSIER_CODE.fullmatch(value))


def dossier_code_argument(value: str, field: str = "dossier_code") -> str:
    """A dossier code a caller sent, as typed (`normalise_code`); INVALID_ARGUMENT naming `field`
    when it is not one (Circular 01/2018/TT-VPCP art. 19: `<unit code>-YYMMDD-XXXX`)."""
    code = normalise_code(value)
    if not is_dossier_code(code):
        raise InvalidArgument.from_violations([FieldViolation(
            field, "is not a dossier code like 000.00.21.H17-261123-0001")])
    return code


def unit_of(dossier_code: str) -> str:
    """'000.00.21.H17-261130-0003' → '000.00.21.H17', the receiving unit a dossier code names;
    ValueError when `dossier_code` is not one (check with `is_dossier_code` first)."""
    found = DOSSIER_CODE.fullmatch(dossier_code)
    if found is None:
        raise ValueError(f"not a dossier code: {dossier_code!r}")
    return found["unit"]


def dossier_code(unit_code: str, day: dt.date, sequence: int) -> str:
    if not is_unit_code(unit_code):
        raise ValueError(f"not a national unit code: {unit_code!r}")
    if sequence < 1:
        raise ValueError("the day's sequence starts at 1")
    return f"{unit_code}-{day:%y%m%d}-{sequence:04d}"
