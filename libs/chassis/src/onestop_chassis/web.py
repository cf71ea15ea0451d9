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

import base64
import hashlib
import re

from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.wrappers import Response

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_CSP = ("default-src 'none'; img-src 'self' data:; style-src {styles}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'")
STRICT_CSP = _CSP.format(styles="'none'")
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
ERROR_TEXT_VI = {400: "Yêu cầu không hợp lệ.", 500: "Có lỗi xảy ra. Vui lòng thử lại sau ít phút."}


def content_security_policy(html: str) -> str:
    """The policy for one HTML page: STRICT_CSP plus the hashes of its own <style> elements."""
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
                     for css in _STYLE.findall(html)})
    return _CSP.format(styles=" ".join(hashes) or "'none'")


def with_security_headers(app):
    """WSGI middleware: adds SECURITY_HEADERS, and STRICT_CSP where the response set no policy."""
    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = [*headers, *((k, v) for k, v in SECURITY_HEADERS.items() if k.lower() not in present)]
            if "content-security-policy" not in present:
                headers.append(("Content-Security-Policy", STRICT_CSP))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)
        return app(environ, start)
    return wrapped


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
