"""The public pages' one base page (templates/base.html: the header, the shared phone-sized style,
the navigation) and the Jinja2 environment a service renders its pages with. Pure Jinja2 (no nameko:
the pages' modules stay importable in unit tests); `onestop_chassis.web` serves what they render.

A service's page templates live in `<its package>/templates` and `{% extends "base.html" %}`; its
own style rules, if any, go in `site.css` beside them (included in the base's <style>, so the
page's Content-Security-Policy hash covers them), and `nav` gives the header's links."""

from __future__ import annotations

from collections.abc import Sequence

import jinja2

BASE = "base.html"


def page_environment(package: str, *, nav: Sequence[tuple[str, str]] = ()) -> jinja2.Environment:
    """An autoescaping environment over `package`'s `templates` folder, then the chassis's (the base
    page). `nav`: (href, text) of each header link, in order; empty: no navigation."""
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader(package, "templates"),
                                  jinja2.PackageLoader("onestop_chassis", "templates")])
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]))
    env.globals["site_nav"] = tuple(nav)
    return env
