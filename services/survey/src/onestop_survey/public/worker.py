"""Mixed into the survey worker: the public pages on WEB_PORT (chassis `@page`: security headers,
no script). Pages are never cached: each shows one citizen's invitation."""

from __future__ import annotations

from onestop_chassis.ratelimits import client_address
from onestop_chassis.web import page
from onestop_chassis.worker import Bootstrapped

from ..bootstrap import bootstrap

HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _client(request, trusted) -> str:
    return client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For", ""), trusted)


class SurveyPageRoutes:
    pages = Bootstrapped(bootstrap, "pages")            # public.pages.SurveyPages
    trusted = Bootstrapped(bootstrap, "trusted_proxies")

    @page("GET", "/khao-sat/<token>")
    def survey_page(self, request, token):
        status, html = self.pages.survey(token, _client(request, self.trusted))
        return status, HTML, html

    @page("POST", "/khao-sat/<token>")
    def survey_answer(self, request, token):
        status, html = self.pages.answer(token, request.form, _client(request, self.trusted))
        return status, HTML, html

    @page("GET", "/quay/<kiosk>")
    def kiosk_page(self, request, kiosk):
        status, html = self.pages.kiosk(kiosk, request.args.get("co_quan", "")[:64],
                                        request.args.get("can_bo", "")[:128], request.args.get("khoa", "")[:100])
        return status, HTML, html

    @page("POST", "/quay/<kiosk>")
    def kiosk_rating(self, request, kiosk):
        status, html = self.pages.rate(kiosk, request.form, _client(request, self.trusted))
        return status, HTML, html
