"""URL-safe slugs derived from titles, never empty."""

from __future__ import annotations

import re
import secrets
import unicodedata

MAX_LENGTH = 80
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def short_id(length: int = 6) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def slugify(title: str) -> str:
    """ "Crème Brûlée!" -> "creme-brulee". Accents are transliterated by decomposition;
    a title with no Latin letters at all (Cyrillic, CJK) becomes "article-<short id>"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _NOT_ALLOWED.sub("-", ascii_title.lower()).strip("-")[:MAX_LENGTH].strip("-")
    return slug or f"article-{short_id()}"


def with_suffix(slug: str) -> str:
    """The slug made unique after a collision: "creme-brulee-x7k2qa"."""
    return f"{slug[: MAX_LENGTH - 7]}-{short_id()}"
