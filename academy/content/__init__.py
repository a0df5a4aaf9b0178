from pathlib import Path

from flask import current_app


def content_root() -> Path:
    configured = current_app.config.get("CONTENT_ROOT")
    return Path(configured) if configured else Path(current_app.root_path).parent
