"""The public survey pages (Vietnamese, phone-sized, no script): the citizen's survey
/khao-sat/<token> and the counter tablet's kiosk
/quay/<kiosk>?co_quan=<unit>&can_bo=<officer>&khoa=<kiosk key> (a kiosk its unit registered:
answers.kiosks).
Rendered with Jinja2 (autoescaped), served by the survey worker (worker.py, chassis `@page`).

Each method takes the request's values and the client's address and returns (HTTP status, HTML);
every refusal is a page in Vietnamese with the status a browser understands (404 unknown link,
410 expired, 409 answered already, 400 a question to fix, 403 an unregistered or revoked kiosk,
429 too many).
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Mapping

from onestop_chassis.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
)
from onestop_chassis.page_templates import page_environment
from onestop_chassis.worktime import VIETNAM

from ..answers.domain import KIOSK_LEVELS
from ..answers.limits import SurveyLimits
from ..answers.service import AnswerService
from ..questionnaires import domain as questionnaires

_env = page_environment("onestop_survey.public")  # the chassis's base page, no navigation
SURVEY_URL = "/khao-sat"
KIOSK_URL = "/quay"
MAX_FIELD = 2000

REFUSALS_VI = {
    "INVITATION_NOT_FOUND": (404, "Không tìm thấy phiếu khảo sát",
                             "Liên kết khảo sát không đúng. Vui lòng kiểm tra lại liên kết trong tin nhắn "
                             "hoặc quét lại mã QR trên giấy trả kết quả."),
    "INVITATION_EXPIRED": (410, "Phiếu khảo sát đã hết hạn",
                           "Thời hạn đánh giá hồ sơ này đã hết. Cảm ơn Ông/Bà đã quan tâm."),
    "ALREADY_ANSWERED": (409, "Hồ sơ đã được đánh giá",
                         "Hồ sơ này đã được đánh giá. Mỗi hồ sơ chỉ được đánh giá một lần. Cảm ơn Ông/Bà."),
    "RATE_LIMITED": (429, "Quá nhiều yêu cầu", "Ông/Bà đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau ít phút."),
    "KIOSK_NOT_REGISTERED": (403, "Máy đánh giá chưa được đăng ký",
                             "Máy đánh giá này chưa được đơn vị đăng ký hoặc đường dẫn cài đặt không đúng. "
                             "Vui lòng báo cán bộ tại quầy."),
    "KIOSK_REVOKED": (403, "Máy đánh giá đã bị thu hồi",
                      "Máy đánh giá này đã bị đơn vị thu hồi, không dùng để đánh giá được nữa. "
                      "Vui lòng báo cán bộ tại quầy."),
    "REQUEST_ID_REUSED": (409, "Phiếu đánh giá đã được gửi",
                          "Phiếu đánh giá này đã được gửi trước đó. Vui lòng đánh giá lại trên màn hình mới."),
}


def message_page(status: int, title: str, message: str, *, kind: str = "error", detail: str = "",
                 back: str = "", subheading: str = "") -> tuple[int, str]:
    return status, _env.get_template("message.html").render(title=title, message=message, kind=kind,
                                                             detail=detail, back=back, subheading=subheading)


def refusal(exc: ServiceError) -> tuple[int, str]:
    status, title, message = REFUSALS_VI.get(exc.reason, (400, "Yêu cầu không hợp lệ",
                                                          "Yêu cầu không hợp lệ. Vui lòng thử lại."))
    return message_page(status, title, message)


WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses


def form_number(value: str) -> int | None:
    """A form field as a whole number, or None when it is not one (ASCII digits, an optional
    minus, at most 9 digits): the page then answers 400 with its Vietnamese message, never 500."""
    value = value.strip()
    return int(value) if WHOLE_NUMBER.fullmatch(value) else None


def answers_from_form(q: questionnaires.Questionnaire, form: Mapping[str, str]) -> dict[str, int | str]:
    """The posted answers by question id: option values as numbers (a value that is not a number is
    kept as text, so the check names the question), text as it is; fields of no question are ignored."""
    out: dict[str, int | str] = {}
    for question in q.questions:
        raw = (form.get(f"q_{question.id}") or "")[:MAX_FIELD]
        if question.kind == questionnaires.Kind.TEXT:
            if raw.strip():
                out[question.id] = raw.strip()
        elif raw.strip():
            number = form_number(raw)
            out[question.id] = raw if number is None else number
    return out


def errors_vi(q: questionnaires.Questionnaire, error: InvalidArgument) -> list[str]:
    """One Vietnamese line per refused question, naming it."""
    out = []
    for v in error.violations:
        question = q.question(v.field.removeprefix("answers[").removesuffix("]"))
        if question is None:
            continue
        number = q.questions.index(question) + 1
        out.append(f"Câu {number} ({question.text}): " + (
            "vui lòng trả lời câu này." if v.description.startswith("is required") else
            "câu trả lời không hợp lệ, vui lòng chọn lại."))
    return out or ["Phiếu chưa hợp lệ. Vui lòng kiểm tra lại."]


class SurveyPages:
    def __init__(self, answers: AnswerService, limits: SurveyLimits):
        self._answers = answers
        self._limits = limits

    def _form(self, token: str, status: int = 200, given: Mapping[str, str] | None = None,
              errors: list[str] | None = None) -> tuple[int, str]:
        invitation, q = self._answers.survey(token)
        expires = invitation.expires_at.astimezone(VIETNAM).strftime("%d/%m/%Y") if invitation.expires_at else ""
        return status, _env.get_template("survey.html").render(
            questionnaire=q, procedure_name=invitation.title, expires=expires, given=dict(given or {}),
            errors=errors or [], action=f"{SURVEY_URL}/{urllib.parse.quote(token)}")

    def survey(self, token: str, client: str) -> tuple[int, str]:
        """GET /khao-sat/<token>: the questionnaire, or why it cannot be answered."""
        try:
            return self._limits.token(client=client, use=lambda: self._form(token))
        except (NotFound, FailedPrecondition, ResourceExhausted) as exc:
            return refusal(exc)

    def answer(self, token: str, form: Mapping[str, str], client: str) -> tuple[int, str]:
        """POST /khao-sat/<token>: records the answer; the form again naming each question to fix."""
        def submit() -> tuple[int, str]:
            _, q = self._answers.survey(token)
            given = {k.removeprefix("q_"): v[:MAX_FIELD] for k, v in form.items() if k.startswith("q_")}
            try:
                sheet = self._answers.submit(token, answers_from_form(q, form))
            except InvalidArgument as exc:
                return self._form(token, 400, given, errors_vi(q, exc))
            detail = ""
            if sheet.grade:
                detail = f"Tổng điểm: {sheet.total}/{q.max_total} — {questionnaires.grade(q, sheet.total).label}."
            return message_page(200, "Cảm ơn Ông/Bà", "Cảm ơn Ông/Bà đã đánh giá. Ý kiến của Ông/Bà đã được ghi nhận.",
                                kind="done", detail=detail)
        try:
            return self._limits.token(client=client, use=submit)
        except (NotFound, FailedPrecondition, ResourceExhausted) as exc:
            return refusal(exc)

    def kiosk(self, kiosk: str, agency: str, officer: str, key: str, message: str = "", kind: str = "done",
              status: int = 200) -> tuple[int, str]:
        """GET /quay/<kiosk>?co_quan=<unit>&can_bo=<officer>&khoa=<key>: three large buttons rating
        `officer` of `agency`, on a kiosk its unit registered (answers.kiosks); otherwise why not
        (403). Each form carries the key and a new request id (a form sent twice rates once)."""
        try:
            self._answers.kiosks.check(agency, kiosk[:64], key)
        except (Unauthenticated, PermissionDenied) as exc:
            return refusal(exc)
        return status, _env.get_template("kiosk.html").render(
            levels=list(KIOSK_LEVELS.items()), agency=agency, officer=officer, key=key, message=message, kind=kind,
            request_id=uuid.uuid4().hex, action=f"{KIOSK_URL}/{urllib.parse.quote(kiosk)}")

    def rate(self, kiosk: str, form: Mapping[str, str], client: str) -> tuple[int, str]:
        """POST /quay/<kiosk>: records the rating and shows the buttons again with a thank-you."""
        agency, officer = (form.get("co_quan") or "")[:64], (form.get("can_bo") or "")[:128]
        key, request_id = (form.get("khoa") or "")[:100], (form.get("ma_yeu_cau") or "")[:100]
        level = form.get("muc_do") or ""
        try:
            self._limits.rating_client(client)
            self._answers.rate(agency, kiosk[:64], key, officer, form_number(level) or 0, request_id,
                               spend=self._limits.rating_kiosk)
        except ResourceExhausted:
            return self.kiosk(kiosk, agency, officer, key, REFUSALS_VI["RATE_LIMITED"][2], "error", 429)
        except (Unauthenticated, PermissionDenied, AlreadyExists) as exc:
            return refusal(exc)
        except InvalidArgument as exc:
            if [v.field for v in exc.violations] == ["level"]:
                return self.kiosk(kiosk, agency, officer, key, "Vui lòng chọn một mức độ hài lòng.", "error", 400)
            return message_page(400, "Yêu cầu không hợp lệ", "Máy đánh giá chưa được cài đặt đúng "
                                "(cơ quan, công chức). Vui lòng báo cán bộ tại quầy.")
        return self.kiosk(kiosk, agency, officer, key, "Cảm ơn Ông/Bà đã đánh giá!")
