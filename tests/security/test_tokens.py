"""Attacks on session tokens. Each one is refused on every session route with a
problem+json ``code`` and leaves the store exactly as it was (``api.refused``).

``tests/integration/test_http_errors.py`` already covers a flipped signature, a
token from another deployment, a bare ``alg: none`` stub, garbage, a 5 000-char
token, expiry, a missing ``Bearer`` and another session's token on three routes;
this file goes further: every route, tampered claims, algorithm confusion, the
``typ`` claim, forged tokens for sessions the server never issued, the 4 KB
boundary, non-ASCII, other schemes and tokens in the query string.

Tokens that need the server's secret to make (right signature, wrong claims) are
signed with the test deployment's ``SECRET_KEY``: they show what the server
checks *besides* the signature, and each such family has a positive control (the
same forge with honest claims is accepted) so a refusal is never vacuous.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import API_KEY, SECRET_KEY, Api, Session
from tests.security import forge

pytestmark = pytest.mark.usefixtures("demo")

SAVE = {"question_id": "capital-au", "answer": "canberra", "op_id": "attack-op"}

# A public key, as an attacker would find it published somewhere: the classic
# algorithm-confusion attack signs an HS256 token with it as the HMAC secret.
PUBLIC_KEY_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
    "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
    "-----END PUBLIC KEY-----\n"
)
SSH_PUBLIC_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 attacker@example"


def session_requests(s: Session) -> list[tuple[str, str, Any]]:
    """Every candidate route of session ``s``: reads and writes."""
    return [
        ("GET", s.path, None),
        ("GET", f"{s.path}/question", None),
        ("GET", f"{s.path}/questions/capital-au", None),
        ("POST", f"{s.path}/start", {"section": "test"}),
        ("PUT", f"{s.path}/progress", SAVE),
        ("POST", f"{s.path}/heartbeat", None),
        ("POST", f"{s.path}/complete", None),
        ("DELETE", s.path, None),
    ]


async def assert_refused_everywhere(
    api: Api,
    target: Session,
    headers: dict[str, str],
    code: str = "token_invalid",
    status: int = 401,
    *,
    params: dict[str, str] | None = None,
) -> None:
    for method, path, body in session_requests(target):
        problem = await api.refused(
            api.client.request(method, path, json=body, headers=headers, params=params),
            status,
            code,
        )
        assert problem["instance"] == path


async def assert_token_refused(
    api: Api, target: Session, token: str, code: str = "token_invalid", status: int = 401
) -> None:
    await assert_refused_everywhere(api, target, {"Authorization": f"Bearer {token}"}, code, status)


async def still_works(api: Api, session: Session) -> None:
    """The attacked session itself is unharmed: it reads and writes."""
    r = await api.client.get(session.path, headers=session.headers)
    assert r.status_code == 200, r.text
    api.clock.advance(1)
    r = await api.save(session, "capital-au", "canberra", f"after-{api.clock.now()}")
    assert r.status_code == 200, r.text


def claims(session: Session) -> dict[str, Any]:
    return forge.parts(session.token)[1]


# -- signatures ----------------------------------------------------------------------


FORGERIES: dict[str, Callable[[str], str]] = {
    "other-secret": lambda t: forge.token(forge.parts(t)[1], key="not-the-secret-" + "k" * 40),
    "empty-key": lambda t: forge.token(forge.parts(t)[1], key=b""),
    "empty-signature": lambda t: t.rsplit(".", 1)[0] + ".",
    "no-signature-part": lambda t: t.rsplit(".", 1)[0],
    "truncated-signature": lambda t: t[:-6],
    "signature-bytes-flipped": lambda t: (
        t.rsplit(".", 1)[0]
        + "."
        + forge.b64url(bytes(b ^ 0xFF for b in forge.unb64url(t.rsplit(".", 1)[1])))
    ),
    "extra-segment": lambda t: t + ".AAAA",
    "signature-as-hex": lambda t: (
        t.rsplit(".", 1)[0] + "." + forge.unb64url(t.rsplit(".", 1)[1]).hex()
    ),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
async def test_forged_signature(api: Api, name: str) -> None:
    session = await api.started()
    forged = FORGERIES[name](session.token)
    assert forged != session.token
    await assert_token_refused(api, session, forged)
    await still_works(api, session)


async def test_signature_of_another_token_does_not_transfer(api: Api) -> None:
    mine = await api.started()
    theirs = await api.started()
    head, body, _sig = theirs.token.split(".")
    spliced = f"{head}.{body}.{mine.token.split('.')[2]}"
    await assert_token_refused(api, theirs, spliced)


# -- tampered claims (the server's signature kept) -----------------------------------


def _tamper(session: Session, other: Session, name: str) -> dict[str, Any]:
    payload = claims(session)
    if name == "epoch-bumped":
        payload["ep"] += 1
    elif name == "epoch-lowered":
        payload["ep"] -= 1
    elif name == "attempt-swapped":
        payload["aid"] = other.attempt_id
    elif name == "exp-extended":
        payload["exp"] += 3600
    elif name == "exp-far-future":
        payload["exp"] = 4_102_444_800
    elif name == "iat-moved":
        payload["iat"] -= 60
    elif name == "extra-claim":
        payload["admin"] = True
    elif name == "typ-changed":
        payload["typ"] = "admin"
    return payload


@pytest.mark.parametrize(
    "name",
    [
        "epoch-bumped",
        "epoch-lowered",
        "attempt-swapped",
        "exp-extended",
        "exp-far-future",
        "iat-moved",
        "extra-claim",
        "typ-changed",
    ],
)
async def test_tampered_payload_keeps_no_signature(api: Api, name: str) -> None:
    session = await api.started()
    other = await api.started()
    head, _body, signature = session.token.split(".")
    body = forge.segment(_tamper(session, other, name))
    tampered = f"{head}.{body}.{signature}"
    await assert_token_refused(api, session, tampered)
    # The other attempt, whose id was borrowed, is untouched too.
    await assert_token_refused(api, other, tampered)
    await still_works(api, session)


async def test_same_claims_reencoded_is_another_message(api: Api) -> None:
    """Claims unchanged but serialised differently (key order, spaces): the
    signature covers the bytes, not the meaning."""
    session = await api.started()
    head, _body, signature = session.token.split(".")
    payload = claims(session)
    reordered = dict(reversed(list(payload.items())))
    body = forge.b64url(
        ("{ " + ", ".join(f'"{k}": {json.dumps(v)}' for k, v in reordered.items()) + " }").encode()
    )
    await assert_token_refused(api, session, f"{head}.{body}.{signature}")


# -- expiry ----------------------------------------------------------------------------


async def test_token_expires_exactly_at_exp_on_every_route(api: Api) -> None:
    session = await api.started()
    exp = claims(session)["exp"]
    # One second before: accepted (and now in the verified-token cache).
    api.clock.advance(exp - api.clock.now() - 1)
    r = await api.client.post(f"{session.path}/heartbeat", headers=session.headers)
    assert r.status_code == 200, r.text
    refreshed = r.json()["session_token"]
    api.clock.advance(1)  # now == exp: the cached token is expired all the same
    await assert_token_refused(api, session, session.token, "token_expired")
    # The token from the heartbeat lives on, for the same session.
    fresh = Session(session.session_id, refreshed, session.attempt_id, {})
    r = await api.client.get(fresh.path, headers=fresh.headers)
    assert r.status_code == 200, r.text


async def test_expired_token_cannot_be_refreshed(api: Api) -> None:
    session = await api.started()
    api.clock.advance(api.container.settings.token_ttl_s)
    await api.refused(
        api.client.post(f"{session.path}/heartbeat", headers=session.headers),
        401,
        "token_expired",
    )


async def test_forged_exp_in_the_past_is_expired_not_invalid(api: Api) -> None:
    """With the right signature an old ``exp`` is an honest late client
    (token_expired); any other change to it is a forgery (token_invalid)."""
    session = await api.started()
    payload = {**claims(session), "exp": int(api.clock.now()) - 1}
    await assert_token_refused(api, session, forge.token(payload), "token_expired")


# -- alg: none and algorithm confusion ---------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["empty", "original"])
async def test_unsigned_alg_none(api: Api, alg: str, signature: str) -> None:
    session = await api.started()
    sig = "" if signature == "empty" else session.token.split(".")[2]
    unsigned = forge.token(claims(session), header={"alg": alg, "typ": "JWT"}, signature=sig)
    await assert_token_refused(api, session, unsigned)
    await still_works(api, session)


ALG_CONFUSION: dict[str, dict[str, Any]] = {
    # HS256 with a public key (PEM / SSH) as the HMAC secret.
    "hs256-pem-public-key": {"header": {"alg": "HS256"}, "key": PUBLIC_KEY_PEM},
    "hs256-ssh-public-key": {"header": {"alg": "HS256"}, "key": SSH_PUBLIC_KEY},
    # Asymmetric algorithms named in the header, HMAC-signed with the real secret:
    # refused because the algorithm is pinned, not because the MAC is wrong.
    "rs256-header": {"header": {"alg": "RS256"}, "key": SECRET_KEY},
    "es256-header": {"header": {"alg": "ES256"}, "key": SECRET_KEY},
    "ps256-header": {"header": {"alg": "PS256"}, "key": SECRET_KEY},
    "eddsa-header": {"header": {"alg": "EdDSA"}, "key": SECRET_KEY},
    "rs256-random-signature": {
        "header": {"alg": "RS256"},
        "key": None,
        "signature": forge.b64url(b"\x01" * 256),
    },
    # Other HMAC strengths, correctly signed with the real secret.
    "hs512-real-secret": {"header": {"alg": "HS512"}, "key": SECRET_KEY, "digest": "HS512"},
    "hs384-real-secret": {"header": {"alg": "HS384"}, "key": SECRET_KEY, "digest": "HS384"},
    "lowercase-hs256": {"header": {"alg": "hs256"}, "key": SECRET_KEY},
    "alg-missing": {"header": {"typ": "JWT"}, "key": SECRET_KEY},
    "alg-list": {"header": {"alg": ["HS256"]}, "key": SECRET_KEY},
    # Key-reference injection, signed with a key the attacker chose.
    "jwk-embedded": {
        "header": {"alg": "HS256", "jwk": {"kty": "oct", "k": forge.b64url(b"attacker")}},
        "key": b"attacker",
    },
    "kid-path-traversal": {"header": {"alg": "HS256", "kid": "../../../../dev/null"}, "key": b""},
    "jku-remote": {
        "header": {"alg": "HS256", "jku": "https://evil.example/jwks.json"},
        "key": "evil",
    },
    "header-not-an-object": {"header": ["HS256"], "key": SECRET_KEY},
}


@pytest.mark.parametrize("name", sorted(ALG_CONFUSION))
async def test_algorithm_confusion(api: Api, name: str) -> None:
    session = await api.started()
    spec = ALG_CONFUSION[name]
    forged = forge.token(
        claims(session),
        header=spec["header"],
        key=spec["key"],
        digest=spec.get("digest", "HS256"),
        signature=spec.get("signature"),
    )
    await assert_token_refused(api, session, forged)
    await still_works(api, session)


async def test_the_forge_itself_makes_accepted_tokens(api: Api) -> None:
    """Positive control for the families above: HS256 with the real secret and
    honest claims is accepted, whatever the header's ``typ``."""
    session = await api.started()
    for header in ({"alg": "HS256", "typ": "JWT"}, {"alg": "HS256"}):
        honest = forge.token(claims(session), header=header)
        r = await api.client.get(session.path, headers={"Authorization": f"Bearer {honest}"})
        assert r.status_code == 200, r.text


