"""Public HTML pages served by a worker through nameko's web server, with the security headers
every response carries, error responses and nameko's own 404/405 included.

Use `@page("GET", "/path")` instead of nameko's `@http` (one worker uses one of the two: both
would bind WEB_PORT). Every response gets:

- `Content-Security-Policy`: nothing may load but this origin's images, no script at all, forms
  post only to this origin, no framing; the `<style>` elements of the page itself are allowed by
  their SHA-256 (computed per response, so templates keep their inline CSS; `style="..."`
  attributes are refused);
- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` (older browsers' frame-ancestors);
- `Referrer-Policy: no-referrer`: a page URL may carry a dossier code, and a link followed from it
  must not tell the next site.

An exception in a handler becomes a plain Vietnamese 500 (400 for nameko's BadRequest) without the
exception text, which nameko would otherwise send to the browser.
"""

from __future__ import annotations

from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.wrappers import Response

from .page_security import SECURITY_HEADERS, STRICT_CSP, content_security_policy, with_security_headers

__all__ = ["SECURITY_HEADERS", "STRICT_CSP", "content_security_policy", "with_security_headers", "page",
           "PageHandler"]
ERROR_TEXT_VI = {400: "Yêu cầu không hợp lệ.", 500: "Có lỗi xảy ra. Vui lòng thử lại sau ít phút."}


class SecureWebServer(WebServer):
    def get_wsgi_app(self):
        return with_security_headers(super().get_wsgi_app())


class PageHandler(HttpRequestHandler):
    server = SecureWebServer()

    def response_from_result(self, result):
        response = super().response_from_result(result)
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = content_security_policy(response.get_data(as_text=True))
        return response

    def response_from_exception(self, exc):
        status = 400 if isinstance(exc, (BadRequest, *self.expected_exceptions)) else 500
        return Response(ERROR_TEXT_VI[status], status=status, mimetype="text/plain")


page = PageHandler.decorator
