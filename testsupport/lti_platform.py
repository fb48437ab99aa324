"""A minimal LTI 1.3 platform (an LMS) for the tests, written from the 1EdTech
specifications only and served over loopback (an ASGI app under uvicorn on a
free port, ``LtiPlatform.serve()``):

- ``GET /jwks``: its key set (one RSA key, ``kid`` ``platform-key-1``);
- ``GET /auth``: its OIDC authentication endpoint: checks the tool's login
  answer (client id, redirect URI, response type and mode, scope, prompt,
  nonce, state) and answers an HTML form, to be posted to the redirect URI,
  carrying a signed ``id_token`` (the launch the test prepared with
  ``prepare(login_hint, ...)``) and the ``state``;
- ``POST /token``: its OAuth 2 token endpoint: checks the client assertion
  against the tool's key set (``tool_jwks_url``), gives an access token;
- ``POST /lineitems/{id}/scores``: records scores (bearer token and media type
  checked) in ``scores``;
- ``POST /deep-link-return``: checks the tool's signed deep linking answer and
  records its content items in ``deep_links``.

Nothing here imports quizsession: the tool is seen only through HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from litestar import Litestar, Request, Response, get, post

from testsupport.net import free_port

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
KID = "platform-key-1"

_FORM_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the first form of an HTML page."""
    action = _FORM_ACTION.search(page)
    assert action is not None, page
    fields = {html.unescape(k): html.unescape(v) for k, v in _FORM_INPUT.findall(page)}
    return html.unescape(action.group(1)), fields


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Launch:
    """What the platform puts in the id_token for one login hint."""

    sub: str
    message_type: str = "LtiResourceLinkRequest"
    roles: list[str] = field(default_factory=lambda: [LEARNER])
    custom: dict[str, str] = field(default_factory=dict)
    lineitem: str | None = None
    name: str = "Ada Lovelace"
    email: str = "ada@example.org"
    deployment_id: str = "dep-1"
    #: Overrides of any claim (``None`` removes it), after everything else.
    claims: dict[str, Any] = field(default_factory=dict)
    kid: str = KID
    key: rsa.RSAPrivateKey | None = None  # another key than the platform's
    lifetime_s: int = 300
    issued_offset_s: int = 0


