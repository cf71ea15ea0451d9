"""Bearer JWT authentication and authorisation policies.

A token carries `sub` (the user or system), `roles` (list) and `agency` (the national unit code the
holder acts for). HS256 with a shared secret for the local stack only; in production RS256/ES256
with the identity provider's published key set (JWT_JWKS_URL, RFC 7517) or a public key file, so
only the identity provider holds a signing key. Every token must carry `iat` and `exp`, and live
(exp - iat) no longer than JWT_MAX_LIFETIME_SECONDS (8 hours unless configured).

Policies are declared on servicer methods with `@public` or `@requires(role, ...)`; a method
without one needs a valid token with any role. Finer checks (agency ownership) are the service
layer's authorisation hooks, using `Principal`.

Clocks disagree: a token issued by a machine a few seconds ahead carries an `iat` (and maybe an
`nbf`) in this server's future, and one a few seconds behind sees `exp` pass early. The verifier
allows `leeway` seconds on `iat`, `nbf` and `exp` alike (RFC 7519 §4.1.4-4.1.6: "implementers MAY
provide for some small leeway, usually no more than a few minutes, to account for clock skew").
"""

from __future__ import annotations

import argparse
import contextvars
import time
from dataclasses import dataclass, field

import jwt

from .errors import PermissionDenied, Unauthenticated, Unavailable

# Roles the platform knows. A token may carry several.
DESK_OFFICER = "desk_officer"          # cán bộ tiếp nhận tại Bộ phận Một cửa
PROCESSING_OFFICER = "processing_officer"  # chuyên viên xử lý
UNIT_LEADER = "unit_leader"            # lãnh đạo đơn vị: assigns, reassigns, approves extensions
AGENCY_ADMIN = "agency_admin"          # quản trị của cơ quan
CITIZEN = "citizen"                    # tổ chức, cá nhân (online portal)
SERVICE = "service"                    # another service or an integration partner's system
ROLES = frozenset({DESK_OFFICER, PROCESSING_OFFICER, UNIT_LEADER, AGENCY_ADMIN, CITIZEN, SERVICE})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    agency: str = ""

    def has_any(self, roles) -> bool:
        return bool(self.roles & set(roles))

    def require_agency(self, unit_code: str, *, action: str) -> None:
        """Authorisation hook: the caller must act for `unit_code`; SERVICE principals may act for any."""
        if SERVICE in self.roles or self.agency == unit_code:
            return
        raise PermissionDenied(
            "OTHER_AGENCY",
            f"{self.subject} acts for agency {self.agency or '(none)'} and may not {action} for unit {unit_code}",
            metadata={"caller_agency": self.agency, "unit_code": unit_code})


@dataclass(frozen=True)
class Policy:
    public: bool = False
    roles: frozenset[str] = frozenset()  # empty: any authenticated caller

    def check(self, principal: Principal | None, method: str) -> None:
        if self.public:
            return
        if principal is None:
            raise Unauthenticated("TOKEN_MISSING",
                                  f"{method} needs a bearer token: send metadata 'authorization: Bearer <jwt>'")
        if self.roles and not principal.has_any(self.roles):
            raise PermissionDenied("ROLE_REQUIRED",
                                   f"{method} needs one of the roles {sorted(self.roles)}; "
                                   f"the token has {sorted(principal.roles)}",
                                   metadata={"required_roles": ",".join(sorted(self.roles))})


AUTHENTICATED = Policy()
PUBLIC = Policy(public=True)
_POLICY_ATTR = "__onestop_policy__"


def public(method):
    setattr(method, _POLICY_ATTR, PUBLIC)
    return method


def requires(*roles: str):
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(method):
        setattr(method, _POLICY_ATTR, Policy(roles=frozenset(roles)))
        return method
    return decorate


def policy_of(method) -> Policy:
    return getattr(method, _POLICY_ATTR, AUTHENTICATED)


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def current_principal() -> Principal | None:
    return _current.get()


def set_current_principal(principal: Principal | None) -> contextvars.Token:
    return _current.set(principal)


