"""Identity papers (giấy tờ tùy thân) a Vietnamese desk is shown, each checked by its own rule.

Plain Python, safe for domain code (no grpc or protobuf): the proto enum
onestop.common.v1.IdentityDocumentType has the same numbers as `DocumentType`.

Each type, its number, and the source of the rule:

1. personal identification number (số định danh cá nhân): 12 digits. Luật Căn cước 2023.
2. identity card (thẻ căn cước, from 1/7/2024): 12 digits, the personal identification number.
   Luật Căn cước 2023.
3. citizen identity card (căn cước công dân): 12 digits, the personal identification number.
   Luật Căn cước công dân 2014; valid until it expires (Luật Căn cước 2023 art. 46).
4. people's identity card (chứng minh nhân dân): 9 digits, or 12 from 2012. Nghị định
   05/1999/NĐ-CP; its use ended 31/12/2024 (Luật Căn cước 2023 art. 46), still quoted on older papers.
5. passport (hộ chiếu): Vietnamese, 1 letter + 7 digits (C1234567); other states, 5 to 9 letters or
   digits. Luật Xuất cảnh, nhập cảnh của công dân Việt Nam 2019; ICAO Doc 9303 (the document number
   field holds 9 characters).
6. identity certificate (giấy chứng nhận căn cước): 12 digits, the personal identification number.
   Luật Căn cước 2023 art. 30 (people of Vietnamese origin whose nationality is undetermined).
7. permanent residence card (thẻ thường trú), 8. temporary residence card (thẻ tạm trú): 5 to 15
   letters or digits. Luật Nhập cảnh, xuất cảnh, quá cảnh, cư trú của người nước ngoài tại Việt Nam
   2014 (amended 2019, 2023): no public number format, so only the shape is checked.
9. birth certificate (giấy khai sinh), for children: the child's 12-digit personal identification
   number, or the register number as printed (125/2020): up to 30 letters, digits, '/', '.', '-'
   with at least one digit. Luật Hộ tịch 2014.

Numbers are normalised before they are checked and stored: white space removed, letters upper
case ("c 123 4567" → "C1234567"), so any later search by number compares normalised numbers.
`issuing_country` is required for passports only (ISO 3166-1 alpha-3 as in the passport's
machine-readable zone, or alpha-2; ICAO's own codes D, RKS, XXA, XXB, XXC, XXX, UNO, UNA, UNK,
EUE too) and stored as alpha-3; the other papers are Vietnamese, so it must be empty or Vietnam.
Whether a paper has expired is for the officer who holds it to see: only the number is checked.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import IntEnum

import pycountry
from babel import Locale

from .errors import Violations


class DocumentType(IntEnum):
    """onestop.common.v1.IdentityDocumentType."""
    PERSONAL_ID_NUMBER = 1
    IDENTITY_CARD = 2
    CITIZEN_IDENTITY_CARD = 3
    PEOPLE_ID_CARD = 4
    PASSPORT = 5
    IDENTITY_CERTIFICATE = 6
    PERMANENT_RESIDENCE_CARD = 7
    TEMPORARY_RESIDENCE_CARD = 8
    BIRTH_CERTIFICATE = 9


# The Vietnamese name printed on forms, before the number.
TYPE_NAMES_VI = {
    DocumentType.PERSONAL_ID_NUMBER: "Số định danh cá nhân",
    DocumentType.IDENTITY_CARD: "Thẻ căn cước",
    DocumentType.CITIZEN_IDENTITY_CARD: "Căn cước công dân",
    DocumentType.PEOPLE_ID_CARD: "Chứng minh nhân dân",
    DocumentType.PASSPORT: "Hộ chiếu",
    DocumentType.IDENTITY_CERTIFICATE: "Giấy chứng nhận căn cước",
    DocumentType.PERMANENT_RESIDENCE_CARD: "Thẻ thường trú",
    DocumentType.TEMPORARY_RESIDENCE_CARD: "Thẻ tạm trú",
    DocumentType.BIRTH_CERTIFICATE: "Giấy khai sinh",
}

# Papers whose number is the holder's personal identification number: what the deprecated
# `citizen_id` / `receiver_id_number` fields held, so they are still filled for these.
PERSONAL_NUMBER_TYPES = frozenset({DocumentType.PERSONAL_ID_NUMBER, DocumentType.IDENTITY_CARD,
                                   DocumentType.CITIZEN_IDENTITY_CARD, DocumentType.IDENTITY_CERTIFICATE})

VIETNAM = "VNM"
_PERSONAL_NUMBER = re.compile(r"[0-9]{12}")
_RULES: dict[DocumentType, tuple[re.Pattern, str]] = {
    DocumentType.PERSONAL_ID_NUMBER: (_PERSONAL_NUMBER, "must be the 12-digit personal identification number"),
    DocumentType.IDENTITY_CARD: (_PERSONAL_NUMBER, "must be the 12-digit personal identification number "
                                 "printed on the identity card (thẻ căn cước)"),
    DocumentType.CITIZEN_IDENTITY_CARD: (_PERSONAL_NUMBER, "must be the 12-digit number of the citizen identity "
                                         "card (căn cước công dân)"),
    DocumentType.PEOPLE_ID_CARD: (re.compile(r"[0-9]{9}|[0-9]{12}"),
                                  "must be the 9 or 12 digits of the people's identity card (chứng minh nhân dân)"),
    DocumentType.IDENTITY_CERTIFICATE: (_PERSONAL_NUMBER, "must be the 12-digit personal identification number "
                                        "printed on the identity certificate (giấy chứng nhận căn cước)"),
    DocumentType.PERMANENT_RESIDENCE_CARD: (re.compile(r"[0-9A-ZĐ]{5,15}"),
                                            "must be the card's number: 5 to 15 letters or digits"),
    DocumentType.TEMPORARY_RESIDENCE_CARD: (re.compile(r"[0-9A-ZĐ]{5,15}"),
                                            "must be the card's number: 5 to 15 letters or digits"),
    DocumentType.BIRTH_CERTIFICATE: (re.compile(r"(?=[^0-9]*[0-9])[0-9A-ZĐ/.-]{1,30}"),
                                     "must be the child's 12-digit personal identification number or the "
                                     "certificate's register number as printed (e.g. 125/2020)"),
}
_VIETNAMESE_PASSPORT = re.compile(r"[A-Z][0-9]{7}")
_ICAO_PASSPORT = re.compile(r"[0-9A-Z]{5,9}")
MAX_NUMBER_LENGTH = 30

# ICAO Doc 9303 part 3 codes that are not ISO 3166-1 alpha-3, with what forms print for them.
_ICAO_CODES = {"D": ("DEU", ""), "RKS": ("RKS", "Kosovo"), "XXA": ("XXA", "người không quốc tịch"),
               "XXB": ("XXB", "người tị nạn"), "XXC": ("XXC", "người tị nạn"),
               "XXX": ("XXX", "quốc tịch không xác định"), "UNO": ("UNO", "Liên hợp quốc"),
               "UNA": ("UNA", "Liên hợp quốc"), "UNK": ("UNK", "Liên hợp quốc"),
               "EUE": ("EUE", "Liên minh châu Âu")}


@dataclass(frozen=True)
class IdentityDocument:
    """A person's identity paper: its type, number and (passports) issuing state, alpha-3."""
    type: int
    number: str
    issuing_country: str = ""

    @property
    def personal_number(self) -> str:
        """The personal identification number when this paper carries it, else ""."""
        return self.number if self.type in PERSONAL_NUMBER_TYPES else ""


