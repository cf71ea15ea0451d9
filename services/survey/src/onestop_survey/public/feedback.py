"""The public feedback pages (phản ánh, kiến nghị): Vietnamese, phone-sized, no script, served by
the survey worker beside the survey page (public.feedback_worker).

- /phan-anh (GET ?co_quan=<agency>): the form; POST files the item as FileFeedback does and shows
  its tracking code and secret, once;
- /phan-anh/tra-cuu (GET): the follow-up form; POST with the code and secret (in the body, never in
  the URL) shows the item and its answer, and with `thao_tac` mo_lai (reason) or danh_gia (rating)
  reopens or rates it as ReopenFeedback and RateFeedbackAnswer do.

The same rules and limits as the RPCs (feedback.service, feedback.limits: filings and secret uses
per client address). Form fields are read as the bytes the browser sent and decoded with
`feedback.domain.text_from_bytes`: text that is not UTF-8 is refused (NOT_UTF8) rather than
repaired, text over its limit is refused (TEXT_TOO_LONG), content missing is refused, and a
refused filing stores nothing. Each method returns (HTTP status, HTML).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping

from onestop_chassis.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from onestop_chassis.page_templates import page_environment
from onestop_chassis.worktime import VIETNAM

from ..feedback import domain
from ..feedback.limits import FeedbackLimits
from ..feedback.service import FeedbackService
from .pages import form_number, message_page

_env = page_environment("onestop_survey.public")  # the chassis's base page, no navigation
FILE_URL = "/phan-anh"
FOLLOW_URL = "/phan-anh/tra-cuu"
MAX_BODY = 64 * 1024  # bytes of a posted form: 5,000 characters of content are at most 20 kB of UTF-8
# Field → (label, most characters) of the filing form; content's limit is the RPC's.
FIELDS = {"co_quan": ("Mã cơ quan", 64), "loai_phan_anh": ("Loại phản ánh", 40),
          "noi_dung": ("Nội dung", domain.MAX_CONTENT_CHARS), "ma_ho_so": ("Mã hồ sơ", 64),
          "nguoi_gui": ("Người gửi", 1), "ho_ten": ("Họ và tên", 200), "dien_thoai": ("Số điện thoại", 20),
          "email": ("Thư điện tử", 254), "dia_chi": ("Địa chỉ", 500),
          "ma": ("Mã phản ánh", 32), "ma_bi_mat": ("Mã bí mật", 32), "thao_tac": ("Thao tác", 16),
          "ly_do": ("Lý do", domain.MAX_REASON_CHARS), "muc_do": ("Mức độ hài lòng", 1)}
# The service's field names (FieldViolation.field) → what the form calls them and what to do.
VIOLATIONS_VI = {
    "content": "Nội dung: vui lòng ghi rõ nội dung phản ánh, kiến nghị (tối đa 5.000 ký tự).",
    "type_code": "Loại phản ánh: vui lòng chọn một loại trong danh sách.",
    "agency_code": "Mã cơ quan không đúng (ví dụ 000.00.21.H17).",
    "dossier_code": "Mã hồ sơ không đúng (ví dụ 000.00.21.H17-250301-0001); để trống nếu không có.",
    "complainant.name": "Họ và tên: vui lòng nhập họ tên cá nhân hoặc tên tổ chức gửi phản ánh.",
    "complainant": "Vui lòng để lại ít nhất một cách liên hệ: số điện thoại, thư điện tử hoặc địa chỉ.",
    "complainant.kind": "Người gửi: vui lòng chọn cá nhân hoặc tổ chức, doanh nghiệp.",
    "reason": "Lý do: vui lòng ghi rõ vì sao Ông/Bà chưa hài lòng (tối đa 1.000 ký tự).",
    "rating": "Vui lòng chọn một mức độ hài lòng.",
    "code": "Mã phản ánh không đúng (ví dụ PA-261130-ABCDEF).",
}
UNKNOWN_AGENCY_VI = ("Không tìm thấy cơ quan có mã này trong danh sách cơ quan, đơn vị. Vui lòng kiểm tra lại "
                     "mã cơ quan (ví dụ 000.00.21.H17) hoặc dùng đường dẫn do cơ quan cung cấp.")
REFUSALS_VI = {
    "NO_MATCH": (404, "Không tìm thấy phản ánh có mã và mã bí mật này. Vui lòng kiểm tra lại cả hai."),
    "REOPEN_WINDOW_ENDED": (409, "Đã hết thời hạn đề nghị xem xét lại. Vui lòng gửi phản ánh mới."),
    "REOPEN_LIMIT": (409, "Phản ánh đã được mở lại số lần tối đa. Vui lòng gửi phản ánh mới."),
    "ALREADY_RATED": (409, "Câu trả lời đã được đánh giá; phản ánh đã đóng."),
    "NOT_ANSWERED": (409, "Phản ánh chưa có câu trả lời (hoặc đang được xem xét lại)."),
    "CONCURRENT_CHANGE": (409, "Phản ánh vừa được cập nhật. Vui lòng thử lại."),
}
STATES_VI = {domain.State.FILED: "Đã tiếp nhận", domain.State.ASSIGNED: "Đang xử lý",
             domain.State.ANSWERED: "Đã trả lời", domain.State.REOPENED: "Đang xem xét lại",
             domain.State.CLOSED: "Đã đóng"}
RATINGS_VI = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Không hài lòng"}


class Refused(Exception):
    """A form the page answers with its errors: (HTTP status, Vietnamese lines)."""

    def __init__(self, status: int, lines: list[str]):
        super().__init__(status, lines)
        self.status, self.lines = status, lines


def form_fields(body: bytes) -> dict[str, bytes]:
    """An `application/x-www-form-urlencoded` body as the bytes of each field (the first of a
    repeated one), undecoded: the page decodes each with its limit. CRLF line ends become LF."""
    out: dict[str, bytes] = {}
    # Latin-1 maps each byte to one character and back: the percent-decoded bytes stay as sent.
    for key, value in urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        out.setdefault(key, value.encode("latin-1").replace(b"\r\n", b"\n"))
    return out


def text(form: Mapping[str, bytes], name: str) -> str:
    """One field as text, stripped. Raises Refused (400) for bytes that are not UTF-8 or over the
    field's limit (feedback.domain.text_from_bytes: NOT_UTF8, TEXT_TOO_LONG)."""
    label, most = FIELDS[name]
    try:
        return domain.text_from_bytes(form.get(name, b""), name, most).strip()
    except InvalidArgument as exc:
        if exc.reason == "NOT_UTF8":
            raise Refused(400, [f"{label}: văn bản không đúng mã UTF-8. Vui lòng gõ lại hoặc dán lại văn bản."]) \
                from None
        raise Refused(400, [f"{label}: dài quá {most:,} ký tự. Vui lòng rút gọn.".replace(",", ".")]) from None