# -- the typ claim and the other claims (right signature) ---------------------------------


def _claims_variant(base: dict[str, Any], name: str) -> Any:
    payload = dict(base)
    if name.startswith("typ-"):
        value: Any = {
            "typ-missing": None,
            "typ-access": "access",
            "typ-upper": "QS-SESSION",
            "typ-padded": "qs-session ",
            "typ-null": "null",
            "typ-list": ["qs-session"],
            "typ-empty": "",
        }[name]
        if name == "typ-missing":
            payload.pop("typ")
        elif name == "typ-null":
            payload["typ"] = None
        else:
            payload["typ"] = value
        return payload
    if name.startswith("missing-"):
        payload.pop(name.removeprefix("missing-"))
        return payload
    if name == "ep-not-a-number":
        payload["ep"] = "one"
    elif name == "ep-list":
        payload["ep"] = [1]
    elif name == "ep-null":
        payload["ep"] = None
    elif name == "exp-not-a-number":
        payload["exp"] = "tomorrow"
    elif name == "exp-null":
        payload["exp"] = None
    elif name == "payload-array":
        return [payload]
    elif name == "payload-string":
        return "qs-session"
    return payload


CLAIM_VARIANTS = [
    "typ-missing",
    "typ-access",
    "typ-upper",
    "typ-padded",
    "typ-null",
    "typ-list",
    "typ-empty",
    "missing-exp",
    "missing-iat",
    "missing-sub",
    "missing-aid",
    "missing-ep",
    "ep-not-a-number",
    "ep-list",
    "ep-null",
    "exp-not-a-number",
    "exp-null",
    "payload-array",
    "payload-string",
]


