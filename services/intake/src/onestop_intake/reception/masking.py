"""How the public lookup shows an applicant's name (re-exported by `domain` as `mask_name`)."""

from __future__ import annotations

from onestop_chassis.text import graphemes


def mask_name(full_name: str) -> str:
    """'Nguyễn Thị Hồng Nhung' → 'Ng**** Th* Hồ** Nh***': enough to recognise, not to identify.
    Counted in letters as a reader sees them (`text.graphemes`), so a name stored decomposed (NFD)
    is masked the same and never shows a bare accent or its length in code points."""
    masked = []
    for word in full_name.split():
        letters = graphemes(word)
        shown = 2 if len(letters) > 2 else 1
        masked.append("".join(letters[:shown]) + "*" * (len(letters) - shown))
    return " ".join(masked)