# Seconds of clock skew allowed on iat, nbf and exp unless configured (JWT_LEEWAY_SECONDS), and
# the most a setting may allow: a leeway also lengthens every token's life by as much.
DEFAULT_LEEWAY_SECONDS = 30
MAX_LEEWAY_SECONDS = 300
# The longest a token may live, exp - iat (JWT_MAX_LIFETIME_SECONDS): an officer's working day.
# A token whose only role is SERVICE is a process's credential (SERVICE_TOKEN, read once when the
# process first calls a peer), so it may live longer (JWT_MAX_SERVICE_LIFETIME_SECONDS).
DEFAULT_MAX_LIFETIME_SECONDS = 8 * 3600
DEFAULT_MAX_SERVICE_LIFETIME_SECONDS = 30 * 24 * 3600
# JWKS: how long the identity provider's key set is kept (JWT_JWKS_CACHE_SECONDS), the least time
# between two fetches forced by an unknown `kid` (so tokens with made-up kids cannot make every call
# hit the identity provider), and how long one fetch may take.
DEFAULT_JWKS_CACHE_SECONDS = 300
DEFAULT_JWKS_COOLDOWN_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 2.0
JWKS_ALGORITHMS = ("RS256", "ES256")  # asymmetric only: a key set never holds a shared secret