def violations_vi(exc: InvalidArgument) -> list[str]:
    lines = [VIOLATIONS_VI.get(v.field, "Thông tin chưa hợp lệ. Vui lòng kiểm tra lại.") for v in exc.violations]
    return list(dict.fromkeys(lines)) or ["Thông tin chưa hợp lệ. Vui lòng kiểm tra lại."]


def local(moment) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y") if moment else ""


def _render(name: str, status: int = 200, **values) -> tuple[int, str]:
    return status, _env.get_template(name).render(file_url=FILE_URL, follow_url=FOLLOW_URL, **values)


class FeedbackPages:
    def __init__(self, feedback: FeedbackService, limits: FeedbackLimits):
        self._feedback = feedback
        self._limits = limits

    def _types(self) -> list[tuple[str, str]]:
        return [(t.code, t.name) for t in self._feedback.policy.types.values()]

    def form(self, agency: str = "", status: int = 200, given: Mapping[str, str] | None = None,
             errors: list[str] | None = None) -> tuple[int, str]:
        """GET /phan-anh: the filing form (the agency from the link's `co_quan`)."""
        values = {"co_quan": agency, "nguoi_gui": "1", **(given or {})}
        return _render("feedback_form.html", status, types=self._types(), given=values, errors=errors or [])

    def file(self, body: bytes, client: str) -> tuple[int, str]:
        """POST /phan-anh: files the item; its code and secret (shown once), or the form naming
        what to fix (400), an agency intake does not know (404), too many filings from this
        address (429); a "try again" page (503) when intake's units cannot be read."""
        form = form_fields(body)
        given = {k: v.decode("utf-8", "replace")[:FIELDS[k][1]] for k, v in form.items() if k in FIELDS}
        try:
            self._limits.spend_address(client, "filing")  # as FileFeedback: every attempt counts
            item, secret = self._feedback.file(self._draft(form))
        except Refused as exc:
            return self.form(status=exc.status, given=given, errors=exc.lines)
        except InvalidArgument as exc:
            return self.form(status=400, given=given, errors=violations_vi(exc))
        except NotFound:  # UNIT_NOT_FOUND: intake knows no such agency
            return self.form(status=404, given=given, errors=[UNKNOWN_AGENCY_VI])
        except Unavailable:  # UNITS_UNAVAILABLE: the agency cannot be checked now; nothing was filed
            return message_page(503, "Chưa gửi được phản ánh", "Hệ thống tạm thời chưa kiểm tra được cơ quan "
                                "nhận phản ánh nên phản ánh của Ông/Bà chưa được gửi.",
                                detail="Vui lòng thử lại sau ít phút.", back=FILE_URL,
                                subheading="Phản ánh, kiến nghị")
        except ResourceExhausted as exc:
            return self.form(status=429, given=given, errors=[exc.metadata.get("message_vi", "")])
        kind = self._feedback.policy.types.get(item.type_code)
        return _render("feedback_filed.html", code=item.code, secret=secret, due=local(item.due_at),
                       type_name=kind.name if kind else item.type_code)

    def _draft(self, form: Mapping[str, bytes]) -> domain.Filing:
        kind = text(form, "nguoi_gui")
        person = domain.Complainant(
            kind=domain.FiledBy.BUSINESS if kind == "2" else domain.FiledBy.PERSON, name=text(form, "ho_ten"),
            phone=text(form, "dien_thoai"), email=text(form, "email"), address=text(form, "dia_chi"))
        return domain.Filing(code="", secret_hash="", agency_code=text(form, "co_quan"),
                             type_code=text(form, "loai_phan_anh"), content=text(form, "noi_dung"),
                             complainant=person, dossier_code=text(form, "ma_ho_so"))

    def lookup(self, status: int = 200, code: str = "", errors: list[str] | None = None) -> tuple[int, str]:
        """GET /phan-anh/tra-cuu: the form asking for the code and the secret."""
        return _render("feedback_lookup.html", status, code=code, errors=errors or [])

    def follow_up(self, body: bytes, client: str) -> tuple[int, str]:
        """POST /phan-anh/tra-cuu: the item by its code and secret (thao_tac empty or `xem`), or
        reopened (`mo_lai`, with ly_do) or rated (`danh_gia`, with muc_do 1-3); the item again
        with what was refused and why (400, 404, 409), or 429 past the secret-use budget."""
        code = ""
        try:
            form = form_fields(body)
            code, secret, action = text(form, "ma").upper(), text(form, "ma_bi_mat"), text(form, "thao_tac")
            self._limits.spend_address(client, "secret")
            item = self._feedback.lookup(code, secret)
        except Refused as exc:
            return self.lookup(exc.status, code, exc.lines)
        except (InvalidArgument, NotFound):
            return self.lookup(404, code, [REFUSALS_VI["NO_MATCH"][1]])
        except ResourceExhausted as exc:
            return self.lookup(429, code, [exc.metadata.get("message_vi", "")])
        act: dict[str, Callable[[], domain.Feedback]] = {
            "mo_lai": lambda: self._feedback.reopen(code, secret, text(form, "ly_do")),
            "danh_gia": lambda: self._feedback.rate(code, secret, _rating(text(form, "muc_do")))}
        if action not in act:
            return self._item(item, secret)
        try:
            done = act[action]()
        except Refused as exc:
            return self._item(item, secret, exc.status, exc.lines)
        except InvalidArgument as exc:
            return self._item(item, secret, 400, violations_vi(exc))
        except (FailedPrecondition, Aborted) as exc:
            status, line = REFUSALS_VI.get(exc.reason, (409, "Không thực hiện được. Vui lòng thử lại."))
            return self._item(item, secret, status, [line])
        notice = "Đã gửi đề nghị xem xét lại." if action == "mo_lai" else "Cảm ơn Ông/Bà đã đánh giá câu trả lời."
        return self._item(done, secret, notice=notice)

    def _item(self, item: domain.Feedback, secret: str, status: int = 200, errors: list[str] | None = None,
              notice: str = "") -> tuple[int, str]:
        """The item as its filer sees it (no officer, no log), with the forms that apply now."""
        kind = self._feedback.policy.types.get(item.type_code)
        window = self._feedback.reopen_until(item)
        now = self._feedback.clock()
        answered = item.state is domain.State.ANSWERED
        return _render(
            "feedback_item.html", status, item=item, secret=secret, errors=errors or [], notice=notice,
            state=STATES_VI[item.state], type_name=kind.name if kind else item.type_code,
            filed=local(item.filed_at), due=local(item.due_at), answered=local(item.answered_at),
            window=local(window), ratings=list(RATINGS_VI.items()), rating=RATINGS_VI.get(item.rating, ""),
            can_reopen=answered and window is not None and now <= window
            and item.reopens < self._feedback.policy.max_reopens,
            can_rate=answered and not item.rating)


def _rating(value: str) -> int:
    return form_number(value) or 0  # not a number ("²" too): check_rating refuses 0 (400)
