"""Request lifecycle: one commit per successful request, security headers."""

from __future__ import annotations

from flask import Flask, Response

from academy import conflicts
from academy.extensions import db
from academy.navigation import main_menu
from academy.xlsx import excerpt


def register(app: Flask) -> None:
    from academy.timefmt import local_time

    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_time, "beijing")  # the older name of the same rule

    @app.before_request
    def _public_address() -> None:
        from flask import session

        from academy.public_address import note_public_address

        if session.get("_user_id"):  # a signed-in user's request, not a stranger's Host header
            note_public_address()

    @app.after_request
    def _commit(response: Response) -> Response:
        # The handler commits once at the end; services only flush. Error
        # responses (and anything an error handler produced) are rolled back.
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    _hide_dev_server_version()
    # Messages about bad input show a short excerpt of it, never the whole (a 400 MB cell).
    app.jinja_env.filters["short"] = lambda text, limit=200: excerpt(text, limit)
    app.jinja_env.globals["edit_token_input"] = conflicts.token_input
    app.jinja_env.globals["main_menu"] = main_menu
    hsts = app.config.get("HSTS_SECONDS")

    @app.after_request
    def _headers(response: Response) -> Response:
        if response.status_code in _REDIRECTS and response.location:
            # Werkzeug writes a small HTML page under every redirect; browsers never show
            # it (as Django, send none): fewer bytes on a phone, one write less per POST.
            response.set_data(b"")
        # No software or version in Server (waitress keeps the app's; gunicorn sends its
        # bare name; Werkzeug's own header is replaced below).
        response.headers["Server"] = "academy"
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; frame-ancestors 'self'",
        )
        return response


_REDIRECTS = frozenset((301, 302, 303, 307, 308))


def _hide_dev_server_version() -> None:
    """``flask run`` (what ``make run`` serves) sends ``Server: Werkzeug/x Python/y``
    whatever the app says: name no software and no version there either."""
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.version_string = lambda _self: "academy"
