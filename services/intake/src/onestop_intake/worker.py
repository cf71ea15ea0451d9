"""Intake's `worker` process: relays the dossiers' outbox to the event bus and serves the public
pages: the dossier lookup and the procedure catalogue (nameko's web server on WEB_PORT, through
the chassis' `@page`, which adds the security headers to every response). It also files the
desk's forms (FormFiling) and follows routing's case (RoutingFollowing: routing's events move the
dossier's national status)."""

from __future__ import annotations

import urllib.parse

from onestop_chassis.errors import ServiceError, Unavailable
from onestop_chassis.web import page
from onestop_chassis.worker import Bootstrapped, MongoConnection, Observability, OutboxRelayRunner

from .bootstrap import bootstrap
from .forms.filing import FormFiling
from .public import pages
from .reception.adapters import mongo as intake_mongo
from .reception.following_worker import RoutingFollowing
from .reception.postal_worker import PostalFollowing

HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
STATUS = {"NO_MATCH": 404, "RATE_LIMITED": 429}
# The catalogue changes rarely: a minute of public caching; error pages are not cached.
CATALOGUE_HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=60"}

class IntakeWorker(FormFiling, RoutingFollowing, PostalFollowing):
    name = "intake"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*intake_mongo.outbox_collections())  # only with OUTBOX_RELAY_IN_WORKER
    # The public pages' parts of intake's composition root (bootstrap.py): the lookup under this
    # process's rate limits (lookup_limits: only real mismatches count, budgets per client), and the
    # catalogue pages over the service layer.
    lookup = Bootstrapped(bootstrap, "page_lookup")
    catalogue = Bootstrapped(bootstrap, "public_catalogue")

    @page("GET", "/tra-cuu")
    def lookup_form(self, request):
        """The empty form, or with the code filled in (`?ma=`, the receipt's QR code). A secret in
        the query string is never used: it would stay in logs, history and Referer headers, so the
        browser is sent to the same page without it."""
        code = request.args.get("ma", "").strip()
        if "ma_tra_cuu" in request.args:
            target = pages.LOOKUP_URL + (f"?{urllib.parse.urlencode({'ma': code})}" if code else "")
            return 303, {**HTML, "Location": target}, ""
        return 200, HTML, pages.lookup_page(code)

    @page("POST", "/tra-cuu")
    @pages.unavailable_when_down
    def lookup_page(self, request):
        """The form posted: code and secret in the body, never in the URL."""
        code, secret = request.form.get("ma", "").strip(), request.form.get("ma_tra_cuu", "")
        if not (code and secret):
            return 200, HTML, pages.lookup_page(code)
        try:
            dossier = self.lookup(code, secret, request)
        except ServiceError as exc:
            if isinstance(exc, Unavailable):
                raise  # the Vietnamese 503 page (pages.unavailable_when_down)
            headers = HTML
            if getattr(exc, "retry_after", None):
                headers = {**HTML, "Retry-After": str(int(exc.retry_after))}
            return STATUS.get(exc.reason, 400), headers, pages.lookup_page(code, error=exc)
        return 200, HTML, pages.lookup_page(code, dossier)

    @page("GET", "/thu-tuc")
    @pages.unavailable_when_down
    def catalogue_page(self, request):
        status, html = self.catalogue.list_page(request.args)
        return status, CATALOGUE_HTML if status == 200 else HTML, html

    @page("GET", "/thu-tuc/<path:code>")  # any path: a code with "/" gets the Vietnamese 404 too
    @pages.unavailable_when_down
    def procedure_page(self, request, code):
        status, html = self.catalogue.detail_page(code)
        return status, CATALOGUE_HTML if status == 200 else HTML, html
