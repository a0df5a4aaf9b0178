"""Content written as files (courses/, question_banks/, simulations/): read, validate all
at once, and upsert into the database by slug.

Content is low level: it knows the catalogue of service items and the file formats it
reads, and no feature. Each feature that owns a kind of content file registers it with
one call when the app starts (`academy.register_content_kinds`, also used by tests):

    from academy import content
    content.register("question_banks", validate=validate_bank, sync=sync_banks)

- ``validate(display, data, bundle) -> list[Problem]`` checks one parsed YAML file
  (``display`` is its path relative to the content root; ``bundle.known_slugs`` the items
  it may refer to). Every problem is collected; nothing is written while any remains.
- ``sync(docs) -> report`` upserts the valid files of that folder (flush only; the caller
  commits). The report has ``changed`` and ``line()`` (one summary line, or None).

Folders are read, and synced after the catalogue, in the order they were registered. A
folder registered with ``sync=None`` is validated only.
"""

from pathlib import Path

from flask import current_app


def content_root() -> Path:
    configured = current_app.config.get("CONTENT_ROOT")
    return Path(configured) if configured else Path(current_app.root_path).parent


def register(folder: str, *, validate, sync=None) -> None:
    """Make ``folder`` a kind of content: checked by ``validate``, written by ``sync``."""
    from academy.content import loader
    from academy.content import sync as sync_module

    loader.VALIDATORS[folder] = validate
    if sync is None:
        sync_module.SYNCERS.pop(folder, None)
    else:
        sync_module.SYNCERS[folder] = sync