@pytest.mark.parametrize("name", CLAIM_VARIANTS)
async def test_claims_are_checked_beyond_the_signature(api: Api, name: str) -> None:
    session = await api.started()
    forged = forge.token(_claims_variant(claims(session), name))
    await assert_token_refused(api, session, forged)
    await still_works(api, session)


async def test_payload_not_json(api: Api) -> None:
    session = await api.started()
    head = forge.segment({"alg": "HS256", "typ": "JWT"})
    for raw in (b"not json", b"\xff\xfe\x00", b"", b"{" * 50):
        body = forge.b64url(raw)
        signed = f"{head}.{body}.{forge.sign(f'{head}.{body}', SECRET_KEY)}"
        await assert_token_refused(api, session, signed)


@pytest.mark.parametrize(
    "raw",
    ['"ep": 1e400', '"exp": 1' + "0" * 400, '"iat": 1' + "0" * 400],
    ids=["ep-inf", "exp-huge-int", "iat-huge-int"],
)
async def test_out_of_range_numeric_claims(api: Api, raw: str) -> None:
    session = await api.started()
    payload = claims(session)
    key = raw.split(":")[0].strip('"')
    payload.pop(key)
    text = json.dumps(payload)[:-1] + ", " + raw + "}"
    head = forge.segment({"alg": "HS256", "typ": "JWT"})
    body = forge.b64url(text.encode())
    signed = f"{head}.{body}.{forge.sign(f'{head}.{body}', SECRET_KEY)}"
    await assert_token_refused(api, session, signed)


