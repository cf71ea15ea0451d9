"""Public HTML pages (Vietnamese, phone-sized): the dossier lookup. Rendered with Jinja2
(autoescaped), served by the intake worker through nameko's @http."""

from __future__ import annotations

import datetime as dt

import jinja2

from onestop_chassis.errors import ServiceError

from . import domain
from .worktime import VIETNAM

_env = jinja2.Environment(loader=jinja2.PackageLoader("onestop_intake", "templates"),
                          autoescape=jinja2.select_autoescape(["html"]))

MESSAGES_VI = {
    "NO_MATCH": "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này. Vui lòng kiểm tra lại trên Giấy tiếp nhận.",
    "RATE_LIMITED": "Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau ít phút.",
}


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(VIETNAM).strftime("%H giờ %M phút, ngày %d/%m/%Y") if value else ""


def lookup_page(code: str = "", dossier: domain.Dossier | None = None, error: ServiceError | None = None) -> str:
    view = None
    if dossier is not None:
        view = {
            "code": dossier.code, "status_label": domain.STATUS_LABELS_VI[dossier.status],
            "procedure_name": dossier.procedure_name, "applicant_name_masked": domain.mask_name(dossier.applicant.full_name),
            "received_at": _when(dossier.received_at), "appointment_at": _when(dossier.appointment_at),
            "collect_at": f"Bộ phận Một cửa — {dossier.receiving_unit.name}",
            "history": [{"at": _when(t.at), "label": domain.STATUS_LABELS_VI[t.status]} for t in dossier.history],
        }
    message = MESSAGES_VI.get(error.reason, "Không tra cứu được lúc này. Vui lòng thử lại.") if error else ""
    return _env.get_template("lookup.html").render(code=code, dossier=view, error=message)
