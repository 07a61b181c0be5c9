"""The total a short page tells, checked against every page of a known list."""

from __future__ import annotations

from keelbase.services.records.listing import ListParams, known_total


def page_rows(total: int, params: ListParams) -> int:
    return max(0, min(params.per_page, total - params.offset))


def test_short_pages_tell_the_total_and_nothing_else_guesses() -> None:
    for total in (0, 1, 29, 30, 31, 95):
        for per_page in (1, 7, 30):
            for page in range(1, 8):
                params = ListParams(page=page, per_page=per_page)
                known = known_total(page_rows(total, params), params)
                assert known is None or known == total, (total, per_page, page)
                if 0 < page_rows(total, params) < per_page or (page == 1 and total == 0):
                    assert known == total


def test_a_full_page_or_an_empty_page_past_the_start_needs_a_count() -> None:
    assert known_total(30, ListParams(page=1, per_page=30)) is None
    assert known_total(0, ListParams(page=3, per_page=30)) is None
