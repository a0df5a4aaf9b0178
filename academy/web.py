"""Request lifecycle: one commit per successful request, security headers."""

from __future__ import annotations

from flask import Flask, Response

from academy.extensions import db


def register(app: Flask) -> None:
    from academy.timefmt import local_time

    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_time, "beijing")  # the older name of the same rule

    @app.before_request
    def _public_address() -> None:
        from flask_login import current_user

        from academy.certification.documents import note_public_address

        if current_user.is_authenticated:  # not a stranger's Host header
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

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; frame-ancestors 'self'",
        )
        return response
