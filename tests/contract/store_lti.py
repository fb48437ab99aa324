"""The ``LtiStore`` part of the store contract: ``StoreContract``
(``test_store.py``) inherits these tests, so every adapter (memory, SQLite,
PostgreSQL, and the encrypted variants) runs them unchanged."""

from __future__ import annotations

import asyncio

from quizsession.app.ports import LtiLaunchLink, LtiPlatform, Store

T0 = 1_700_000_000.0


def platform(
    platform_id: str, issuer: str = "https://lms.example", **fields: object
) -> LtiPlatform:
    values: dict[str, object] = {
        "id": platform_id,
        "issuer": issuer,
        "client_id": "client-" + platform_id,
        "deployment_ids": ("d1", "d2"),
        "auth_login_url": issuer + "/auth",
        "jwks_url": issuer + "/jwks",
        "token_url": issuer + "/token",
        "token_audience": "",
        "created_at": T0,
        **fields,
    }
    return LtiPlatform(**values)  # type: ignore[arg-type]


class LtiContract:
    async def test_no_platform_is_registered_at_first(self, store: Store) -> None:
        assert await store.lti_platforms() == []
        assert await store.get_lti_platform("p1") is None
        assert await store.delete_lti_platform("p1") is False

    async def test_a_platform_round_trips_exactly_and_is_replaced_by_id(self, store: Store) -> None:
        first = platform("p1", token_audience="https://aud.example/ü")
        await store.put_lti_platform(first)
        assert await store.get_lti_platform("p1") == first
        changed = platform("p1", deployment_ids=("d3",), token_url="")
        await store.put_lti_platform(changed)
        assert await store.get_lti_platform("p1") == changed
        assert await store.lti_platforms() == [changed]

    async def test_platforms_are_listed_by_id_and_filtered_by_issuer(self, store: Store) -> None:
        b = platform("b", issuer="https://one.example")
        a = platform("a", issuer="https://two.example")
        c = platform("c", issuer="https://one.example")
        for p in (b, a, c):
            await store.put_lti_platform(p)
        assert await store.lti_platforms() == [a, b, c]
        assert await store.lti_platforms("https://one.example") == [b, c]
        assert await store.lti_platforms("https://none.example") == []
        assert await store.delete_lti_platform("b") is True
        assert await store.lti_platforms("https://one.example") == [c]

    async def test_a_nonce_is_used_once_until_it_expires(self, store: Store) -> None:
        assert await store.use_lti_nonce("iss|n1", T0 + 60, T0) is True
        assert await store.use_lti_nonce("iss|n1", T0 + 120, T0 + 30) is False
        assert await store.use_lti_nonce("iss|n2", T0 + 60, T0 + 30) is True
        # Expired: forgotten, so the key is new again.
        assert await store.use_lti_nonce("iss|n1", T0 + 200, T0 + 61) is True
        assert await store.use_lti_nonce("iss|n1", T0 + 300, T0 + 100) is False

    async def test_of_concurrent_uses_of_one_nonce_exactly_one_wins(self, store: Store) -> None:
        results = await asyncio.gather(
            *(store.use_lti_nonce("iss|race", T0 + 60, T0) for _ in range(8))
        )
        assert sorted(results) == [False] * 7 + [True]

    async def test_a_launch_link_round_trips_and_is_replaced(self, store: Store) -> None:
        assert await store.get_lti_link("a1") is None
        link = LtiLaunchLink(
            attempt_id="a1",
            platform_id="p1",
            subject="user-ü-1",
            lineitem="https://lms.example/lineitems/7?x=1",
            scopes=("https://purl.imsglobal.org/spec/lti-ags/scope/score",),
            name="Ada",
            email="ada@example.org",
            resource_link_id="rl-1",
            updated_at=T0,
        )
        await store.put_lti_link(link)
        assert await store.get_lti_link("a1") == link
        again = LtiLaunchLink(attempt_id="a1", platform_id="p1", subject="user-ü-1")
        await store.put_lti_link(again)
        assert await store.get_lti_link("a1") == again
        assert await store.get_lti_link("a2") is None
