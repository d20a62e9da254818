"""The finder alone: words, fuzzy, ranking, and answers that do not depend on history."""

from __future__ import annotations

from mfa_tui.tui.finder import Finder, Searchable

ROWS = [
    Searchable("acme-ml-prod-admin", "111122223333", "acme-ml-prod", "admin", "alice"),
    Searchable("acme-dev-admin", "444455556666", "acme-dev", "admin", "alice"),
    Searchable("globex-prod-readonly", "777788889999", "globex-prod", "readonly", "bob"),
    Searchable("mallory-lab", "", "", "", ""),
]


def names(finder: Finder, query: str) -> list[str]:
    return [ROWS[i].name for i in finder.find(query)]


def test_words_in_any_order_over_every_field() -> None:
    finder = Finder(ROWS)
    assert names(finder, "ml prod admin")[0] == "acme-ml-prod-admin"
    assert names(finder, "admin ml prod")[0] == "acme-ml-prod-admin"
    assert names(finder, "bob") == ["globex-prod-readonly"]
    assert names(finder, "8888") == ["globex-prod-readonly"]
    assert names(finder, "7777-8888-9999") == ["globex-prod-readonly"]
    assert names(finder, "") == [r.name for r in ROWS]
    assert names(finder, "zzz") == []


def test_whole_words_rank_above_fuzzy_letters() -> None:
    finder = Finder(ROWS)
    found = names(finder, "ml")
    # "ml" is a word of acme-ml-prod; mallory-lab only has the letters in order.
    assert found[0] == "acme-ml-prod-admin" and "mallory-lab" in found


def test_an_answer_does_not_depend_on_what_was_typed_before() -> None:
    typed = Finder(ROWS)
    for query in ("a", "ad", "adm", "admi", "admin", "admin ", "admin a", "admin al"):
        typed.find(query)
    assert names(typed, "admin al") == names(Finder(ROWS), "admin al")
    for query in ("admin a", "admin", "adm", "a", ""):
        assert names(typed, query) == names(Finder(ROWS), query)
