"""Mixed into the survey worker: the public feedback pages (public.feedback) on WEB_PORT beside the
survey page (chassis `@page`: security headers, no script). Never cached: the follow-up shows one
filer's item, and the filing page its secret once."""

from __future__ import annotations

from onestop_chassis.web import page
from onestop_chassis.worker import Bootstrapped

from ..bootstrap import bootstrap
from .feedback import MAX_BODY
from .worker import HTML, _client

TOO_LARGE_VI = "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><p>Nội dung gửi lên quá lớn.</p></html>"


def _body(request) -> bytes | None:
    """The posted form's bytes; None past MAX_BODY (or with no length: a browser always sends it)."""
    length = request.content_length
    if length is None or length > MAX_BODY:
        return None
    return request.get_data(cache=False)


class FeedbackPageRoutes:
    feedback_pages = Bootstrapped(bootstrap, "feedback_pages")  # public.feedback.FeedbackPages
    trusted = Bootstrapped(bootstrap, "trusted_proxies")

    @page("GET", "/phan-anh")
    def feedback_form(self, request):
        status, html = self.feedback_pages.form(request.args.get("co_quan", "")[:64])
        return status, HTML, html

    @page("POST", "/phan-anh")
    def feedback_file(self, request):
        body = _body(request)
        if body is None:
            return 413, HTML, TOO_LARGE_VI
        status, html = self.feedback_pages.file(body, _client(request, self.trusted))
        return status, HTML, html

    @page("GET", "/phan-anh/tra-cuu")
    def feedback_lookup(self, request):
        status, html = self.feedback_pages.lookup()
        return status, HTML, html

    @page("POST", "/phan-anh/tra-cuu")
    def feedback_follow_up(self, request):
        body = _body(request)
        if body is None:
            return 413, HTML, TOO_LARGE_VI
        status, html = self.feedback_pages.follow_up(body, _client(request, self.trusted))
        return status, HTML, html
