"""Text that people type, in one form (plain Python, safe for domain code).

The same Vietnamese name reaches the platform in several byte forms: precomposed (NFC, what
Windows and most phones send) or decomposed (NFD, what macOS and some keyboards send); with the
tone mark of "oa", "oe", "uy" on either vowel ("hòa"/"hoà", "thủy"/"thuỷ", "khỏe"/"khoẻ": the two
placements Vietnamese input methods offer); with a look-alike letter for Đ (Ð U+00D0, Ɖ U+0189);
with the ligatures, soft hyphens and odd dashes of a copy from a PDF. Three functions deal with it:

- `nfc(s)`: the one form every service stores and answers with (Unicode NFC, nothing else
  changed). The gRPC server applies it to every request (`onestop_chassis.nfc.nfc_message`), so
  servicers only ever see NFC.
- `name_key(s)`: the comparison key for names that identify something (a document component, a
  catalogue's required document). Two names with the same key are the same name to a Vietnamese
  reader. It keeps diacritics and keeps Đ apart from D ("Đào" and "Dào" are different words).
- `search_key(s)`: the looser key for search: `name_key` without any diacritic and with đ → d, so
  "Dang ky" finds "Đăng ký" (people search from keyboards without Vietnamese input).

Keys are for comparing only: store and print the original (NFC) text, never a key.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Tone marks (thanh điệu) as combining characters: huyền, sắc, hỏi, ngã, nặng.
_TONES = "\u0300\u0301\u0309\u0303\u0323"
# The tone on the first vowel of "oa", "oe", "uy" (after NFD, the tone follows its vowel at once;
# "ô", "ơ", "ư" carry their own mark first and never match; "ua", "ia" are left alone). The
# optional breve keeps "oă" whole. Rule: Vietnamese orthography of 1984 (Quy định về chính tả,
# Bộ Giáo dục) and Circular 30/2020/TT-BGDĐT leave both placements in use; the key moves the tone
# to the second vowel, where both conventions put it once a consonant follows ("hoàng").
_OLD_TONE = re.compile(rf"([oO])([{_TONES}])([aAeE]\u0306?)|([uU])([{_TONES}])([yY])")
# Letters drawn like Đ/đ that are not Đ/đ: Icelandic eth, African D, and D with a stroke overlay.
_D_LOOKALIKES = str.maketrans({"\u00d0": "\u0110", "\u0189": "\u0110", "\u00f0": "\u0111", "\u0256": "\u0111"})
_D_STROKE = re.compile(r"([Dd])[\u0335\u0336]")
# Dashes and quotes that word processors and PDF copies substitute for the ASCII ones.
_PUNCTUATION = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}
                             | {c: "'" for c in "\u2018\u2019\u201a\u2032"}
                             | {c: '"' for c in "\u201c\u201d\u201e\u2033"})


def _tone_on_second(m: re.Match) -> str:
    first, tone, second = (m[1], m[2], m[3]) if m[1] else (m[4], m[5], m[6])
    return first + second + tone


def nfc(s: str) -> str:
    """`s` in Unicode Normalization Form C (precomposed), otherwise unchanged. Idempotent."""
    return s if unicodedata.is_normalized("NFC", s) else unicodedata.normalize("NFC", s)


@functools.lru_cache(maxsize=8192)  # pure, and the same names (catalogue entries) come back often
def name_key(s: str) -> str:
    """The comparison key of a name: equal keys mean the same name to a Vietnamese reader.

    Folds, in order: compatibility forms (NFKC: full-width letters, the "ﬁ" ligature of PDFs);
    invisible format characters (soft hyphen, zero-width space, BOM: category Cf) are dropped;
    the tone mark of "oa", "oe", "uy" is put on the second vowel ("hòa" → "hoà"); Ð, Ɖ and a D with
    a stroke overlay become Đ; typographic dashes and quotes become ASCII; case (casefold); and runs
    of whitespace become one space, trimmed. Diacritics and Đ/D stay distinct. Returns NFC text.
    """
    s = unicodedata.normalize("NFKC", s)
    s = "".join(c for c in s if unicodedata.category(c) != "Cf")
    s = _OLD_TONE.sub(_tone_on_second, unicodedata.normalize("NFD", s))
    s = _D_STROKE.sub(lambda m: "\u0110" if m[1] == "D" else "\u0111", s)
    s = unicodedata.normalize("NFC", s).translate(_D_LOOKALIKES).translate(_PUNCTUATION)
    return " ".join(s.casefold().split())


@functools.lru_cache(maxsize=8192)
def search_key(s: str) -> str:
    """`name_key` without diacritics and with đ → d: "Đăng ký" and "dang ky" have the same key.
    For search only, where people type without Vietnamese input; names are matched by `name_key`."""
    decomposed = unicodedata.normalize("NFD", name_key(s).replace("\u0111", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def graphemes(s: str) -> list[str]:
    """The user-perceived characters of `s` (NFC first; a base letter with the combining marks that
    follow it counts once), so that "Nguyễn" is 6 characters whatever form it arrived in."""
    out: list[str] = []
    for c in nfc(s):
        if out and unicodedata.combining(c):
            out[-1] += c
        else:
            out.append(c)
    return out
