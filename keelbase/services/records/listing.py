"""What every list endpoint shares: page, perPage, sort, filter and skipTotal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from keelbase.errors import BadRequestError, field_error

DEFAULT_PER_PAGE = 30
MAX_PAGE = 1_000_000_000  # keeps OFFSET inside 64 bits
MAX_PER_PAGE = 1000
MAX_SORT_FIELDS = 8
MAX_FILTER_LENGTH = 3500
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(frozen=True)
class ListParams:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: str = ""
    filter: str = ""
    skip_total: bool = False
    # values for {:name} placeholders in ``filter`` (server code only; never from a query string)
    filter_params: dict[str, Any] | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @classmethod
    def from_query(cls, query: dict[str, str]) -> ListParams:
        """PocketBase's reading: bad numbers are a 400, out-of-range ones are clamped."""
        page = _whole_number(query, "page", 1)
        per_page = _whole_number(query, "perPage", DEFAULT_PER_PAGE)
        skip_raw = query.get("skipTotal", "")
        if skip_raw and skip_raw not in _TRUE and skip_raw not in _FALSE:
            raise BadRequestError(data=_detail("skipTotal", "Must be a boolean."))
        filter_text = query.get("filter", "")
        if len(filter_text) > MAX_FILTER_LENGTH:
            raise BadRequestError(data=_detail("filter", "max filter length limit reached"))
        return cls(
            page=min(page, MAX_PAGE) if page > 0 else 1,
            per_page=min(per_page, MAX_PER_PAGE) if per_page > 0 else DEFAULT_PER_PAGE,
            sort=query.get("sort", ""),
            filter=filter_text,
            skip_total=skip_raw in _TRUE,
        )


def _whole_number(query: dict[str, str], key: str, default: int) -> int:
    raw = query.get(key) or ""
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise BadRequestError(data=_detail(key, "Must be a whole number.")) from error


def _detail(key: str, message: str) -> dict[str, Any]:
    """Our addition to PocketBase's bare 400: which parameter is wrong, and why."""
    return {key: field_error("validation_invalid_value", message)}


def invalid_query(key: str, message: str) -> BadRequestError:
    return BadRequestError(data=_detail(key, message))


def known_total(row_count: int, params: ListParams) -> int | None:
    """The total a short page already tells, which spares a COUNT that scans every match.

    A page with fewer rows than asked for is the last one, so the total is its
    offset plus its rows; only an empty page past the start leaves it unknown.
    """
    if row_count < params.per_page and (row_count > 0 or params.offset == 0):
        return params.offset + row_count
    return None


def page_result(items: list[Any], params: ListParams, total: int | None) -> dict[str, Any]:
    if total is None:
        total_items, total_pages = -1, -1
    else:
        total_items = total
        total_pages = math.ceil(total / params.per_page) if params.per_page else 0
    return {
        "items": items,
        "page": params.page,
        "perPage": params.per_page,
        "totalItems": total_items,
        "totalPages": total_pages,
    }


def parse_sort(sort: str) -> list[tuple[str, str]]:
    """``-a,+b,c`` → [("a", "DESC"), ("b", "ASC"), ("c", "ASC")]."""
    out: list[tuple[str, str]] = []
    for part in sort.split(","):
        part = part.strip()
        if not part:
            continue
        direction = "ASC"
        if part.startswith("-"):
            direction, part = "DESC", part[1:]
        elif part.startswith("+"):
            part = part[1:]
        if len(part) > 255:
            raise invalid_query("sort", "max sort field length limit reached")
        out.append((part, direction))
    if len(out) > MAX_SORT_FIELDS:
        raise invalid_query("sort", "max sort expressions limit reached")
    return out
