"""Intake's `worker` process: relays the dossiers' outbox to the event bus and serves the public
pages: the dossier lookup and the procedure catalogue (nameko @http on WEB_PORT)."""

from __future__ import annotations

import functools

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http

from onestop_chassis import dependencies
from onestop_chassis.errors import ServiceError
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner

from . import pages
from .form_filing import FormFiling
from .adapters import mongo as intake_mongo
from .adapters.mongo import DossierDoc
from .lookup_limits import LookupLimits
from .service import CatalogueService, IntakeService

HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
STATUS = {"NO_MATCH": 404, "RATE_LIMITED": 429}
# The catalogue changes rarely: a minute of public caching; error pages are not cached.
CATALOGUE_HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=60"}
RETRY_AFTER_SECONDS = 5
log = get_logger("onestop.intake")


def unavailable_page(handler):
    """A page whose server (the database) does not answer gets a Vietnamese 503 with Retry-After,
    not nameko's bare 500; any other failure is left alone."""
    @functools.wraps(handler)
    def page(self, request, *args, **kwargs):
        try:
            return handler(self, request, *args, **kwargs)
        except Exception as exc:
            dependency = dependencies.dependency_of(exc)
            if dependency is None:
                raise
            log.warning("page unavailable: a dependency is not answering", dependency=dependency,
                        error=f"{type(exc).__name__}: {exc}"[:300])
            return 503, {**HTML, "Retry-After": str(RETRY_AFTER_SECONDS)}, pages.error_page(503, pages.UNAVAILABLE_VI)
    return page


class PublicLookup(DependencyProvider):
    """The intake service for the public pages, with the lookup rate limits of this process."""

    def setup(self):
        self.limits = LookupLimits()

    def get_dependency(self, worker_ctx):
        service = IntakeService(intake_mongo.MongoDossiers(), intake_mongo.MongoCatalogue(),
                                intake_mongo.MongoCodeSequence())

        def lookup(code: str, secret: str, client: str):
            self.limits.allow(client=client, code=code)
            try:
                return service.lookup(code, secret)
            except ServiceError:
                self.limits.failed(code)
                raise
        return lookup


class PublicCatalogueProvider(DependencyProvider):
    """The catalogue pages over the service layer (CatalogueService, and the store's units)."""

    def get_dependency(self, worker_ctx):
        store = intake_mongo.MongoCatalogue()
        return pages.PublicCatalogue(CatalogueService(store), store)


class IntakeWorker(FormFiling):
    name = "intake"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(DossierDoc._get_collection)
    lookup = PublicLookup()
    catalogue = PublicCatalogueProvider()

    @http("GET", "/tra-cuu")
    @unavailable_page
    def lookup_page(self, request):
        code, secret = request.args.get("ma", "").strip(), request.args.get("ma_tra_cuu", "")
        if not (code and secret):
            return 200, HTML, pages.lookup_page(code)
        try:
            dossier = self.lookup(code, secret, request.remote_addr or "")
        except ServiceError as exc:
            return STATUS.get(exc.reason, 400), HTML, pages.lookup_page(code, error=exc)
        return 200, HTML, pages.lookup_page(code, dossier)

    @http("GET", "/thu-tuc")
    @unavailable_page
    def catalogue_page(self, request):
        status, html = self.catalogue.list_page(request.args)
        return status, CATALOGUE_HTML if status == 200 else HTML, html

    @http("GET", "/thu-tuc/<path:code>")  # any path: a code with "/" gets the Vietnamese 404 too
    @unavailable_page
    def procedure_page(self, request, code):
        status, html = self.catalogue.detail_page(code)
        return status, CATALOGUE_HTML if status == 200 else HTML, html