class TokenVerifier:
    """Verifies bearer JWTs: signature, audience, issuer, `sub`, `iat` and `exp` required, exp - iat
    at most `max_lifetime` seconds (`max_service_lifetime` for a token whose only role is SERVICE);
    `iat`, `nbf` and `exp` are compared with this server's clock allowing `leeway` seconds (0 to
    MAX_LEEWAY_SECONDS) of skew either way.

    The key is one of: `secret` (HS256, local stack), `public_key` (PEM, RS256/ES256) or `jwks_url`
    (the identity provider's published key set, RFC 7517, through PyJWT's PyJWKClient: RS256/ES256,
    the token's `kid` names the key; a `kid` not in the cached set makes the client fetch the set
    again, at most once per `jwks_cooldown` seconds, which is how a rotated key is picked up)."""

    def __init__(self, *, secret: str = "", public_key: str = "", jwks_url: str = "", audience: str = "onestop",
                 issuer: str = "", leeway: float = DEFAULT_LEEWAY_SECONDS,
                 max_lifetime: float = DEFAULT_MAX_LIFETIME_SECONDS,
                 max_service_lifetime: float = DEFAULT_MAX_SERVICE_LIFETIME_SECONDS,
                 jwks_cache_seconds: float = DEFAULT_JWKS_CACHE_SECONDS,
                 jwks_cooldown: float = DEFAULT_JWKS_COOLDOWN_SECONDS):
        if sum(map(bool, (secret, public_key, jwks_url))) != 1:
            raise ValueError("TokenVerifier needs exactly one of a secret, a public key or a JWKS URL")
        if not 0 <= leeway <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"the JWT leeway must be between 0 and {MAX_LEEWAY_SECONDS} seconds, not {leeway}")
        if (public_key or jwks_url) and not jwt.algorithms.has_crypto:
            raise RuntimeError("JWT_PUBLIC_KEY_FILE and JWT_JWKS_URL need the 'cryptography' package (pyjwt[crypto])")
        self._key = public_key or secret
        self._jwks = jwt.PyJWKClient(jwks_url, lifespan=jwks_cache_seconds, timeout=JWKS_TIMEOUT_SECONDS,
                                     cooldown_duration=jwks_cooldown) if jwks_url else None
        self._algorithms = list(JWKS_ALGORITHMS) if (public_key or jwks_url) else ["HS256"]
        self._audience = audience
        self._issuer = issuer or None
        self._leeway = leeway
        self._max_lifetime, self._max_service_lifetime = max_lifetime, max_service_lifetime

    @classmethod
    def from_settings(cls, settings) -> TokenVerifier:
        public_key = ""
        if settings.jwt_public_key_file:
            with open(settings.jwt_public_key_file, encoding="utf-8") as fh:
                public_key = fh.read()
        return cls(secret=settings.jwt_secret, public_key=public_key, jwks_url=settings.jwt_jwks_url,
                   audience=settings.jwt_audience, issuer=settings.jwt_issuer, leeway=settings.jwt_leeway_seconds,
                   max_lifetime=settings.jwt_max_lifetime_seconds,
                   max_service_lifetime=settings.jwt_max_service_lifetime_seconds,
                   jwks_cache_seconds=settings.jwt_jwks_cache_seconds,
                   jwks_cooldown=settings.jwt_jwks_cooldown_seconds)

    def principal_from_header(self, authorization: str | None) -> Principal | None:
        """None when there is no header; raises Unauthenticated for a header that is not a valid token."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("TOKEN_MALFORMED", "the authorization metadata must be 'Bearer <jwt>'")
        return self.verify(token.strip())

    def _signing_key(self, token: str):
        """The key to check `token` with: the secret, the public key, or the JWKS key its `kid` names.
        Raises Unauthenticated TOKEN_INVALID (not a JWT, or an algorithm JWKS keys never use) or
        UNKNOWN_KEY; Unavailable JWKS_UNAVAILABLE when the identity provider's key set cannot be read."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise Unauthenticated("TOKEN_INVALID", f"the bearer token is not a JWT: {exc}") from None
        if self._jwks is None:
            return self._key
        if header.get("alg") not in JWKS_ALGORITHMS:
            raise Unauthenticated("TOKEN_INVALID", f"the bearer token is signed with {header.get('alg')!r}; "
                                  f"the identity provider's tokens are signed with one of {list(JWKS_ALGORITHMS)}")
        kid = header.get("kid")
        try:
            if not isinstance(kid, str) or not kid:
                raise jwt.PyJWKClientError("no kid")
            return self._jwks.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable("JWKS_UNAVAILABLE", f"the identity provider's keys could not be read ({exc}); "
                              "try again shortly") from None
        except jwt.PyJWKClientError:
            raise Unauthenticated(
                "UNKNOWN_KEY", f"the bearer token is signed with key {kid!r}, which the identity provider does "
                "not publish (JWT_JWKS_URL): get a new token from the identity provider",
                metadata={"kid": str(kid)}) from None
        except jwt.PyJWKSetError as exc:
            raise Unavailable("JWKS_UNAVAILABLE", f"the identity provider's key set is not usable: {exc}") from None

    def verify(self, token: str) -> Principal:  # long: one except per reason a person can act on
        """The token's principal. Raises Unauthenticated TOKEN_EXPIRED (exp more than the leeway
        ago), TOKEN_NOT_YET_VALID (iat or nbf more than the leeway ahead of this server's clock),
        WRONG_AUDIENCE, WRONG_ISSUER, UNKNOWN_KEY (a kid the JWKS does not hold), TOKEN_CLAIM_MISSING
        (sub, iat or exp), TOKEN_TOO_LONG_LIVED (exp - iat above the maximum lifetime),
        or TOKEN_INVALID (not a JWT, signature, other claims); Unavailable JWKS_UNAVAILABLE."""
        key = self._signing_key(token)
        try:
            claims = jwt.decode(token, key, algorithms=self._algorithms, audience=self._audience,
                                issuer=self._issuer, options={"require": ["sub", "iat", "exp"]}, leeway=self._leeway)
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired: get a new one") from None
        except jwt.ImmatureSignatureError as exc:
            claim = "nbf" if "(nbf)" in str(exc) else "iat"
            raise Unauthenticated(
                "TOKEN_NOT_YET_VALID",
                f"the bearer token is not valid yet: its {claim} is more than {self._leeway:g} s ahead of this "
                "server's clock; check the clock of the machine that issued it (or JWT_LEEWAY_SECONDS)",
                metadata={"claim": claim, "leeway_seconds": f"{self._leeway:g}"}) from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("WRONG_AUDIENCE", f"the bearer token is not for this platform: its audience "
                                  f"(aud) must be {self._audience!r} (JWT_AUDIENCE)",
                                  metadata={"audience": self._audience}) from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("WRONG_ISSUER", f"the bearer token was not issued by {self._issuer!r} "
                                  "(JWT_ISSUER): get one from that identity provider",
                                  metadata={"issuer": self._issuer or ""}) from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated("TOKEN_CLAIM_MISSING", f"the bearer token has no {exc.claim!r} claim; tokens "
                                  "must carry sub, iat and exp", metadata={"claim": exc.claim}) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated("TOKEN_INVALID", f"the bearer token is not valid: {exc}") from None
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("TOKEN_INVALID", "the token's 'roles' claim must be a list of strings")
        self._check_lifetime(claims, roles)
        return Principal(subject=str(claims["sub"]), roles=frozenset(roles), agency=str(claims.get("agency", "")))

    def _check_lifetime(self, claims: dict, roles: list[str]) -> None:
        """Unauthenticated TOKEN_TOO_LONG_LIVED when exp - iat exceeds the maximum for the token's roles."""
        limit = self._max_service_lifetime if set(roles) == {SERVICE} else self._max_lifetime
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > limit:
            raise Unauthenticated(
                "TOKEN_TOO_LONG_LIVED", f"the bearer token lives {lifetime:g} s (exp - iat), more than the "
                f"{limit:g} s this platform accepts: ask the identity provider for a shorter-lived token",
                metadata={"lifetime_seconds": f"{lifetime:g}", "max_lifetime_seconds": f"{limit:g}"})


