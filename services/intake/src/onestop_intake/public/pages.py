"""Public HTML pages (Vietnamese, phone-sized): the dossier lookup and the procedure catalogue.
Rendered with Jinja2 (autoescaped), served by the intake worker through nameko's @http.

The catalogue pages read through the service layer only: `CatalogueService` for procedures and the
catalogue store's unit port (`unit`, `all_units`) for agency names. Every query parameter is
checked here, so a bad one gets a 400 page in Vietnamese rather than a 500.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from onestop_chassis import codes, dependencies, worktime
from onestop_chassis.errors import InvalidArgument, NotFound, ServiceError, Unavailable
from onestop_chassis.logs import get_logger
from onestop_chassis.page_templates import page_environment
from onestop_chassis.text import nfc
from onestop_chassis.worktime import VIETNAM

from ..catalogue import domain as catalogue
from ..catalogue.service import CatalogueService
from ..reception import domain, routed
from ..units.domain import Unit
from ..units.service import UnitDirectory

log = get_logger("onestop.intake.pages")
# The chassis's base page (onestop_chassis.page_templates), with the header's two links.
_env = page_environment("onestop_intake.public",
                        nav=[("/thu-tuc", "Thủ tục hành chính"), ("/tra-cuu", "Tra cứu hồ sơ")])

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
            "procedure_name": dossier.procedure_name,
            "applicant_name_masked": domain.mask_name(dossier.applicant.full_name),
            "received_at": _when(dossier.received_at), "appointment_at": _when(dossier.appointment_at),
            "collect_at": f"Bộ phận Một cửa — {dossier.receiving_unit.name}",
            "history": [{"at": _when(t.at), "label": domain.STATUS_LABELS_VI[t.status]}
                        for t in routed.status_changes(dossier)],
            "current_steps": [routed.step_vi(s) for s in dossier.current_steps],
            "postal_notice": dossier.postal_notice,
        }
    message = MESSAGES_VI.get(error.reason, "Không tra cứu được lúc này. Vui lòng thử lại.") if error else ""
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        minutes = max(1, int(retry_after + 59) // 60)
        message = f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {minutes} phút."
    return _env.get_template("lookup.html").render(code=code, dossier=view, error=message)


# -- the catalogue: wording ------------------------------------------------------------------------
ONLINE_LEVEL_LABELS_VI = {
    catalogue.OnlineLevel.FULL: "Toàn trình",
    catalogue.OnlineLevel.PARTIAL: "Một phần",
    catalogue.OnlineLevel.NONE: "Trực tiếp",
}
ONLINE_LEVEL_HINTS_VI = {
    catalogue.OnlineLevel.FULL: "dịch vụ công trực tuyến toàn trình: nộp hồ sơ, nộp phí và nhận kết quả trực tuyến",
    catalogue.OnlineLevel.PARTIAL: "dịch vụ công trực tuyến một phần: có bước phải thực hiện trực tiếp tại "
                                "Bộ phận Một cửa",
    catalogue.OnlineLevel.NONE: "nộp hồ sơ trực tiếp tại Bộ phận Một cửa",
}
COPY_KIND_LABELS_VI = {
    catalogue.CopyKind.ORIGINAL: "Bản chính",
    catalogue.CopyKind.CERTIFIED_COPY: "Bản sao chứng thực",
    catalogue.CopyKind.COPY: "Bản sao",
    catalogue.CopyKind.ORIGINAL_OR_CERTIFIED_COPY: "Bản chính hoặc bản sao chứng thực",
}
MAX_QUERY = 100          # characters of the search text
MAX_PAGE_TOKEN = 500     # the service's tokens are ~60 characters
PAGE_SIZE = 20
LIST_URL = "/thu-tuc"
LOOKUP_URL = "/tra-cuu"


def duration_vi(d: worktime.WorkingDuration) -> str:
    """WorkingDuration(days=15) → "15 ngày làm việc"; hours=8 → "8 giờ làm việc"."""
    parts = [f"{n} {unit}" for n, unit in ((d.days, "ngày"), (d.hours, "giờ"), (d.minutes, "phút")) if n]
    return f"{' '.join(parts)} làm việc" if parts else "Không quy định"


def money_vi(amount: int) -> str:
    """50000 → "50.000 đồng" (dots group the thousands in Vietnamese)."""
    return f"{'-' if amount < 0 else ''}{abs(amount):,}".replace(",", ".") + " đồng"


def date_vi(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def fee_view(fee: catalogue.Fee) -> dict:
    """A fee as shown: "8.000 đồng/bản sao" when the note gives the unit of charge ("đồng/…")."""
    amount, note = money_vi(fee.amount), unicodedata.normalize("NFC", fee.note.strip())
    if note.startswith("đồng/"):
        amount, note = amount + note[len("đồng"):], ""
    return {"name": fee.name, "amount": amount, "note": note, "exemptions": list(fee.exemptions)}


def effective_vi(p: catalogue.Procedure, today: dt.date) -> str:
    if p.effective_from and p.effective_to:
        return f"Từ ngày {date_vi(p.effective_from)} đến ngày {date_vi(p.effective_to)}"
    if p.effective_from:
        return f"Từ ngày {date_vi(p.effective_from)}"
    if p.effective_to:
        return f"Đến ngày {date_vi(p.effective_to)}"
    return "Đang áp dụng" if p.in_force(today) else "Ngừng áp dụng"


def not_in_force_vi(p: catalogue.Procedure, today: dt.date) -> str:
    """Why dossiers are not accepted for this procedure today ("" when they are)."""
    if p.in_force(today):
        return ""
    if p.active and p.effective_from and today < p.effective_from:
        return f"Thủ tục này chưa có hiệu lực (áp dụng từ ngày {date_vi(p.effective_from)})."
    return "Thủ tục này hiện không còn áp dụng: không tiếp nhận hồ sơ theo thủ tục này."


def _agency(units: Mapping[str, Unit], code: str) -> str:
    unit = units.get(code)
    return unit.name if unit else code


def procedure_row(p: catalogue.Procedure, units: Mapping[str, Unit]) -> dict:
    """What the list shows of a procedure."""
    return {
        "code": p.code, "is_local_code": p.is_local_code, "name": p.name,
        "url": f"{LIST_URL}/{urllib.parse.quote(p.code, safe='')}",
        "field_name": catalogue.field_name(p.field_code) or p.field_code,
        "agency_name": _agency(units, p.competent_unit_code), "duration": duration_vi(p.legal_duration),
        "online_level": ONLINE_LEVEL_LABELS_VI.get(p.online_level, ""),
    }


def procedure_view(p: catalogue.Procedure, units: Mapping[str, Unit], today: dt.date) -> dict:
    """What the detail page shows of a procedure."""
    return {
        **procedure_row(p, units), "agency_code": p.competent_unit_code, "level": p.level, "result": p.result,
        "online_hint": ONLINE_LEVEL_HINTS_VI.get(p.online_level, ""),
        "postal_return": "Có: có thể nhận kết quả qua dịch vụ bưu chính công ích" if p.postal_return_allowed
        else "Không: nhận kết quả tại Bộ phận Một cửa",
        "documents": [{"name": d.name, "copy_kind": COPY_KIND_LABELS_VI.get(d.copy_kind, ""), "count": d.count,
                       "form_template": d.form_template, "required": d.required} for d in p.required_documents],
        "fees": [fee_view(f) for f in p.fees], "legal_basis": list(p.legal_basis),
        "effective": effective_vi(p, today), "not_in_force": not_in_force_vi(p, today),
    }


def field_options() -> list[dict]:
    """The field dropdown: every field of the catalogue's list, by name."""
    return sorted(({"code": c, "name": n} for c, n in catalogue.FIELDS.items()),
                  key=lambda o: catalogue.fold(o["name"]))


