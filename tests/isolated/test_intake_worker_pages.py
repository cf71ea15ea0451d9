"""Intake's worker pages (nameko @http entrypoints, through the chassis' @page) driven with
nameko's `entrypoint_hook`. Importing IntakeWorker imports nameko's web server, which changes the
threads of the process that imports it, so this module runs in a process of its own:
tests/unit/test_worker_pages.py starts it (`make test` does not collect tests/isolated/)."""

from __future__ import annotations

import pytest
from nameko.testing.services import entrypoint_hook
from test_workers import _green_waiter, hosted  # noqa: F401 (_green_waiter: an autouse fixture)
from werkzeug.test import EnvironBuilder

from onestop_chassis.errors import NotFound, ResourceExhausted
from onestop_intake.config import IntakeSettings
from onestop_intake.worker import IntakeWorker


class PageLookup:
    """The worker's `lookup` part: refuses as the real one does for a wrong code or secret."""

    def __init__(self, error):
        self.error, self.asked = error, []

    def __call__(self, code, secret, request):
        self.asked.append((code, secret))
        raise self.error


class PageCatalogue:
    def list_page(self, args):
        return 200, f"<p>{len(args)} filters</p>"

    def detail_page(self, code):
        return (404, "<p>Không tìm thấy</p>") if code == "9.999999" else (200, f"<p>{code}</p>")


def _request(method: str, path: str, **kwargs):
    return EnvironBuilder(method=method, path=path, **kwargs).get_request()


@pytest.fixture
def intake_pages():
    no_match = PageLookup(NotFound("NO_MATCH", "no dossier with that code and secret"))
    limited = PageLookup(ResourceExhausted("RATE_LIMITED", "too many attempts", retry_after=30))
    yield (lambda lookup: hosted(IntakeWorker, IntakeSettings(), lookup=lookup, catalogue=PageCatalogue())), \
        no_match, limited


def test_intake_lookup_form_never_keeps_a_secret_in_the_url(intake_pages):
    host, no_match, _ = intake_pages
    with host(no_match) as container, entrypoint_hook(container, "lookup_form") as form:
        status, headers, body = form(_request("GET", "/tra-cuu", query_string={"ma": "X-1", "ma_tra_cuu": "s3"}))
        assert (status, headers["Location"], body) == (303, "/tra-cuu?ma=X-1", "")
        status, headers, body = form(_request("GET", "/tra-cuu", query_string={"ma": "X-1"}))
        assert status == 200 and 'value="X-1"' in body and headers["Cache-Control"] == "no-store"


def test_intake_lookup_page_answers_a_mismatch_and_a_rate_limit_in_its_own_statuses(intake_pages):
    host, no_match, limited = intake_pages
    posted = {"ma": "000.00.21.H17-261130-0001", "ma_tra_cuu": "wrong"}
    with host(no_match) as container, entrypoint_hook(container, "lookup_page") as lookup:
        status, headers, body = lookup(_request("POST", "/tra-cuu", data=posted))
        assert status == 404 and "Retry-After" not in headers
        assert no_match.asked == [("000.00.21.H17-261130-0001", "wrong")]
        assert lookup(_request("POST", "/tra-cuu", data={"ma": "x"}))[0] == 200  # no secret: the form again
        assert len(no_match.asked) == 1
    with host(limited) as container, entrypoint_hook(container, "lookup_page") as lookup:
        status, headers, _ = lookup(_request("POST", "/tra-cuu", data=posted))
        assert (status, headers["Retry-After"]) == (429, "30")


def test_intake_catalogue_pages_are_cached_only_when_found(intake_pages):
    host, no_match, _ = intake_pages
    with host(no_match) as container:
        with entrypoint_hook(container, "catalogue_page") as listing:
            status, headers, body = listing(_request("GET", "/thu-tuc", query_string={"q": "khai sinh"}))
            assert (status, headers["Cache-Control"], body) == (200, "public, max-age=60", "<p>1 filters</p>")
        with entrypoint_hook(container, "procedure_page") as detail:
            assert detail(_request("GET", "/thu-tuc/1.001193"), "1.001193")[:2] == \
                (200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=60"})
            status, headers, _ = detail(_request("GET", "/thu-tuc/9.999999"), "9.999999")
            assert (status, headers["Cache-Control"]) == (404, "no-store")
