from keelbase.core.advisor.shapes import candidate, normalise_filter, normalise_sort

FIELDS = frozenset({"status", "score", "created", "title", "owner", "id"})


def test_literals_become_placeholders_and_structure_stays() -> None:
    text = "status = 'x' && (score > 5 || @request.auth.id = owner) && title ~ 'abc'"
    assert normalise_filter(text) == (
        "status = ? && (score > ? || @request.auth.id = owner) && title ~ ?"
    )
    assert normalise_filter("status='a'") == normalise_filter("status = 'b'")
    assert normalise_filter("") == ""
    assert normalise_filter("status = (") == "<invalid>"


def test_sort_spelling_is_one_shape() -> None:
    assert normalise_sort("+a, -b") == normalise_sort("a,-b") == "a,-b"


def test_candidate_orders_equality_sort_range() -> None:
    found = candidate("5 < score && status = 'x' && owner.title = 'a'", "-created,title", FIELDS)
    assert found.equality == ("status",)
    assert found.range == ("score",)
    assert found.columns == ("status", "created", "title", "score")


def test_candidate_ignores_or_relations_modifiers_and_functions() -> None:
    assert candidate("status = 'a' || score > 1", "", FIELDS).columns == ()
    assert candidate("title:lower = 'a' && owner.title = 'b'", "", FIELDS).columns == ()
    assert candidate("status != 'a' && status ?= 'b'", "", FIELDS).columns == ()
    assert candidate("owner = @request.auth.id", "", FIELDS).columns == ("owner",)
    assert candidate("status = title", "", FIELDS).columns == ()
    # a sort serves an index only from its leading plain columns
    assert candidate("", "owner.title,created", FIELDS).columns == ()


def test_a_search_predicate_is_a_shape_without_its_words() -> None:
    from keelbase.core.advisor.shapes import normalise_filter

    assert normalise_filter("search('red apples') && n > 3") == "search(?) && n > ?"
