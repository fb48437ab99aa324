"""The wire models of LTI 1.3: platform registrations (``/admin/lti/platforms``),
the tool's URLs for an LMS administrator, and what the stores keep about a
launch (``LtiLaunchLink``: the LMS user and gradebook column of an attempt)."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = [
    "LtiLaunchLink",
    "LtiPlatform",
    "LtiPlatformBody",
    "LtiPlatformList",
    "LtiToolUrls",
]

_Url = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="an absolute http(s) URL",
    ),
]
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
_Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class LtiPlatformBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A platform (an LMS) registering this service as its tool: what the LMS
    shows its administrator when the tool is added (issuer/platform id, client
    id, deployment ids, its OIDC authentication URL, its key set URL, its access
    token URL)."""

    issuer: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    client_id: _Text
    deployment_ids: Annotated[list[_Text], msgspec.Meta(min_length=1, max_length=100)]
    auth_login_url: _Url
    jwks_url: _Url
    token_url: _Url | None = None
    """Needed to send scores (Assignment and Grade Services)."""
    token_audience: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    """The ``aud`` of the client assertion when the platform wants another than
    its token URL (Brightspace, Blackboard)."""


class LtiPlatform(msgspec.Struct, frozen=True, kw_only=True):
    """A platform registration as stored."""

    id: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    jwks_url: str
    token_url: str = ""
    token_audience: str = ""
    created_at: float = 0.0


class LtiPlatformList(msgspec.Struct, frozen=True, kw_only=True):
    platforms: list[LtiPlatform]


class LtiToolUrls(msgspec.Struct, frozen=True, kw_only=True):
    """What an LMS administrator types in when adding this service as a tool."""

    login_url: str
    launch_url: str
    redirect_urls: list[str]
    deep_linking_url: str
    jwks_url: str


class LtiLaunchLink(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt launched from an LMS: who in which platform (``subject`` is the
    LTI ``sub``), and the gradebook column its score goes to (``lineitem``,
    empty when the platform offered none) with the scopes granted."""

    attempt_id: str
    platform_id: str
    subject: str
    lineitem: str = ""
    scopes: tuple[str, ...] = ()
    #: Unused (kept for stored rows): personal data stays in the attempt's log.
    name: str = ""
    #: Unused (kept for stored rows): personal data stays in the attempt's log.
    email: str = ""
    resource_link_id: str = ""
    updated_at: float = 0.0


# Kept for the validation rules in one place.
PlatformId = _Id
