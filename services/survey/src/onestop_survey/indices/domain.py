"""Satisfaction indices, kept as tallies: one small document per answer sheet (or kiosk rating)
and per place it counts in, `_id` `<agency>|<dimension>|<day>|<kind>|<sheet id>`.

Why tallies and not counters: FerretDB loses concurrent updates of one document (docs/design.md),
so a shared counter with `$inc` would lose answers; a tally is a unique insert, so writing it again
(a retry, a redelivery) changes nothing and two answers never overwrite each other. An index over
a period is one `_id` range read per dimension (FerretDB answers `_id` ranges from its index).

Dimensions: `all`, `officer:<account>`, `procedure:<code>`, `field:<code>`, each under the
receiving unit and under its agency (the parent unit), so a province's or a district's index is
one range read too. Days are Vietnam's (UTC+7).

The formulas:
- nine indicators (Circular 01/2018/TT-VPCP art. 13): per sheet the sum of the nine 0/1/2 points
  (0-18) and its grade in closed bands (15-18 xuất sắc, 12-14 tốt, 9-11 khá, 6-8 trung bình,
  0-5 yếu); the index reports the sum, the mean total and the count per grade;
- counter kiosks: the share of each level (rất hài lòng, hài lòng, không hài lòng) among ratings;
- SIPAS (Ministry of Home Affairs; PEERS.md §3.5): per factor, the share of satisfaction answers
  of 4 or 5 on the 1-5 scale ("satisfied or very satisfied"); the SIPAS index is the mean of the
  five factors' shares (factors without answers left out). The official weighting is not published
  in what we could read (PEERS.md marks it [L]); this is the share-satisfied reading of it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from onestop_chassis.worktime import VIETNAM

from ..questionnaires.domain import FACTORS, Aspect

DIMENSIONS = ("all", "officer", "procedure", "field")
SAFE = re.compile(r"[A-Za-z0-9._:@-]")
SATISFIED = 4  # on SIPAS's 1-5 scale: 4 satisfied, 5 very satisfied


def encode(value: str) -> str:
    """A value as `_id`-safe text: letters, digits and `._:@-` as they are, anything else `+XX`."""
    return "".join(c if SAFE.fullmatch(c) else "".join(f"+{b:02X}" for b in c.encode()) for c in value)


def day_of(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).date().isoformat()


def prefix(agency_code: str, dimension: str, value: str = "") -> str:
    name = "all" if dimension == "all" else f"{dimension}:{encode(value)}"
    return f"{encode(agency_code)}|{name}|"


@dataclass(frozen=True)
class Tally:
    """One sheet's (or rating's) contribution to one place: `kind` "q" (questionnaire) or "k" (kiosk)."""
    id: str
    kind: str
    scoring: str = ""           # the questionnaire's scoring
    total: int = 0              # points
    grade: str = ""             # points
    level: int = 0              # kiosk
    sipas: tuple[tuple[str, str, int], ...] = ()   # (factor, aspect, value) of the scale answers


def places(agencies: tuple[str, ...], officers: tuple[str, ...], procedure_code: str,
           field_code: str) -> list[str]:
    """The `_id` prefixes a contribution counts under (without its day)."""
    out = []
    for agency in dict.fromkeys(a for a in agencies if a):
        out.append(prefix(agency, "all"))
        out += [prefix(agency, "officer", o) for o in dict.fromkeys(officers) if o]
        if procedure_code:
            out.append(prefix(agency, "procedure", procedure_code))
        if field_code:
            out.append(prefix(agency, "field", field_code))
    return out


def tallies(places_: list[str], moment: dt.datetime, entry_id: str, **contribution) -> list[Tally]:
    kind = contribution.pop("kind")
    return [Tally(id=f"{p}{day_of(moment)}|{kind}|{entry_id}", kind=kind, **contribution) for p in places_]


@dataclass
class Summary:
    """An index over tallies (what GetSatisfactionIndex answers); also one closed day's roll-up.
    Counts only, so summaries add up (`merge`) and store as plain documents (`to_doc`)."""
    sheets: int = 0                                   # points sheets
    total_points: int = 0
    grades: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    levels: dict[int, int] = field(default_factory=dict)
    sipas_sheets: int = 0
    sipas: dict[str, dict[int, int]] = field(default_factory=dict)  # "factor|aspect" → value → answers

    def add(self, t: Tally) -> None:
        if t.kind == "k" or (t.scoring == "kiosk" and t.level):  # a kiosk's rating, or an invitation asking kiosk-3
            self.ratings += 1
            self.levels[t.level] = self.levels.get(t.level, 0) + 1
            return
        if t.scoring == "points":
            self.sheets += 1
            self.total_points += t.total
            self.grades[t.grade] = self.grades.get(t.grade, 0) + 1
        if t.sipas:
            self.sipas_sheets += 1
            for factor, aspect, value in t.sipas:
                counts = self.sipas.setdefault(f"{factor}|{aspect}", {})
                counts[value] = counts.get(value, 0) + 1

    def merge(self, other: Summary) -> None:
        self.sheets += other.sheets
        self.total_points += other.total_points
        self.ratings += other.ratings
        self.sipas_sheets += other.sipas_sheets
        for grade, n in other.grades.items():
            self.grades[grade] = self.grades.get(grade, 0) + n
        for level, n in other.levels.items():
            self.levels[level] = self.levels.get(level, 0) + n
        for pair, counts in other.sipas.items():
            into = self.sipas.setdefault(pair, {})
            for value, n in counts.items():
                into[value] = into.get(value, 0) + n

    def to_doc(self) -> dict:
        return {"sheets": self.sheets, "total_points": self.total_points, "grades": self.grades,
                "ratings": self.ratings, "levels": {str(k): v for k, v in self.levels.items()},
                "sipas_sheets": self.sipas_sheets,
                "sipas": {p: {str(k): v for k, v in c.items()} for p, c in self.sipas.items()}}

    @classmethod
    def from_doc(cls, d: dict) -> Summary:
        return cls(sheets=d["sheets"], total_points=d["total_points"], grades=dict(d["grades"]),
                   ratings=d["ratings"], levels={int(k): v for k, v in d["levels"].items()},
                   sipas_sheets=d["sipas_sheets"],
                   sipas={p: {int(k): v for k, v in c.items()} for p, c in d["sipas"].items()})

    @property
    def average_total(self) -> float:
        return self.total_points / self.sheets if self.sheets else 0.0

    def level_share(self, level: int) -> float:
        return self.levels.get(level, 0) / self.ratings if self.ratings else 0.0

    def _values(self, factor: str, aspect: Aspect) -> dict[int, int]:
        return self.sipas.get(f"{factor}|{aspect.value}", {})

    def factor(self, factor: str) -> tuple[int, int, float, float, float]:
        """(satisfaction answers, satisfied, share satisfied, mean perception, mean expectation)."""
        sat = self._values(factor, Aspect.SATISFACTION)
        answers, happy = sum(sat.values()), sum(n for v, n in sat.items() if v >= SATISFIED)
        means = []
        for aspect in (Aspect.PERCEPTION, Aspect.EXPECTATION):
            counts = self._values(factor, aspect)
            total = sum(counts.values())
            means.append(sum(v * n for v, n in counts.items()) / total if total else 0.0)
        return answers, happy, happy / answers if answers else 0.0, means[0], means[1]

    @property
    def sipas_index(self) -> float:
        shares = [self.factor(f)[2] for f in FACTORS if self.factor(f)[0]]
        return sum(shares) / len(shares) if shares else 0.0


def closed(day: dt.date, now: dt.datetime, grace: dt.timedelta = dt.timedelta(hours=1)) -> bool:
    """Whether Vietnam's `day` ended at least `grace` before `now`. Tallies carry the moment of their
    answer, so a closed day gets no new ones (the grace covers a write that was in flight at
    midnight) and its roll-up, once written, holds for ever."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=VIETNAM)
    return now >= end + grace
