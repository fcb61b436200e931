"""Rendering staff pages: the template engine with gettext, the page's locale, errors.

Every page is rendered with ``loc`` (a :class:`PageLocale`: texts, numbers and times in the
reader's language and the city's zone), ``labels`` (KB names of departments and FAQ
entries, words for outcomes and intents) and the languages the reader may switch to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from voicebot.accounts.principal import Principal
from voicebot.api.services import ApiServices
from voicebot.i18n.labels import Labels
from voicebot.i18n.negotiation import offered_languages, reader_language
from voicebot.i18n.page_locale import PageLocale

HERE = Path(__file__).parent
LANGUAGE_COOKIE = "voicebot_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    loc: PageLocale = context["loc"]
    return loc.gettext(message)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, count: int) -> str:
    loc: PageLocale = context["loc"]
    return loc.ngettext(singular, plural, count)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    # New-style gettext: {{ _("Calls on %(day)s", day=d) }} escapes and formats in one go.
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    return environment


templates = Jinja2Templates(env=_environment())


def services_of(request: Request) -> ApiServices:
    """The services the app was built with."""
    services: ApiServices = request.app.state.services
    return services


def page_locale(request: Request) -> PageLocale:
    """The reader's locale: the language chosen on the pages, else the browser's, else the
    city's default."""
    services = services_of(request)
    language = reader_language(
        services.kb_store.current().city,
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )
    return PageLocale.create(language, services.stats.timezone)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    loc: PageLocale | None = None,
) -> HTMLResponse:
    """``template`` rendered for the reader of ``request``, with the security headers."""
    services = services_of(request)
    loc = loc or page_locale(request)
    full = {
        "loc": loc,
        "labels": Labels(services.kb_store.current(), loc),
        "languages": offered_languages(services.kb_store.current().city),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "key": None,
        **context,
    }
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Language"] = loc.language
    return response


def render_fragment(
    request: Request, template: str, context: dict[str, Any], *, loc: PageLocale | None = None
) -> str:
    """``template`` as HTML text for the reader of ``request`` (a part of a page the
    script inserts, e.g. a console card arriving live)."""
    services = services_of(request)
    loc = loc or page_locale(request)
    full = {
        "loc": loc,
        "labels": Labels(services.kb_store.current(), loc),
        "key": None,
        **context,
    }
    return templates.env.get_template(template).render(full)


def error_page(
    request: Request,
    status_code: int,
    message: str,
    key: Principal | None = None,
    *,
    loc: PageLocale | None = None,
) -> HTMLResponse:
    """The error page (already translated ``message``), with the navigation of ``key``."""
    return render(
        request,
        "error.html",
        {"status": status_code, "message": message, "key": key},
        status_code,
        loc=loc,
    )
