"""Intake's `worker` process: relays the dossiers' outbox to the event bus and serves the public
pages: the dossier lookup and the procedure catalogue (nameko @http on WEB_PORT)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http

from onestop_chassis.errors import ServiceError
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
    @pages.unavailable_when_down
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
    @pages.unavailable_when_down
    def catalogue_page(self, request):
        status, html = self.catalogue.list_page(request.args)
        return status, CATALOGUE_HTML if status == 200 else HTML, html

    @http("GET", "/thu-tuc/<path:code>")  # any path: a code with "/" gets the Vietnamese 404 too
    @pages.unavailable_when_down
    def procedure_page(self, request, code):
        status, html = self.catalogue.detail_page(code)
        return status, CATALOGUE_HTML if status == 200 else HTML, html