def personal_id_number(number: str) -> IdentityDocument:
    """What a deprecated 12-digit `citizen_id` field means: the personal identification number."""
    return IdentityDocument(DocumentType.PERSONAL_ID_NUMBER, number)


def normalise_number(number: str) -> str:
    """'c 123 4567' → 'C1234567': no white space, letters upper case."""
    return "".join(number.split()).upper()


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 or alpha-3 (any case), or an ICAO code → alpha-3; None if unknown."""
    code = value.strip().upper()
    if code in _ICAO_CODES:
        return _ICAO_CODES[code][0]
    if not re.fullmatch(r"[A-Z]{2,3}", code):
        return None
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else pycountry.countries.get(alpha_3=code)
    return found.alpha_3 if found else None


@functools.cache
def country_name_vi(alpha_3: str) -> str:
    """'FRA' → 'Pháp', 'KOR' → 'Hàn Quốc' (CLDR's Vietnamese names, through Babel)."""
    for special, name in _ICAO_CODES.values():
        if special == alpha_3 and name:
            return name
    found = pycountry.countries.get(alpha_3=alpha_3)
    if found is None:
        return alpha_3
    return Locale("vi").territories.get(found.alpha_2) or found.name


def check(document: IdentityDocument, field: str, violations: Violations) -> IdentityDocument | None:
    """Checks `document` by its type's rule; adds one violation per bad part, named
    `<field>.type`, `<field>.number` or `<field>.issuing_country`. Returns the normalised document
    (number as `normalise_number`, country as alpha-3, "" for Vietnamese papers), or None when
    anything was wrong."""
    before = len(violations.items)
    number = normalise_number(document.number)
    try:
        kind = DocumentType(document.type)
    except ValueError:
        names = ", ".join(f"{int(t)} ({TYPE_NAMES_VI[t]})" for t in DocumentType)
        violations.add(f"{field}.type", f"must be one of {names}")
        return None
    country: str | None = ""
    if document.issuing_country.strip():
        country = country_code(document.issuing_country)
        if country is None:
            violations.add(f"{field}.issuing_country",
                           f"{document.issuing_country.strip()!r} is not an ISO 3166-1 country code such as VNM or FR")
    if kind == DocumentType.PASSPORT:
        _check_passport(document, number, country, field, violations)
    else:
        _check_vietnamese_paper(kind, number, country, field, violations)
    if len(violations.items) > before or country is None:
        return None
    return IdentityDocument(kind, number, country if kind == DocumentType.PASSPORT else "")


def _check_passport(document: IdentityDocument, number: str, country: str | None, field: str,
                    violations: Violations) -> None:
    if not document.issuing_country.strip():
        violations.add(f"{field}.issuing_country",
                       "is required for a passport: the issuing state, ISO 3166-1 alpha-3 (VNM, FRA) or alpha-2")
    elif not number:
        violations.add(f"{field}.number", "is required: the number printed in the passport")
    elif country == VIETNAM and not _VIETNAMESE_PASSPORT.fullmatch(number):
        violations.add(f"{field}.number", "a Vietnamese passport number is 1 letter and 7 digits, e.g. C1234567")
    elif country and not _ICAO_PASSPORT.fullmatch(number):
        violations.add(f"{field}.number", "must be the passport's number: 5 to 9 letters or digits (ICAO 9303)")


def _check_vietnamese_paper(kind: DocumentType, number: str, country: str | None, field: str,
                            violations: Violations) -> None:
    if country and country != VIETNAM:
        violations.add(f"{field}.issuing_country",
                       f"a {TYPE_NAMES_VI[kind]} is issued in Vietnam: leave issuing_country empty")
    pattern, rule = _RULES[kind]
    if not number:
        violations.add(f"{field}.number", f"is required: it {rule}")
    elif len(number) > MAX_NUMBER_LENGTH or not pattern.fullmatch(number):
        violations.add(f"{field}.number", rule)


def parts_vi(document: IdentityDocument) -> tuple[str, str, str]:
    """What forms print, as (before the number, the number, after it):
    ('Hộ chiếu số ', 'C1234567', ' (Pháp)'), ('Số định danh cá nhân: ', '001203004567', '')."""
    kind = DocumentType(document.type)
    if kind == DocumentType.PERSONAL_ID_NUMBER:
        return f"{TYPE_NAMES_VI[kind]}: ", document.number, ""
    after = f" ({country_name_vi(document.issuing_country)})" if document.issuing_country else ""
    return f"{TYPE_NAMES_VI[kind]} số ", document.number, after


def label_vi(document: IdentityDocument) -> str:
    """'Hộ chiếu số C1234567 (Pháp)', 'Số định danh cá nhân: 001203004567'."""
    return "".join(parts_vi(document))


def resolve(document: IdentityDocument | None, legacy_number: str, *, field: str, legacy_field: str,
            violations: Violations, required: str = "") -> IdentityDocument | None:
    """The identity paper of a request that has both a `field` (an IdentityDocument) and the
    deprecated `legacy_field` (a 12-digit personal identification number, matched as sent).

    `document` wins and is checked by `check`; a legacy number that differs from it is a violation
    of `legacy_field`. A legacy number alone is the PERSONAL_ID_NUMBER. With neither, `required`
    (the description to give, e.g. "is required for a person") adds a violation of `field`.
    Returns the normalised document, or None."""
    if document is not None:
        checked = check(document, field, violations)
        if legacy_number and checked is not None and normalise_number(legacy_number) != checked.number:
            violations.add(legacy_field, f"is deprecated and differs from {field}.number: send {field} alone")
            return None
        return checked
    if legacy_number:
        if not _PERSONAL_NUMBER.fullmatch(legacy_number):
            violations.add(legacy_field, "must be the 12-digit personal identification number "
                                         f"(for a passport or another paper send {field})")
            return None
        return personal_id_number(legacy_number)
    if required:
        violations.add(field, required)
    return None
