"""Public endpoints that strangers can call (issue 9, kind 8): who the client is, the lookup and
ticket budgets, secrets kept out of logs and URLs, the pages' security headers, and replays bound
to their submitter."""

from __future__ import annotations

import dataclasses
import io
import json
import logging

import pytest
import structlog
from test_intake_service import OFFICER, PROCEDURE, UNIT, _cmd, catalogue, dossiers, intake, sequence  # noqa: F401 - fixtures below  # noqa: F401
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from onestop_chassis import auth, logs, page_security, ratelimits
from onestop_chassis.errors import AlreadyExists, NotFound, PermissionDenied, ResourceExhausted, Unavailable
from onestop_intake.demo_data import DISTRICT, DISTRICT_OFFICES, PROVINCE, UNITS
from onestop_intake.public import lookup_limits, pages
from onestop_intake.queue.api import TicketLimits
from onestop_intake.reception import domain, service
from onestop_intake.units import domain as units
from onestop_intake.units import service as unit_service

from fakes import FakeCatalogue

TRUSTED = ratelimits.parse_networks("10.0.0.0/8, 127.0.0.1")


# --- who the client is -----------------------------------------------------------------------------
@pytest.mark.parametrize("peer, forwarded, expected", [
    ("ipv4:203.0.113.7:5123", "", "203.0.113.7"),
    ("ipv6:[2001:db8::1]:443", "", "2001:db8::1"),
    ("203.0.113.7", "", "203.0.113.7"),                              # werkzeug's remote_addr
    ("ipv4:203.0.113.7:5123", "198.51.100.1", "203.0.113.7"),         # not a proxy: its header is ignored
    ("ipv4:127.0.0.1:5123", "198.51.100.1", "198.51.100.1"),           # the trusted proxy's client
    ("ipv4:10.1.2.3:5123", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"),  # forged hops on the left
    ("ipv4:127.0.0.1:5123", "not-an-address", "127.0.0.1"),             # garbled: count the proxy
    ("ipv4:127.0.0.1:5123", "10.0.0.2", "127.0.0.1"),                   # only proxies: the peer
])
def test_the_client_address_believes_forwarded_for_only_from_trusted_proxies(peer, forwarded, expected):
    assert ratelimits.client_address(peer, forwarded, TRUSTED) == expected


def test_trusted_proxies_are_checked_when_the_settings_load():
    from onestop_chassis.config import ConfigError, ServiceSettings, load_settings
    with pytest.raises(ConfigError) as bad:
        load_settings(ServiceSettings, trusted_proxies="10.0.0.0/8, proxy.local")
    assert "TRUSTED_PROXIES" in bad.value.message and "proxy.local" in bad.value.message
    assert load_settings(ServiceSettings, trusted_proxies="10.0.0.0/8").trusted_networks == TRUSTED[:1]


# --- the lookup budgets ----------------------------------------------------------------------------
CODE = "000.00.21.H17-261117-0001"


def _no_match():
    raise NotFound("NO_MATCH", "no dossier matches")


def _attempt(limits, client, code=CODE, find=_no_match):
    try:
        return limits.guarded(client=client, code=code, find=find)
    except (NotFound, ResourceExhausted, Unavailable) as exc:
        return exc.reason


def test_a_stranger_guessing_never_locks_the_owner_out():
    """The issue's example: ten (and a hundred) wrong secrets for a code from one address used to
    lock the code for an hour, for everyone, its owner included."""
    limits = lookup_limits.LookupLimits()
    answers = [_attempt(limits, "198.51.100.66") for _ in range(12)]
    assert answers == ["NO_MATCH"] * 10 + ["RATE_LIMITED"] * 2
    for stranger in range(2, 12):  # more strangers, each with their own budget
        for _ in range(10):
            _attempt(limits, f"198.51.100.{stranger}")
    assert _attempt(limits, "203.0.113.5", find=lambda: "the dossier") == "the dossier"


def test_the_per_code_budget_is_per_client_and_the_code_is_spelled_any_way():
    limits = lookup_limits.LookupLimits()
    for spelling in [CODE, CODE.lower(), f"  {CODE} "] * 4:
        last = _attempt(limits, "198.51.100.7", code=spelling)
    assert last == "RATE_LIMITED"
    assert _attempt(limits, "198.51.100.7", code="000.00.21.H17-261117-0002") == "NO_MATCH"


def test_a_client_has_one_budget_of_mismatches_over_all_codes():
    limits = lookup_limits.LookupLimits()
    answers = [_attempt(limits, "198.51.100.8", code=f"000.00.21.H17-261117-{n:04d}") for n in range(32)]
    assert answers == ["NO_MATCH"] * 30 + ["RATE_LIMITED"] * 2
    refused = pytest.raises(ResourceExhausted, limits.guarded, client="198.51.100.8", code=CODE,
                            find=lambda: "never looked up")
    assert refused.value.metadata["limit"] == "mismatches"
    assert 1 <= refused.value.retry_after <= 3600
    assert refused.value.metadata["retry_after_seconds"] == str(int(refused.value.retry_after))


@pytest.mark.parametrize("failure", [
    Unavailable("DATABASE_UNAVAILABLE", "the store is down"),
    ConnectionError("connection refused"),
    service.FailedPrecondition("RESULT_NOT_READY", "not ready"),
])
def test_outages_and_results_not_ready_count_no_mismatch(failure):
    limits = lookup_limits.LookupLimits()

    def fail():
        raise failure
    for _ in range(15):
        with pytest.raises(type(failure)):
            limits.guarded(client="198.51.100.9", code=CODE, find=fail)
    assert _attempt(limits, "198.51.100.9") == "NO_MATCH"  # the budget is untouched


def test_sixty_lookups_a_minute_per_client_whatever_the_outcome():
    limits = lookup_limits.LookupLimits()
    found = [_attempt(limits, "198.51.100.10", find=lambda: "ok") for _ in range(61)]
    assert found == ["ok"] * 60 + ["RATE_LIMITED"]
    assert _attempt(limits, "198.51.100.11", find=lambda: "ok") == "ok"


def test_a_right_secret_for_a_result_not_ready_yet_counts_nothing(intake, dossiers):  # noqa: F811 - fixture
    dossier = intake.submit(_cmd(), OFFICER).dossier
    dossiers.by_code = {dossier.code: dossier}.get
    limits = lookup_limits.LookupLimits()
    for _ in range(12):
        with pytest.raises(service.FailedPrecondition):
            limits.guarded(client="198.51.100.12", code=dossier.code,
                           find=lambda: intake.finished(dossier.code, dossier.lookup_secret))
    assert limits.guarded(client="198.51.100.12", code=dossier.code,
                          find=lambda: intake.lookup(dossier.code, dossier.lookup_secret)) == dossier


# --- queue tickets ---------------------------------------------------------------------------------
def test_an_anonymous_client_gets_three_tickets_an_hour_over_all_units():
    """The issue's example: one anonymous client took 300 tickets in 11 s."""
    limits = TicketLimits(kiosks=ratelimits.parse_networks("192.0.2.0/28"))
    for unit in ("000.00.21.H17", "000.40.21.H17", "000.00.21.H17"):
        limits.spend("198.51.100.20", unit)
    with pytest.raises(ResourceExhausted) as refused:
        limits.spend("198.51.100.20", "000.00.12.H17")
    error = refused.value
    assert (error.reason, error.metadata["limit"]) == ("TICKET_RATE_LIMITED", "client")
    assert error.retry_after >= 1 and "Vui lòng thử lại sau" in error.metadata["message_vi"]
    limits.spend("198.51.100.21", "000.00.21.H17")  # another client is not affected


def test_a_kiosk_prints_thirty_a_minute_per_unit_and_strangers_do_not_spend_its_budget():
    limits = TicketLimits(kiosks=ratelimits.parse_networks("192.0.2.0/28"), per_kiosk="30/minute")
    refused = 0
    for n in range(40):  # strangers press as often as they like: only their own budgets go
        try:
            limits.spend(f"198.51.100.{n % 4 + 30}", "000.00.21.H17")
        except ResourceExhausted:
            refused += 1
    assert refused == 40 - 4 * 3
    for _ in range(30):
        limits.spend("192.0.2.5", "000.00.21.H17")
    with pytest.raises(ResourceExhausted) as refused:
        limits.spend("192.0.2.5", "000.00.21.H17")
    assert refused.value.metadata["limit"] == "kiosk"
    limits.spend("192.0.2.5", "000.40.21.H17")  # its budget is per unit
    limits.spend("192.0.2.6", "000.00.21.H17")  # and per kiosk


def test_ticket_limits_are_settings():
    from onestop_chassis.config import ConfigError, load_settings
    from onestop_intake.config import IntakeSettings
    with pytest.raises(ConfigError) as bad:
        load_settings(IntakeSettings, tickets_per_client="lots")
    assert "TICKETS_PER_CLIENT" in bad.value.message
    settings = load_settings(IntakeSettings, queue_kiosks="192.0.2.0/28", tickets_per_client="1/hour")
    assert (settings.queue_kiosks, settings.tickets_per_client) == ("192.0.2.0/28", "1/hour")


# --- secrets stay out of logs ----------------------------------------------------------------------
def _log_lines(emit) -> list[str]:
    stream = io.StringIO()
    logs.configure_logging("intake", "worker", stream=stream)
    try:
        emit()
    finally:
        structlog.reset_defaults()
        logs.configure_logging("test", "test")
    return stream.getvalue().splitlines()


def test_no_secret_reaches_a_log_line():
    secret, jwt = "K7M2P9QX", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    def emit():
        # eventlet's access log of a GET with the secret in its URL, through the stdlib
        logging.getLogger("nameko.web.server").info(
            f'127.0.0.1 - - [30/Nov/2026] "GET /tra-cuu?ma={CODE}&ma_tra_cuu={secret} HTTP/1.1" 303 0 0.001')
        logs.get_logger("onestop.intake").info("lookup", lookup_secret=secret, detail=f"secret={secret}")
        logs.get_logger("onestop.intake").warning("call", metadata=f"authorization: Bearer {jwt}",
                                                  detail="GetCase needs a bearer token: send one")
        try:
            raise RuntimeError(f"https://minio/b/k?X-Amz-Signature={secret}&X-Amz-Expires=300")
        except RuntimeError:
            logs.get_logger("onestop.intake").exception("failed")
    lines = _log_lines(emit)
    assert len(lines) == 4 and all(json.loads(line) for line in lines)
    text = "\n".join(lines)
    assert secret not in text and jwt not in text
    assert CODE in text and "ma_tra_cuu=[redacted]" in text and "Bearer [redacted]" in text
    assert "X-Amz-Expires=300" in text and "needs a bearer token: send one" in text  # only secrets go


# --- the pages' security headers -------------------------------------------------------------------
def _headers(app, method="GET", path="/"):
    body, status, headers = run_wsgi_app(app, EnvironBuilder(method=method, path=path).get_environ())
    return status, dict(headers), b"".join(body)


@pytest.mark.parametrize("status", [200, 404, 405, 500])
def test_every_response_of_the_web_server_carries_the_security_headers(status):
    def app(environ, start_response):
        return Response("<p>x</p>", status=status, mimetype="text/html")(environ, start_response)
    _, headers, _ = _headers(page_security.with_security_headers(app))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Security-Policy"] == page_security.STRICT_CSP
    assert "script-src" not in page_security.STRICT_CSP and "default-src 'none'" in page_security.STRICT_CSP


def test_a_page_allows_exactly_its_own_inline_styles():
    html = pages.lookup_page("")
    policy = page_security.content_security_policy(html)
    assert "style-src 'sha256-" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page_security.content_security_policy(html.replace("margin: 0", "margin: 1px")) != policy
    assert ' style="' not in html  # attributes would need 'unsafe-hashes'


def test_the_lookup_form_posts_and_keeps_no_secret_in_its_page():
    html = pages.lookup_page(CODE)
    assert '<form method="post" action="/tra-cuu">' in html and f'value="{CODE}"' in html
    assert 'name="ma_tra_cuu" value=""' in html


def test_a_rate_limited_page_says_when_to_retry_in_minutes():
    html = pages.lookup_page(CODE, error=ResourceExhausted("RATE_LIMITED", "too many", retry_after=125))
    assert "Vui lòng thử lại sau 3 phút." in html


# --- replays are bound to their submitter ----------------------------------------------------------
def test_another_citizen_with_the_same_request_id_and_content_gets_no_dossier(intake, dossiers):  # noqa: F811 - fixture
    """The issue's example: the second citizen got the first one's dossier, lookup secret included."""
    first_citizen = auth.Principal("citizen-1", frozenset({auth.CITIZEN}))
    second_citizen = auth.Principal("citizen-2", frozenset({auth.CITIZEN}))
    online = _cmd(channel=domain.Channel.ONLINE)
    first = intake.submit(online, first_citizen)
    with pytest.raises(AlreadyExists) as refused:
        intake.submit(online, second_citizen)
    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert first.dossier.lookup_secret not in str(refused.value) and first.dossier.code not in str(refused.value)
    again = intake.submit(online, first_citizen)
    assert again.replayed and again.dossier.lookup_secret == first.dossier.lookup_secret
    assert len(dossiers.stored) == 1


def test_another_officer_of_the_same_desk_does_not_replay_a_colleagues_request(intake, dossiers):  # noqa: F811 - fixture
    colleague = dataclasses.replace(OFFICER, subject="officer-2")
    intake.submit(_cmd(), OFFICER)
    with pytest.raises(AlreadyExists):
        intake.submit(_cmd(), colleague)
    assert len(dossiers.stored) == 1


def test_the_replay_owner_check_of_the_chassis():
    from onestop_chassis import request_ids
    request_ids.check_replay_owner("a", "a", "r-1")
    with pytest.raises(AlreadyExists) as refused:
        request_ids.check_replay_owner("a", "b", "r-1", "file")
    assert refused.value.reason == "REQUEST_ID_REUSED" and "new file" in refused.value.message


# --- receives_for needs the target agency's consent --------------------------------------------------
def _admin(agency: str) -> auth.Principal:
    return auth.Principal(f"admin-{agency}", frozenset({auth.AGENCY_ADMIN}), agency=agency)


NEW_DESK = units.Unit("000.40.22.H17", "Bộ phận Một cửa thứ hai", DISTRICT.code, units.UnitKind.DESK,
                       units.UnitLevel.DISTRICT)


@pytest.mark.parametrize("target", ["000.00.12.H17", "000.00.21.H17", PROVINCE.code, "000.01.13.H17"])
def test_a_district_admin_cannot_make_a_desk_receive_for_another_agency(target):
    """The issue's example: the district's admin made a desk "receive for" a provincial department."""
    store = FakeCatalogue(units=UNITS)
    desk = dataclasses.replace(NEW_DESK, receives_for=(DISTRICT_OFFICES[0].code, target))
    with pytest.raises(PermissionDenied) as refused:
        unit_service.UnitService(store).put(desk, _admin(DISTRICT.code))
    assert refused.value.reason == "RECEIVES_FOR_OTHER_AGENCY"
    assert refused.value.metadata["field"] == "unit.receives_for[1]"
    assert store.puts == [] and NEW_DESK.code not in store.units


def test_the_district_admin_may_receive_for_its_own_offices_and_keep_what_the_province_added():
    store = FakeCatalogue(units=UNITS)
    units_service = unit_service.UnitService(store)
    own = dataclasses.replace(NEW_DESK, receives_for=tuple(u.code for u in DISTRICT_OFFICES[:2]))
    assert units_service.put(own, _admin(DISTRICT.code)) == (own, True)
    # The province (an admin above both) extends it to a provincial department: its consent.
    extended = dataclasses.replace(own, receives_for=(*own.receives_for, "000.00.12.H17"))
    assert units_service.put(extended, _admin(PROVINCE.code)) == (extended, False)
    renamed = dataclasses.replace(extended, name="Bộ phận Một cửa (đổi tên)")
    assert units_service.put(renamed, _admin(DISTRICT.code)) == (renamed, False)


def test_the_demo_desks_can_be_written_by_their_own_admins():
    store = FakeCatalogue(units=UNITS)
    units_service = unit_service.UnitService(store)
    centre = store.units["000.00.21.H17"]
    district_desk = store.units["000.40.21.H17"]
    assert units_service.put(centre, _admin(PROVINCE.code))[0] == centre
    assert units_service.put(district_desk, _admin(DISTRICT.code))[0] == district_desk
    fresh = FakeCatalogue(units=[u for u in UNITS if u.code != district_desk.code])
    assert unit_service.UnitService(fresh).put(district_desk, _admin(DISTRICT.code)) == (district_desk, True)
