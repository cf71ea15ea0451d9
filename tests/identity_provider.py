"""A local identity provider for tests: RSA/EC keys generated with `cryptography`, their public
halves published as a JWKS (RFC 7517) by a small HTTP server on 127.0.0.1, and tokens signed with
them. Not a fake of the platform: the verifier under test fetches the key set over real HTTP.

    with LocalIdentityProvider() as idp:
        idp.add_key("k1")
        token = idp.token("k1", subject="officer", roles=["desk_officer"])
        ... JWT_JWKS_URL=idp.jwks_url, JWT_ISSUER=idp.issuer ...
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://idp.onestop.test/realms/motcua"


class LocalIdentityProvider:
    def __init__(self, issuer: str = ISSUER, audience: str = "onestop"):
        self.issuer, self.audience = issuer, audience
        self._keys: dict[str, tuple[str, object]] = {}  # kid -> (algorithm, private key)
        self._published: set[str] = set()
        self.fetches = 0  # how many times the key set was read
        self._server: ThreadingHTTPServer | None = None

    def add_key(self, kid: str, algorithm: str = "RS256", *, publish: bool = True) -> None:
        """A new signing key; published in the JWKS unless `publish` is False (a key nobody knows)."""
        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if algorithm == "RS256"
               else ec.generate_private_key(ec.SECP256R1()))
        self._keys[kid] = (algorithm, key)
        if publish:
            self._published.add(kid)

    def retire_key(self, kid: str) -> None:
        self._published.discard(kid)

    def jwks(self) -> dict:
        keys = []
        for kid in sorted(self._published):
            algorithm, key = self._keys[kid]
            codec = RSAAlgorithm if algorithm == "RS256" else ECAlgorithm
            jwk = codec.to_jwk(key.public_key(), as_dict=True)  # type: ignore[attr-defined]
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": algorithm})
        return {"keys": keys}

    def token(self, kid: str, *, subject: str = "officer-1", roles=("desk_officer",), agency: str = "000.00.21.H17",
              audience: str | None = None, issuer: str | None = None, ttl: int = 3600, iat: float | None = None,
              drop: tuple[str, ...] = ()) -> str:
        """A token signed with key `kid`: iat = `iat` (now), exp = iat + `ttl`; claims in `drop` left out."""
        algorithm, key = self._keys[kid]
        issued = int(time.time() if iat is None else iat)
        claims = {"sub": subject, "roles": list(roles), "agency": agency, "aud": audience or self.audience,
                  "iss": issuer or self.issuer, "iat": issued, "exp": issued + ttl}
        for name in drop:
            claims.pop(name)
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})  # type: ignore[arg-type]

    @property
    def jwks_url(self) -> str:
        assert self._server is not None, "start the identity provider first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def __enter__(self) -> LocalIdentityProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path != "/.well-known/jwks.json":
                    self.send_error(404)
                    return
                provider.fetches += 1
                body = json.dumps(provider.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
