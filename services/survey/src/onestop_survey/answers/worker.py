"""Mixed into the survey worker: survey's own AnswerRecorded and OfficerRated rebuild the answer's
or the kiosk rating's tallies when a crash left them unwritten (answers.repair; idempotent: a
tally is a unique insert)."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.events.v1 import survey_events_pb2 as sev
from onestop_chassis.errors import NotFound, PermanentError
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, event_handler

from ..bootstrap import bootstrap

log = get_logger("onestop.survey")
REPAIRED = Counter("onestop_survey_tallies_repaired", "Answers and kiosk ratings whose tallies the worker wrote "
                   "from AnswerRecorded or OfficerRated (the answer path had not: a crash before its tallies)")


class RecordedAnswers:
    tally_repair = Bootstrapped(bootstrap, "tally_repair")  # answers.repair.TallyRepair

    @event_handler("survey", "AnswerRecorded", message=sev.AnswerRecorded)
    def on_answer_recorded(self, message):
        """Writes the answer's missing tallies; False (counted as applied before) when the answer
        path had written them all, the usual case."""
        if not message.invitation_id:
            raise PermanentError("AnswerRecorded without an invitation id")
        try:
            written = self.tally_repair.rebuild(message.invitation_id)
        except NotFound as exc:  # the sheet's questionnaire is gone: never succeeds
            raise PermanentError(f"{exc.reason}: {exc.message}") from exc
        if written is None:  # the sheet is not in this database: never succeeds
            raise PermanentError(f"AnswerRecorded of an answer sheet not stored: {message.invitation_id}")
        if written:
            REPAIRED.inc()
            log.warning("answer tallies rebuilt from its event", invitation_id=message.invitation_id,
                        tallies=written)
        return written > 0

    @event_handler("survey", "OfficerRated", message=sev.OfficerRated)
    def on_officer_rated(self, message):
        """Writes the kiosk rating's missing tallies, as on_answer_recorded does for an answer."""
        if not message.rating_id:
            raise PermanentError("OfficerRated without a rating id")
        written = self.tally_repair.rebuild_rating(message.rating_id)
        if written is None:  # the rating is not in this database: never succeeds
            raise PermanentError(f"OfficerRated of a rating not stored: {message.rating_id}")
        if written:
            REPAIRED.inc()
            log.warning("kiosk rating tallies rebuilt from its event", rating_id=message.rating_id, tallies=written)
        return written > 0
