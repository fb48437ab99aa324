"""The HTML pages of LTI launches: the hand-over to the candidate's page, the
instructor's page, the quiz choice of deep linking, the auto-posted answer to
the platform and the error page. Each is self-contained (no asset), with a
Content-Security-Policy whose only script is the page's own (a nonce), and may
be framed by the LMS that launched it."""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from litestar import MediaType, Response

from quizsession.api.problems import title_of
from quizsession.app.ports import LtiPlatform, QuizSummary

KEY_SESSION = "quizsession.session"  # the candidate page's key (take_state.js)
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "code{background:#eee;padding:0 .2em}button{font:inherit;padding:.4em 1em}"
)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def platform_origins(platform: LtiPlatform | None) -> list[str]:
    if platform is None:
        return ["*"]
    found = [origin(platform.issuer), origin(platform.auth_login_url)]
    return [o for o in dict.fromkeys(found) if o] or ["*"]


def _page(
    title: str,
    body: str,
    *,
    status: int = 200,
    script: str = "",
    nonce: str = "",
    frame_ancestors: Sequence[str] = ("*",),
    form_action: Sequence[str] = ("'self'",),
) -> Response[bytes]:
    nonce = nonce or secrets.token_urlsafe(16)
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "base-uri 'none'",
            "form-action " + " ".join(form_action),
            "frame-ancestors " + " ".join(frame_ancestors),
        ]
    )
    scripts = f'<script nonce="{nonce}">{script}</script>' if script else ""
    content = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><style nonce="{nonce}">{_STYLE}</style>'
        f"</head><body>{body}{scripts}</body></html>"
    )
    return Response(
        content=content.encode(),
        status_code=status,
        media_type=MediaType.HTML,
        headers={
            "Content-Security-Policy": policy,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _js(value: object) -> str:
    """``value`` as a JavaScript literal safe inside a ``<script>`` element."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def handover_page(
    session: dict[str, str], quiz_title: str, platform: LtiPlatform | None
) -> Response[bytes]:
    """Puts the session in this tab's sessionStorage and opens ``/take`` (which
    refuses to be framed). Framed in the LMS, it offers to continue in a new
    window: the session travels there in a form's body (never in a URL)."""
    title = html.escape(quiz_title)
    body = (
        f"<h1>{title}</h1>"
        '<p id="wait">Opening your quiz…</p>'
        '<form id="framed" hidden method="post" action="/lti/continue" target="_blank">'
        "<p>This quiz opens in its own window.</p>"
        f'<input type="hidden" name="session" value="{html.escape(json.dumps(session))}">'
        f'<input type="hidden" name="quiz_title" value="{title}">'
        "<button>Open the quiz</button></form>"
    )
    script = (
        f"try{{sessionStorage.setItem({_js(KEY_SESSION)},JSON.stringify({_js(session)}));}}"
        "catch(e){}"
        "if(window.top===window.self){location.replace('/take');}"
        "else{document.getElementById('wait').hidden=true;"
        "document.getElementById('framed').hidden=false;}"
    )
    return _page(quiz_title, body, script=script, frame_ancestors=platform_origins(platform))


def instructor_page(
    platform: LtiPlatform, quiz: QuizSummary | None, quiz_id: str, quizzes: list[QuizSummary]
) -> Response[bytes]:
    if quiz is not None:
        head = (
            f"<h1>{html.escape(quiz.title)}</h1><p>Learners opening this link take the quiz "
            f"<code>{html.escape(quiz.id)}</code> (version {quiz.version}); their scores go "
            "to this course's gradebook.</p>"
        )
    elif quiz_id:
        head = f"<h1>Quiz not found</h1><p>No quiz <code>{html.escape(quiz_id)}</code>.</p>"
    else:
        head = (
            "<h1>No quiz linked</h1><p>Set the link's custom parameter "
            "<code>quiz_id=&lt;id&gt;</code>, or add the quiz through the LMS's content "
            "selection.</p>"
        )
    items = "".join(
        f"<li><code>{html.escape(q.id)}</code>: {html.escape(q.title)}</li>" for q in quizzes
    )
    body = head + (f"<h2>Quizzes</h2><ul>{items}</ul>" if items else "")
    return _page("quizsession", body, frame_ancestors=platform_origins(platform))


def picker_page(platform: LtiPlatform, choice: str, quizzes: list[QuizSummary]) -> Response[bytes]:
    options = "".join(
        f'<p><label><input type="radio" name="quiz_id" value="{html.escape(q.id)}"'
        f"{' checked' if i == 0 else ''}> {html.escape(q.title)} "
        f"<code>{html.escape(q.id)}</code></label></p>"
        for i, q in enumerate(quizzes)
    )
    if not options:
        body = "<h1>Choose a quiz</h1><p>There is no quiz yet.</p>"
    else:
        body = (
            '<h1>Choose a quiz</h1><form method="post" action="/lti/deep-link">'
            f'<input type="hidden" name="choice" value="{html.escape(choice)}">'
            f"{options}<button>Add to the course</button></form>"
        )
    return _page("Choose a quiz", body, frame_ancestors=platform_origins(platform))


def auto_post_page(action: str, fields: dict[str, str], platform: LtiPlatform) -> Response[bytes]:
    """A form posted at once to ``action`` (the platform), by script or button."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    body = (
        f'<form id="post" method="post" action="{html.escape(action)}">{inputs}'
        "<noscript><button>Continue</button></noscript></form>"
    )
    return _page(
        "Returning to the LMS",
        body,
        script="document.getElementById('post').submit();",
        frame_ancestors=platform_origins(platform),
        form_action=[origin(action) or "'none'"],
    )


def error_page(status: int, code: str, detail: str) -> Response[bytes]:
    body = (
        f"<h1>{html.escape(title_of(status))}</h1><p>{html.escape(detail)}</p>"
        f'<p>Error code: <code id="code">{html.escape(code)}</code></p>'
    )
    return _page("quizsession: " + code, body, status=status)
