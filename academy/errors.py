"""Error pages (Chinese) and JSON errors. A failed request rolls back its writes."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from academy.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回检查后重试。"),
    403: ("没有权限", "您的账号无权查看或操作此页面。如有需要，请联系县级管理员。"),
    404: ("页面不存在", "您要找的页面不存在，或者已被移除。请检查网址，或返回首页。"),
    405: ("操作方式不正确", "此页面不支持这种操作，请从页面上的按钮进入。"),
    413: ("文件太大", "上传的文件超过了允许的大小。"),
    429: ("操作太频繁", "您的操作太频繁，请稍后再试。"),
    503: ("系统繁忙", "系统正忙，您的操作没有保存，请稍等几秒后重试。"),
    500: (
        "系统出错了",
        "系统暂时出现问题，您的操作没有保存。请稍后重试；如反复出现，请联系管理员。",
    ),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400])
    if detail:
        message = detail
    if wants_json():
        return jsonify(error=title, message=message), code
    return render_template("error.html", code=code, title=title, message=message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err):
        db.session.rollback()
        return render_error(400, "页面已过期或来源不明（安全校验未通过），请刷新页面后重新提交。")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        db.session.rollback()
        if err.response is not None:  # a response made for it (a rate limit's own page)
            return err.response
        code = err.code or 500
        detail = getattr(err, "description_zh", None)
        return render_error(code, detail)

    @app.errorhandler(OperationalError)
    def _busy(err: OperationalError):
        # SQLite waited SQLITE_BUSY_TIMEOUT_MS for the write lock in vain: the request wrote
        # nothing, and trying again shortly succeeds. Anything else is a real error.
        db.session.rollback()
        if "database is locked" not in str(err.orig):
            return _unhandled(err)
        log.warning("SQLite busy on %s %s", request.method, request.path)
        response = make_response(render_error(503))
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(Exception)
    def _unhandled(err: Exception):
        db.session.rollback()
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)
