"""Quiz definitions as an attacking author would write them: image URLs that are
not images (``data:text/html``, SVG with script, ``javascript:``), huge base64,
gap markers nested, unbalanced or repeated, a description with points, lists
over their limits. Each is refused by ``PUT /admin/quizzes/{id}`` with 422
``quiz_invalid`` and a problem at its JSON pointer, and nothing is stored.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from quizsession.domain.quiz_images import MAX_IMAGE_BYTES, MAX_QUIZ_IMAGE_DATA
from tests.integration.conftest import Api
from testsupport.sample_kinds import sample_question, sample_quiz

Q = "/test/questions/0"
PNG = b"\x89PNG\r\n\x1a\n"


def png_url(size: int) -> str:
    raw = PNG + b"\0" * (size - len(PNG))
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def with_question(question: dict[str, Any]) -> dict[str, Any]:
    """A quiz of ``question`` (first) and a single-choice question."""
    quiz = sample_quiz()
    quiz["id"] = "hostile"
    quiz["test"] = {"questions": [question, sample_question("single")]}
    return quiz


def with_image(url: Any) -> dict[str, Any]:
    return with_question({**sample_question("description"), "images": [{"url": url, "alt": "x"}]})


BAD_URLS = [
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "data:image/png,rawbytes",
    "data:image/png;base64,@@@@",
    "data:image/png;base64,abc",  # not a multiple of 4
    "DATA:image/png;base64,AAAA",
    " data:image/png;base64,AAAA",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "vbscript:msgbox(1)",
    "http://example.org/x.png",
    "//example.org/x.png",
    "/relative.png",
    "https://",
    "https://exa mple.org/x.png",
    "https://example.org/x.png\njavascript:alert(1)",
    "https://" + "a" * 3000,
    "",
    png_url(MAX_IMAGE_BYTES + 1),
]


@pytest.mark.parametrize("url", BAD_URLS, ids=[u[:24] or "empty" for u in BAD_URLS])
async def test_an_image_url_that_is_not_a_safe_image_is_refused(api: Api, url: str) -> None:
    body = await api.refused(
        api.client.put("/admin/quizzes/hostile", json=with_image(url), headers=api.admin),
        422,
        "quiz_invalid",
    )
    assert [p["path"] for p in body["problems"]] == [f"{Q}/images/0/url"], body["problems"]


async def test_images_at_their_limits_are_accepted_and_over_them_refused(api: Api) -> None:
    ok = with_image(png_url(MAX_IMAGE_BYTES))
    r = await api.client.put("/admin/quizzes/hostile", json=ok, headers=api.admin)
    assert r.status_code == 200, r.text[:300]
    many = with_question(
        {**sample_question("description"), "images": [{"url": "https://e.org/i.png"}] * 21}
    )
    body = await api.refused(
        api.client.put("/admin/quizzes/hostile", json=many, headers=api.admin), 422, "quiz_invalid"
    )
    assert [p["path"] for p in body["problems"]] == [f"{Q}/images"]


def test_the_data_images_of_a_quiz_are_bounded_together() -> None:
    """10 images of 512 KiB a question, on a few questions: each within its
    limits, the quiz over ``MAX_QUIZ_IMAGE_DATA`` (a problem at the root)."""
    from quizsession.domain.errors import InvalidDefinition
    from quizsession.domain.quiz_validation import parse_quiz

    url = png_url(MAX_IMAGE_BYTES)
    count = MAX_QUIZ_IMAGE_DATA // (10 * len(url)) + 1
    questions = [
        {**sample_question("description"), "id": f"d{n}", "images": [{"url": url}] * 10}
        for n in range(count)
    ]
    parse_quiz(with_question(questions[0]))  # one alone is fine
    quiz = sample_quiz()
    quiz["test"] = {"questions": [*questions, sample_question("single")]}
    with pytest.raises(InvalidDefinition) as refused:
        parse_quiz(quiz)
    assert [p.path for p in refused.value.problems] == [""]


def cloze(text: str, gaps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    q = sample_question("cloze")
    q["text"] = text
    if gaps is not None:
        q["gaps"] = gaps
    return q


TEXT_GAP = {"id": "g", "kind": "short_text", "accepted": ["x"]}
BAD_DEFINITIONS: dict[str, tuple[dict[str, Any], str]] = {
    "unbalanced-open": (cloze("{{g", [TEXT_GAP]), f"{Q}/text"),
    "unbalanced-close": (cloze("g}}", [TEXT_GAP]), f"{Q}/text"),
    "marker-twice": (cloze("{{g}} {{g}}", [TEXT_GAP]), f"{Q}/text"),
    "marker-no-gap": (cloze("{{g}} {{h}}", [TEXT_GAP]), f"{Q}/text"),
    "gap-id-repeated": (cloze("{{g}}", [TEXT_GAP, TEXT_GAP]), f"{Q}/gaps/1/id"),
    "gap-id-odd": (cloze("{{a b}}", [{**TEXT_GAP, "id": "a b"}]), f"{Q}/gaps/0/id"),
    "gap-weight-0": (cloze("{{g}}", [{**TEXT_GAP, "weight": 0}]), f"{Q}/gaps/0/weight"),
    "gap-no-correct": (
        cloze(
            "{{g}}",
            [{"id": "g", "kind": "choice", "choices": [{"id": c, "text": c} for c in "ab"]}],
        ),
        f"{Q}/gaps/0/choices",
    ),
    "gap-key-of-another-kind": (cloze("{{g}}", [{**TEXT_GAP, "value": 3}]), f"{Q}/gaps/0/value"),
    "gaps-101": (
        cloze(
            " ".join(f"{{{{g{n}}}}}" for n in range(101)),
            [{**TEXT_GAP, "id": f"g{n}"} for n in range(101)],
        ),
        f"{Q}/gaps",
    ),
    "description-with-points": ({**sample_question("description"), "points": 1}, f"{Q}/points"),
    "description-with-choices": (
        {**sample_question("description"), "choices": sample_question("single")["choices"]},
        f"{Q}/choices",
    ),
    "matching-101-pairs": (
        {
            **sample_question("matching"),
            "pairs": [{"id": f"p{n}", "text": "t", "answer": "a"} for n in range(101)],
        },
        f"{Q}/pairs",
    ),
    "matching-pair-id-repeated": (
        {**sample_question("matching"), "pairs": [{"id": "p", "text": "t", "answer": "a"}] * 2},
        f"{Q}/pairs/1/id",
    ),
    "ordering-51-items": (
        {**sample_question("ordering"), "items": [{"id": f"i{n}", "text": "t"} for n in range(51)]},
        f"{Q}/items",
    ),
    "ordering-item-id-repeated": (
        {**sample_question("ordering"), "items": [{"id": "i", "text": "t"}] * 2},
        f"{Q}/items/1/id",
    ),
    "essay-word-limit-0": ({**sample_question("essay"), "word_limit": 0}, f"{Q}/word_limit"),
}


@pytest.mark.parametrize("name", sorted(BAD_DEFINITIONS))
async def test_a_hostile_definition_is_refused_and_nothing_is_stored(api: Api, name: str) -> None:
    question, path = BAD_DEFINITIONS[name]
    body = await api.refused(
        api.client.put("/admin/quizzes/hostile", json=with_question(question), headers=api.admin),
        422,
        "quiz_invalid",
    )
    assert path in [p["path"] for p in body["problems"]], body["problems"]


@pytest.mark.parametrize("text", ["{{{{g}}}}", "{{g{{g}}}}", "{{g}} }}{{", "{{ {{g}} }}"])
async def test_braces_around_a_marker_are_text(api: Api, text: str) -> None:
    """Braces that make no marker (``{{`` ``}}`` around a gap, or alone) are
    text: the question has its one gap, and the page finds the same one
    (``kinds/cloze.js`` takes a subset of the server's markers)."""
    r = await api.client.put(
        "/admin/quizzes/hostile", json=with_question(cloze(text, [TEXT_GAP])), headers=api.admin
    )
    assert r.status_code == 200, r.text
    quiz = (await api.client.get("/admin/quizzes/hostile", headers=api.admin)).json()
    [question, _] = quiz["test"]["questions"]
    assert question["text"] == text
    assert [g["id"] for g in question["gaps"]] == ["g"]