def mint_token(secret: str, *, subject: str, roles, agency: str = "", ttl_seconds: int = 3600,
               audience: str = "onestop", issuer: str = "", now: float | None = None) -> str:
    """An HS256 token for the local stack, tests and demos. Production tokens come from the IdP.
    `now` (Unix seconds) stands for the issuing machine's clock: iat = now, exp = now + ttl."""
    now = int(time.time() if now is None else now)
    claims = {"sub": subject, "roles": list(roles), "agency": agency, "aud": audience,
              "iat": now, "exp": now + ttl_seconds}
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def service_token(settings) -> str:
    """The bearer token a service presents to other services: SERVICE_TOKEN when set (production,
    from the identity provider, role SERVICE only), otherwise a SERVICE token minted from JWT_SECRET
    (local mode only: production refuses JWT_SECRET) that lives JWT_MAX_SERVICE_LIFETIME_SECONDS."""
    if settings.service_token:
        return settings.service_token
    if not settings.jwt_secret:
        raise RuntimeError("SERVICE_TOKEN must be set: with JWT_JWKS_URL or JWT_PUBLIC_KEY_FILE this service "
                           "cannot sign "
                           "its own token for calling other services")
    return mint_token(settings.jwt_secret, subject=f"{settings.service_name}-service", roles=[SERVICE],
                      ttl_seconds=int(settings.jwt_max_service_lifetime_seconds), audience=settings.jwt_audience,
                      issuer=settings.jwt_issuer)


def token_cli(argv: list[str] | None = None) -> None:
    """`onestop-token`: prints a bearer token signed with JWT_SECRET (or the local default)."""
    from .config import ServiceSettings, load_or_exit

    parser = argparse.ArgumentParser(description="Print a bearer JWT for the local stack.")
    parser.add_argument("--subject", default="demo-officer")
    parser.add_argument("--roles", default=DESK_OFFICER, help=f"comma-separated, of {sorted(ROLES)}")
    parser.add_argument("--agency", default="000.00.21.H17", help="unit code the holder acts for")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="seconds of validity")
    args = parser.parse_args(argv)
    settings = load_or_exit(ServiceSettings)
    roles = [r for r in args.roles.split(",") if r]
    unknown = set(roles) - ROLES
    if unknown:
        parser.error(f"unknown roles {sorted(unknown)}")
    limit = settings.jwt_max_service_lifetime_seconds if set(roles) == {SERVICE} else settings.jwt_max_lifetime_seconds
    if args.ttl > limit:
        parser.error(f"--ttl {args.ttl} is longer than the {limit:g} s the services accept (JWT_MAX_LIFETIME_SECONDS)")
    print(mint_token(settings.jwt_secret, subject=args.subject, roles=roles, agency=args.agency,
                     ttl_seconds=args.ttl, audience=settings.jwt_audience, issuer=settings.jwt_issuer))
