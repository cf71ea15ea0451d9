"""Intake follows routing's case: the use case behind the worker's handlers of routing's events
(the rules are in `routed`)."""

from __future__ import annotations

from dataclasses import replace

from onestop_chassis.errors import NotFound

from ..units.service import UnitDirectory
from . import routed
from .service import DossierRepository


class RoutedDossiers:
    def __init__(self, dossiers: DossierRepository, units: UnitDirectory | None = None):
        self._dossiers = dossiers
        self._units = units

    def _named(self, event: routed.RoutingEvent) -> routed.RoutingEvent:
        """The event with the Vietnamese name of each unit it gives by code only: routing knows
        the receiving unit's name alone, intake keeps every unit (the citizen reads the names)."""
        if self._units is None:
            return event

        def name(code: str, known: str) -> str:
            unit = self._units.unit(code) if code and not known else None
            return unit.name if unit is not None else known

        return replace(event, unit_name=name(event.unit_code, event.unit_name),
                       steps=tuple(replace(s, unit_name=name(s.unit_code, s.unit_name)) for s in event.steps))

    def apply(self, event: routed.RoutingEvent) -> routed.Verdict:
        """Applies one of routing's events to its dossier in one version-claimed write (with the
        desk's events it emits, through the outbox). Returns the verdict: APPLY when written,
        DUPLICATE / STALE / ENDED when nothing changed.

        Raises NotFound DOSSIER_NOT_FOUND (no such dossier), FailedPrecondition or InvalidArgument
        (the event breaks the desk's status rules: it can never apply), ConcurrentChange (ABORTED:
        a desk action wrote the dossier meanwhile; a retry re-reads it)."""
        dossier = self._dossiers.by_code(event.dossier_code)
        if dossier is None:
            raise NotFound("DOSSIER_NOT_FOUND", f"no dossier has code {event.dossier_code}",
                           metadata={"code": event.dossier_code})
        event = self._named(event)
        verdict = routed.verdict(dossier, event)
        if verdict is routed.Verdict.APPLY:
            changed, events = routed.apply(dossier, event)
            self._dossiers.update(changed, events, actor=changed.history[-1].actor, action=f"routing.{event.kind}")
        return verdict
