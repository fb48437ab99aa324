"""The pure parts of LTI: sealed values (state, deep linking choice), roles,
candidate ids, the score URL and the tool key's ``kid``."""

from __future__ import annotations

import pytest

from quizsession.adapters.lti.ags import scores_url
from quizsession.adapters.lti.keys import ToolKey, ToolKeys, generate_pem
from quizsession.app.lti.launch import candidate_id_for, display_name, is_instructor
from quizsession.app.lti.state import SignedValues, derive_key
from quizsession.domain.errors import DomainError, ErrorCode

T0 = 1_800_000_000.0
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def sealer(secret: str = "s" * 32) -> SignedValues:
    return SignedValues(derive_key(secret, "state"), ErrorCode.LTI_STATE_INVALID, "state")


def test_a_sealed_value_opens_until_it_expires() -> None:
    text = sealer().seal({"p": "lti_1", "n": "nonce"}, T0 + 600)
    assert sealer().open(text, T0 + 600)["n"] == "nonce"
    with pytest.raises(DomainError) as late:
        sealer().open(text, T0 + 600.5)
    assert late.value.code is ErrorCode.LTI_STATE_INVALID


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t + "x",
        lambda t: "A" + t[1:],
        lambda t: t.replace(".", ""),
        lambda t: "",
    ],
)
def test_a_changed_or_foreign_sealed_value_is_refused(change: object) -> None:
    text = sealer().seal({"p": "lti_1"}, T0 + 600)
    for candidate in (change(text), sealer("other" * 8).seal({"p": "lti_1"}, T0 + 600)):  # type: ignore[operator]
        with pytest.raises(DomainError) as refused:
            sealer().open(candidate, T0)
        assert refused.value.code is ErrorCode.LTI_STATE_INVALID


def test_a_state_key_differs_by_purpose() -> None:
    assert derive_key("x", "state") != derive_key("x", "deep-link")


@pytest.mark.parametrize(
    ("roles", "instructor"),
    [
        ([MEMBERSHIP + "Instructor"], True),
        ([MEMBERSHIP + "ContentDeveloper"], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], True),
        ([MEMBERSHIP + "Learner"], False),
        ([MEMBERSHIP + "Instructor", MEMBERSHIP + "Learner"], False),
        ([], False),
        ("Instructor", False),
    ],
)
def test_instructors_are_told_from_learners(roles: object, instructor: bool) -> None:
    assert is_instructor(roles) is instructor


def test_the_candidate_id_is_stable_per_issuer_and_subject() -> None:
    a = candidate_id_for("https://lms.one", "42")
    assert a == candidate_id_for("https://lms.one", "42")
    assert a != candidate_id_for("https://lms.two", "42")
    assert a.startswith("lti_")


def test_the_display_name_falls_back_to_given_and_family_names() -> None:
    assert display_name({"name": " Ada "}) == "Ada"
    assert display_name({"given_name": "Ada", "family_name": "Lovelace"}) == "Ada Lovelace"
    assert display_name({}) == ""


@pytest.mark.parametrize(
    ("lineitem", "url"),
    [
        ("https://lms/li/1", "https://lms/li/1/scores"),
        ("https://lms/li/1/", "https://lms/li/1/scores"),
        ("https://lms/li/1?type=x&a=b", "https://lms/li/1/scores?type=x&a=b"),
    ],
)
def test_scores_go_beside_the_line_item_keeping_its_query(lineitem: str, url: str) -> None:
    assert scores_url(lineitem) == url


def test_the_tool_key_has_a_stable_thumbprint_kid_and_no_private_part() -> None:
    pem = generate_pem()
    key = ToolKey(pem)
    assert ToolKey(pem).kid == key.kid
    assert "d" not in key.public_jwk
    assert ToolKeys.of(pem).jwks() == {"keys": [key.public_jwk]}


def test_without_a_key_lti_is_refused_as_not_configured() -> None:
    with pytest.raises(DomainError) as refused:
        ToolKeys(lambda: None).jwks()
    assert refused.value.code is ErrorCode.LTI_NOT_CONFIGURED
