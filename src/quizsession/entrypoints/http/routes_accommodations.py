"""Administrator routes for accommodations (``X-API-Key``): extra time set once
for a candidate and applied to every attempt of theirs. Part of the admin
router (``routes_admin.admin_router``); each change is audited like
the other administrators' changes (the audit line names the candidate id), and
a change that gives a running test more time is an event in its log by the
administrator."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, put
from litestar.params import Parameter

from quizsession.api.accommodations import Accommodation, AccommodationBody, AccommodationList
from quizsession.domain.errors import ErrorCode
from quizsession.entrypoints.http.context import AnyRequest, container, require_admin
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    JSON_BODY,
    NO_CONTENT,
    QUERY,
    SERVICE,
    WRITES,
    ApiOperation,
    problem_responses,
)

PATH = "/candidates/{candidate_id:str}/accommodation"


@put(
    PATH,
    status_code=200,
    opt={"body": AccommodationBody},
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES, *JSON_BODY, ErrorCode.ACCOMMODATION_INVALID, *WRITES, *SERVICE
    ),
    operation_class=ApiOperation,
)
async def put_accommodation(
    request: AnyRequest, candidate_id: str, data: AccommodationBody
) -> Accommodation:
    """Set the candidate's accommodation (replacing one set before). It applies
    to every attempt of the candidate whose test starts from now on; a test
    already running gets the extra time it now gives at once (an event by you in
    its log). A lower accommodation applies to future attempts only. The quiz
    window's close still caps every deadline."""
    by = require_admin(request)
    return await container(request).accommodations.put(
        candidate_id,
        multiplier=data.multiplier,
        extra_seconds=data.extra_seconds,
        note=data.note,
        by=by,
    )


@get(
    PATH,
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def get_accommodation(request: AnyRequest, candidate_id: str) -> Accommodation:
    require_admin(request)
    return await container(request).accommodations.get(candidate_id)


@delete(
    PATH,
    status_code=204,
    security=API_KEY,
    responses={
        204: NO_CONTENT,
        **problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    },
    operation_class=ApiOperation,
)
async def delete_accommodation(request: AnyRequest, candidate_id: str) -> Response[None]:
    """Clear the candidate's accommodation for future attempts (a running test
    keeps the time it was given)."""
    require_admin(request)
    await container(request).accommodations.delete(candidate_id)
    return Response(content=None, status_code=204)


@get(
    "/accommodations",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *QUERY, *SERVICE),
    operation_class=ApiOperation,
)
async def list_accommodations(
    request: AnyRequest,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
) -> AccommodationList:
    """Every accommodation, ordered by candidate id."""
    require_admin(request)
    found = await container(request).accommodations.list(limit=limit, offset=offset)
    return AccommodationList(accommodations=found, limit=limit, offset=offset)


ROUTES = [put_accommodation, get_accommodation, delete_accommodation, list_accommodations]
