from __future__ import annotations
import json
from typing import Any
import pytest
from tests.integration.conftest import Api
from testsupport.sample_kinds import sample_quiz

async def test_probe(api: Api) -> None:
    quiz = sample_quiz()
    await api.put_quiz(quiz)
    s = await api.open_session("sample-kinds")
    await api.start(s, "test")
    out = {}
    out["nav"] = (await api.client.get(f"{s.path}/questions", headers=s.headers)).json()
    for q in quiz["test"]["questions"]:
        out[q["id"]] = (await api.client.get(f"{s.path}/questions/{q['id']}", headers=s.headers)).json()
    cases = [
        ("k-essay", "é" * 50000), ("k-essay", "x" * 50000), ("k-essay", "x" * 50001),
        ("k-matching", {str(i): "Paris" for i in range(8000)}),
        ("k-matching", {"fr": "Nope"}),
        ("k-cloze", {"country": "zz"}),
        ("k-ordering", ["one", "one", "two", "three"]),
        ("k-ordering", ["one", "two", "three", "four", "five"]),
        ("k-description", "x"),
        ("k-numeric", True), ("k-single", 1), ("k-cloze", {"product": "42"}),
        ("k-essay", "{{country}}"), 
    ]
    for i, (qid, ans) in enumerate(cases):
        r = await api.save(s, qid, ans, f"p{i}")
        out[f"save{i}"] = (r.status_code, r.text[:300])
    r = await api.client.post(f"{s.path}/questions/k-single/check", headers=s.headers)
    out["check"] = (r.status_code, r.text[:300])
    r = await api.client.get(f"{s.path}/review", headers=s.headers)
    out["review"] = (r.status_code, r.text[:300])
    for p in ["..%2F..%2Fadmin", "%00", "a" * 5000, "k-single%2F..", "..", "%2e%2e"]:
        r = await api.client.get(f"{s.path}/questions/{p}", headers=s.headers)
        out["open" + p[:20]] = (r.status_code, r.text[:200])
    r = await api.client.post(f"{s.path}/complete", headers=s.headers)
    r = await api.client.get(f"{s.path}/review", headers=s.headers)
    out["review2"] = r.json()
    out["view"] = (await api.client.get(s.path, headers=s.headers)).json()
    print(json.dumps(out, indent=1)[:20000])