# -- whose token --------------------------------------------------------------------


async def test_token_of_attempt_a_on_attempt_b_every_route(api: Api) -> None:
    a = await api.started()
    b = await api.started()
    await assert_token_refused(api, b, a.token)
    await still_works(api, b)


async def test_token_of_an_earlier_session_of_the_same_attempt(api: Api) -> None:
    invite = await api.invite()
    old = await api.login(invite["token"])
    await api.start(old)
    await api.question(old)
    new = await api.login(invite["token"], takeover=True)
    await assert_token_refused(api, new, old.token)
    await still_works(api, new)


@pytest.mark.parametrize(
    ("epoch_shift", "code", "status"),
    [(0, "session_closed", 401), (1, "session_closed", 401), (-1, "session_superseded", 409)],
    ids=["current-epoch", "future-epoch", "old-epoch"],
)
async def test_signed_token_for_a_session_never_issued(
    api: Api, epoch_shift: int, code: str, status: int
) -> None:
    """Even with the server's signature, a session id the server never opened
    neither reads nor writes the real attempt: the log decides who is live (the
    fencing check), not the token."""
    invite = await api.invite()
    session = await api.login(invite["token"])
    await api.start(session)
    await api.question(session)
    epoch = claims(session)["ep"]
    payload = {**claims(session), "sub": "s_never-issued", "ep": epoch + epoch_shift}
    ghost = Session("s_never-issued", forge.token(payload), session.attempt_id, {})
    for method, path, body in session_requests(ghost):
        if method == "DELETE":
            continue  # logging out a session that is not live changes nothing: below
        await api.refused(
            api.client.request(method, path, json=body, headers=ghost.headers), status, code
        )
    before = await api.snapshot()
    r = await api.client.delete(ghost.path, headers=ghost.headers)
    assert r.status_code in (204, 401, 409), r.text
    assert await api.snapshot() == before
    # The live session kept its lease: a second login is still refused.
    await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}),
        409,
        "session_active",
    )
    await still_works(api, session)


