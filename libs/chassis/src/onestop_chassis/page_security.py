"""The security headers of every public page response (pure WSGI; `onestop_chassis.web` serves
them through nameko). See `web` for what each header is for."""

from __future__ import annotations

import base64
import hashlib
import re

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_CSP = ("default-src 'none'; img-src 'self' data:; style-src {styles}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'")
STRICT_CSP = _CSP.format(styles="'none'")
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


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