# -- the catalogue: pages ------------------------------------------------------------------------
class BadQuery(Exception):
    """A query parameter the page refuses; the message is shown to the citizen."""

    def __init__(self, message_vi: str):
        super().__init__(message_vi)
        self.message_vi = message_vi


@dataclass(frozen=True)
class CatalogueQuery:
    text: str = ""
    field_code: str = ""
    agency: str = ""
    page_token: str = ""

    def url(self, page_token: str = "") -> str:
        params = {"q": self.text, "linh_vuc": self.field_code, "co_quan": self.agency, "trang": page_token}
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
        return f"{LIST_URL}?{query}" if query else LIST_URL

    @property
    def filtered(self) -> bool:
        return bool(self.text or self.field_code or self.agency)


def parse_query(args: Mapping[str, str], units: UnitDirectory) -> CatalogueQuery:
    """The list's query parameters (q, linh_vuc, co_quan, trang), checked; raises BadQuery."""
    text = " ".join(nfc(args.get("q") or "").split())  # one form of Vietnamese, as every API takes it
    if len(text) > MAX_QUERY:
        raise BadQuery(f"Từ khóa tìm kiếm quá dài: tối đa {MAX_QUERY} ký tự.")
    if catalogue.CONTROL_CHARS.search(text):
        raise BadQuery("Từ khóa tìm kiếm có ký tự không hợp lệ.")
    field_code = (args.get("linh_vuc") or "").strip()
    if field_code and field_code not in catalogue.FIELDS:
        raise BadQuery("Lĩnh vực này không có trong danh mục. Vui lòng chọn lĩnh vực trong danh sách.")
    agency = (args.get("co_quan") or "").strip()
    if agency and not (codes.is_unit_code(agency) and units.unit(agency) is not None):
        raise BadQuery("Cơ quan này không có trong danh mục. Vui lòng chọn cơ quan trong danh sách.")
    token = (args.get("trang") or "").strip()
    if len(token) > MAX_PAGE_TOKEN:
        raise BadQuery("Liên kết trang không hợp lệ. Vui lòng tìm kiếm lại từ đầu.")
    return CatalogueQuery(text, field_code, agency, token)