async def test_unsigned_token_for_a_session_never_issued(api: Api) -> None:
    session = await api.started()
    payload = {**claims(session), "sub": "s_never-issued"}
    ghost = Session(
        "s_never-issued", forge.token(payload, key="guess-" * 8), session.attempt_id, {}
    )
    await assert_token_refused(api, ghost, ghost.token)


# -- garbage, size, encoding ------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "...",
        "a.b",
        "a.b.c.d.e",
        "Bearer",
        "null",
        "undefined",
        "{}",
        "eyJ" * 100,
        "%2e%2e%2f",
        "\t",
        "x" * 4097,
        "x" * 200_000,
    ],
    ids=[
        "dots",
        "two-parts",
        "five-parts",
        "word-bearer",
        "null",
        "undefined",
        "json",
        "b64-prefix-repeated",
        "url-encoded",
        "tab",
        "4097-chars",
        "200k-chars",
    ],
)
async def test_garbage_tokens(api: Api, token: str) -> None:
    session = await api.started()
    await assert_token_refused(api, session, token)


async def test_4kb_boundary(api: Api) -> None:
    """Tokens over 4096 characters are refused before any parsing; at 4096 they
    are parsed (and refused here for their signature)."""
    session = await api.started()
    payload = {**claims(session), "pad": ""}
    fits = forge.token(payload)
    while True:
        payload["pad"] += "p"
        longer = forge.token(payload)
        if len(longer) > 4096:
            break
        fits = longer
    assert len(fits) <= 4096 < len(longer)
    assert len(fits) > 4090
    r = await api.client.get(session.path, headers={"Authorization": f"Bearer {fits}"})
    assert r.status_code == 200, r.text  # signed with the secret: long but valid
    await assert_token_refused(api, session, longer)


@pytest.mark.parametrize(
    "raw",
    [
        "é".encode() * 40,
        b"\xff\xfe\xfd" * 10,
        "токен.токен.токен".encode(),
        "😀.😀.😀".encode(),
        b"\x80abc.def.ghi",
    ],
    ids=["utf8-latin", "invalid-utf8", "cyrillic", "emoji", "continuation-byte"],
)
async def test_non_ascii_tokens(api: Api, raw: bytes) -> None:
    session = await api.started()
    headers = {b"Authorization": b"Bearer " + raw}
    await assert_refused_everywhere(api, session, headers)  # type: ignore[arg-type]