class LtiPlatform:
    def __init__(self, *, client_id: str = "tool-client-1") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = self.url
        self.client_id = client_id
        self.key = new_rsa_key()
        self.tool_jwks_url = ""
        self.launches: dict[str, Launch] = {}
        self.scores: list[dict[str, Any]] = []
        self.score_urls: list[str] = []
        self.deep_links: list[dict[str, Any]] = []
        self.tokens_issued: list[str] = []
        self.fail_scores_with: int | None = None
        self._server: uvicorn.Server | None = None

    # -- what the tool's administrator types in ----------------------------------------

    def registration(self, deployment_ids: tuple[str, ...] = ("dep-1",)) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_ids": list(deployment_ids),
            "auth_login_url": self.url + "/auth",
            "jwks_url": self.url + "/jwks",
            "token_url": self.url + "/token",
        }

    def lineitem(self, n: int = 1) -> str:
        return f"{self.url}/lineitems/{n}?course=c1"

    def prepare(self, login_hint: str, launch: Launch) -> None:
        self.launches[login_hint] = launch

    def login_params(self, login_hint: str, target: str, **extra: str) -> dict[str, str]:
        """What the platform sends to the tool's login initiation URL."""
        return {
            "iss": self.issuer,
            "login_hint": login_hint,
            "target_link_uri": target,
            "lti_message_hint": "hint-" + login_hint,
            "client_id": self.client_id,
            **extra,
        }

    # -- tokens ---------------------------------------------------------------------------

    def id_token(self, launch: Launch, nonce: str, redirect_uri: str) -> str:
        now = int(time.time()) + launch.issued_offset_s
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": launch.sub,
            "iat": now,
            "exp": now + launch.lifetime_s,
            "nonce": nonce,
            "name": launch.name,
            "email": launch.email,
            LTI + "message_type": launch.message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": launch.deployment_id,
            LTI + "target_link_uri": redirect_uri,
            LTI + "roles": launch.roles,
            LTI + "context": {"id": "course-1", "title": "Course 1"},
        }
        if launch.message_type == "LtiResourceLinkRequest":
            claims[LTI + "resource_link"] = {"id": "link-" + launch.sub, "title": "Quiz"}
            if launch.custom:
                claims[LTI + "custom"] = launch.custom
            if launch.lineitem:
                claims[AGS] = {"scope": [SCORE_SCOPE], "lineitem": launch.lineitem}
        else:
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": self.url + "/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-data-1",
            }
        for name, value in launch.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = launch.key or self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": launch.kid})

    async def _tool_key(self, token: str) -> Any:
        async with httpx.AsyncClient() as client:
            keys = (await client.get(self.tool_jwks_url)).json()
        kid = jwt.get_unverified_header(token)["kid"]
        (entry,) = [k for k in keys["keys"] if k["kid"] == kid]
        return RSAAlgorithm.from_jwk(entry)

    # -- the HTTP side ----------------------------------------------------------------------

    def app(self) -> Litestar:
        platform = self

        @get("/jwks", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            public = RSAAlgorithm.to_jwk(platform.key.public_key(), as_dict=True)
            return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}

        @get("/auth", sync_to_thread=False)
        def auth(request: Request[Any, Any, Any]) -> Response[str]:
            q = dict(request.query_params.items())
            expected = {
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "prompt": "none",
                "client_id": platform.client_id,
            }
            for name, value in expected.items():
                if q.get(name) != value:
                    return Response(f"bad {name}", status_code=400)
            if not q.get("nonce") or not q.get("state") or not q.get("redirect_uri"):
                return Response("nonce, state and redirect_uri are required", status_code=400)
            launch = platform.launches.get(q.get("login_hint", ""))
            if launch is None or q.get("lti_message_hint") != "hint-" + q["login_hint"]:
                return Response("unknown login", status_code=400)
            token = platform.id_token(launch, q["nonce"], q["redirect_uri"])
            page = (
                f'<form method="post" action="{html.escape(q["redirect_uri"])}">'
                f'<input type="hidden" name="id_token" value="{html.escape(token)}">'
                f'<input type="hidden" name="state" value="{html.escape(q["state"])}">'
                "</form>"
            )
            return Response(page, media_type="text/html")

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            form = dict((await request.form()).items())
            if form.get("grant_type") != "client_credentials":
                return Response({"error": "unsupported_grant_type"}, status_code=400)
            assertion = str(form.get("client_assertion", ""))
            try:
                claims = jwt.decode(
                    assertion,
                    await platform._tool_key(assertion),
                    algorithms=["RS256"],
                    audience=platform.url + "/token",
                    issuer=platform.client_id,
                )
            except (jwt.PyJWTError, ValueError) as exc:
                return Response({"error": "invalid_client", "why": str(exc)}, status_code=401)
            if claims.get("sub") != platform.client_id or not claims.get("jti"):
                return Response({"error": "invalid_client"}, status_code=401)
            if form.get("scope") != SCORE_SCOPE:
                return Response({"error": "invalid_scope"}, status_code=400)
            issued = "at-" + secrets.token_urlsafe(12)
            platform.tokens_issued.append(issued)
            return Response({"access_token": issued, "token_type": "Bearer", "expires_in": 3600})

        @post("/lineitems/{n:int}/scores", status_code=200)
        async def scores(request: Request[Any, Any, Any], n: int) -> Response[str]:
            auth = request.headers.get("authorization", "")
            if auth.removeprefix("Bearer ") not in platform.tokens_issued:
                return Response("no token", status_code=401)
            if request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
                return Response("wrong media type", status_code=415)
            if platform.fail_scores_with is not None:
                return Response("failing", status_code=platform.fail_scores_with)
            platform.scores.append(await request.json())
            platform.score_urls.append(str(request.url))
            return Response("", status_code=200)

        @post("/deep-link-return", status_code=200)
        async def deep_link_return(request: Request[Any, Any, Any]) -> Response[str]:
            form = dict((await request.form()).items())
            answer = str(form.get("JWT", ""))
            claims = jwt.decode(
                answer,
                await platform._tool_key(answer),
                algorithms=["RS256"],
                audience=platform.issuer,
                issuer=platform.client_id,
            )
            platform.deep_links.append(claims)
            return Response("linked", status_code=200)

        return Litestar([jwks, auth, token, scores, deep_link_return], debug=False)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[LtiPlatform]:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            yield self
        finally:
            server.should_exit = True
            await task

    def auth_query(self, location: str) -> str:
        return location.split("?", 1)[1] if "?" in location else ""

    @staticmethod
    def encode(params: dict[str, str]) -> str:
        return urlencode(params)
