"""The answers' and kiosk ratings' tallies rebuilt from AnswerRecorded and OfficerRated (issue 12,
review). The answer path inserts the sheet (with its event, in one insert) and then its tallies, so
a crash between the two would leave an answer stored but never counted; a kiosk rating is stored
with its OfficerRated and then its tallies, the same gap, repaired the same way (rebuild_rating).
The survey worker consumes survey's own AnswerRecorded (through
the outbox and the relay, so it arrives once the sheet is stored) and writes the sheet's tallies
again. Tallies are unique inserts by `<place>|<day>|q|<invitation id>` (indices.domain), so writing
them twice counts the answer once; the event is only the trigger: the tallies are computed from the
stored sheet and its questionnaire, exactly as the answer path computes them.

A tally that lands in a day already rolled up (indices.service: a closed day's roll-up, written
once) would be missed by it, so the roll-ups of the days it wrote into are dropped: the next index
query rolls them up again from their tallies.
"""

from __future__ import annotations

from typing import Protocol

from ..indices import domain as indices
from ..questionnaires.service import QuestionnaireService
from .service import AnswerStore, RatingStore, rating_tallies, sheet_tallies


class TallyRepairStore(Protocol):
    def add_missing(self, tallies: list[indices.Tally]) -> list[indices.Tally]:
        """Inserts each tally not stored yet (unique `_id`); returns those it inserted."""
        ...
    def drop_day_summaries(self, keys: set[str]) -> None:
        """Deletes the closed days' roll-ups `<place prefix><day>` named (missing ones: nothing)."""
        ...


def day_key(tally_id: str) -> str:
    """The roll-up a tally counts in: `<place prefix><day>` (its `_id` without `|<kind>|<id>`)."""
    return tally_id.rsplit("|", 2)[0]


class TallyRepair:
    def __init__(self, answers: AnswerStore, questionnaires: QuestionnaireService, tallies: TallyRepairStore,
                 ratings: RatingStore):
        self._answers = answers
        self._ratings = ratings
        self._questionnaires = questionnaires
        self._tallies = tallies

    def rebuild(self, invitation_id: str) -> int | None:
        """Writes the tallies of the sheet of `invitation_id` that are missing; returns how many
        (0: all were there, the usual case), None when no sheet has that id. Raises NotFound
        QUESTIONNAIRE_NOT_FOUND as QuestionnaireService.get (never, for a sheet stored by survey)."""
        sheet = self._answers.get(invitation_id)
        if sheet is None:
            return None
        questionnaire = self._questionnaires.issued(sheet.questionnaire_owner, sheet.questionnaire_code,
                                                    sheet.questionnaire_version, sheet.agency_code,
                                                    sheet.parent_agency_code)
        return self._add_missing(sheet_tallies(sheet, questionnaire))

    def rebuild_rating(self, rating_id: str) -> int | None:
        """The same for a kiosk rating (OfficerRated): writes the missing tallies of the stored
        rating `rating_id` (`<place>|<day>|k|<rating id>`); how many, None when no rating has that id."""
        rating = self._ratings.get(rating_id)
        if rating is None:
            return None
        return self._add_missing(rating_tallies(rating))

    def _add_missing(self, tallies: list[indices.Tally]) -> int:
        written = self._tallies.add_missing(tallies)
        if written:
            self._tallies.drop_day_summaries({day_key(t.id) for t in written})
        return len(written)