async def test_valid_token_with_non_ascii_appended(api: Api) -> None:
    session = await api.started()
    headers = {b"Authorization": b"Bearer " + session.token.encode() + "é".encode()}
    await assert_refused_everywhere(api, session, headers)  # type: ignore[arg-type]


# -- schemes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "{token}",
        "Token {token}",
        "JWT {token}",
        "Basic {token}",
        "Digest {token}",
        "Bearer{token}",
        "Bearer: {token}",
        "Bearer {token} extra",
        "Bearer {token},Bearer {token}",
        "Bearer Bearer {token}",
        "Negotiate {token}",
    ],
    ids=[
        "no-scheme",
        "token",
        "jwt",
        "basic",
        "digest",
        "no-space",
        "colon",
        "trailing-word",
        "repeated",
        "double-bearer",
        "negotiate",
    ],
)
async def test_other_schemes_are_refused(api: Api, header: str) -> None:
    session = await api.started()
    value = header.format(token=session.token)
    await assert_refused_everywhere(api, session, {"Authorization": value})


@pytest.mark.parametrize(
    "header", ["bearer {token}", "BEARER {token}", "Bearer  {token}", "Bearer {token} "]
)
async def test_scheme_is_case_insensitive_and_spaces_trimmed(api: Api, header: str) -> None:
    """RFC 9110: the scheme is case-insensitive. Positive control for the above."""
    session = await api.started()
    r = await api.client.get(
        session.path, headers={"Authorization": header.format(token=session.token)}
    )
    assert r.status_code == 200, r.text


async def test_no_authorization_but_other_credentials(api: Api) -> None:
    """An API key, a cookie or a custom header never stand in for the bearer."""
    session = await api.started()
    for headers in (
        {"X-API-Key": API_KEY},
        {"Cookie": f"session_token={session.token}; token={session.token}"},
        {"X-Session-Token": session.token},
        {"Authorization": f"Bearer {API_KEY}"},
        {"Proxy-Authorization": f"Bearer {session.token}"},
    ):
        await assert_refused_everywhere(api, session, headers)


# -- tokens in the URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    "param", ["token", "access_token", "session_token", "authorization", "jwt", "bearer"]
)
async def test_token_in_the_query_is_ignored(api: Api, param: str) -> None:
    session = await api.started()
    await assert_refused_everywhere(api, session, {}, params={param: session.token})
    await assert_refused_everywhere(api, session, {}, params={param: f"Bearer {session.token}"})


async def test_query_token_does_not_override_the_header(api: Api) -> None:
    """With a valid header, a hostile token in the query changes nothing about who
    the request is: the request acts as the header's session."""
    a = await api.started()
    b = await api.started()
    r = await api.client.get(a.path, headers=a.headers, params={"access_token": b.token})
    assert r.status_code == 200, r.text
    assert r.json()["attempt_id"] == a.attempt_id
    # and B's path with A's header and B's token in the query is still refused
    await api.refused(
        api.client.get(b.path, headers=a.headers, params={"access_token": b.token}),
        401,
        "token_invalid",
    )


# -- nothing leaks ---------------------------------------------------------------------


async def test_refusals_do_not_say_why_the_signature_failed(api: Api) -> None:
    """All forgeries get the same detail: nothing to tune an attack against."""
    session = await api.started()
    details = set()
    for forged in (
        FORGERIES["other-secret"](session.token),
        forge.token(claims(session), header={"alg": "none"}, key=None),
        forge.token(claims(session), header={"alg": "HS512"}, digest="HS512"),
        forge.token(_claims_variant(claims(session), "typ-access")),
        "garbage",
    ):
        r = await api.client.get(session.path, headers={"Authorization": f"Bearer {forged}"})
        body = r.json()
        details.add((r.status_code, body["code"], body["detail"]))
    assert details == {(401, "token_invalid", "the session token is not valid")}, details