# A server the pages need (the database) is down: 503 with this, and the page says to come back.
UNAVAILABLE_VI = "Hệ thống đang tạm thời gián đoạn, thông tin của bạn không bị ảnh hưởng. Vui lòng thử lại sau ít phút."
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                       "Retry-After": str(RETRY_AFTER_SECONDS)}


def unavailable_when_down(handler):
    """For a page handler returning (status, headers, html): when the database (or another server
    it needs) does not answer, a Vietnamese 503 page with Retry-After instead of nameko's bare 500.
    Any other failure is left alone."""
    @functools.wraps(handler)
    def page(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            dependency = dependencies.dependency_of(exc)
            if dependency is None and not isinstance(exc, Unavailable):
                raise
            log.warning("page unavailable: a dependency is not answering", dependency=dependency,
                        error=f"{type(exc).__name__}: {exc}"[:300])
            return 503, dict(UNAVAILABLE_HEADERS), error_page(503, UNAVAILABLE_VI)
    return page


def error_page(status: int, message: str) -> str:
    titles = {400: "Yêu cầu không hợp lệ", 404: "Không tìm thấy", 503: "Hệ thống tạm thời gián đoạn"}
    return _env.get_template("error.html").render(status=status, title=titles.get(status, "Có lỗi xảy ra"),
                                                  message=message, list_url=LIST_URL, lookup_url=LOOKUP_URL)


class PublicCatalogue:
    """The catalogue pages: each method returns (HTTP status, HTML)."""

    def __init__(self, service: CatalogueService, units: UnitDirectory, page_size: int = PAGE_SIZE):
        self._service = service
        self._units = units
        self._page_size = page_size

    def list_page(self, args: Mapping[str, str]) -> tuple[int, str]:
        try:
            query = parse_query(args, self._units)
        except BadQuery as exc:
            return 400, error_page(400, exc.message_vi)
        try:
            page = self._service.page(page_size=self._page_size, page_token=query.page_token,
                                      field_code=query.field_code, agency=query.agency, text=query.text)
        except InvalidArgument:  # a forged or stale page token
            return 400, error_page(400, "Liên kết trang không còn hợp lệ. Vui lòng tìm kiếm lại từ đầu.")
        units = {u.code: u for u in self._units.all_units()}
        agencies = sorted(({"code": u.code, "name": u.name} for u in units.values()),
                          key=lambda o: catalogue.fold(o["name"]))
        html = _env.get_template("catalogue.html").render(
            query=query, procedures=[procedure_row(p, units) for p in page.procedures], total=page.total_size,
            next_url=query.url(page.next_page_token) if page.next_page_token else "",
            first_url=query.url() if query.page_token else "",
            fields=field_options(), agencies=agencies, max_query=MAX_QUERY, list_url=LIST_URL,
            lookup_url=LOOKUP_URL)
        return 200, html

    def detail_page(self, code: str) -> tuple[int, str]:
        code = code.strip()
        not_found = (404, error_page(404, f"Không có thủ tục hành chính nào có mã “{code[:64]}” trong danh mục."))
        if not (catalogue.NATIONAL_CODE.fullmatch(code) or catalogue.LOCAL_CODE.fullmatch(code)):
            return not_found
        try:
            procedure = self._service.get(code)
        except NotFound:
            return not_found
        unit = self._units.unit(procedure.competent_unit_code)
        units = {unit.code: unit} if unit else {}
        view = procedure_view(procedure, units, self._service.today())
        return 200, _env.get_template("procedure.html").render(p=view, list_url=LIST_URL, lookup_url=LOOKUP_URL)
