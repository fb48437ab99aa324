"""Item analysis: per question of a quiz, over the scored attempts: delivered,
answered, right, facility, discrimination, the answers given and the time spent. The rules
are in ``app/reports/``."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence

from quizsession.app.reports.attempt import Examined, rounded
from quizsession.app.reports.model import ItemAnalysis, OptionCount
from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question
from quizsession.domain.scoring import is_correct

TOP_TEXT_ANSWERS = 10


def _answered(answer: AnswerValue) -> bool:
    if answer is None or answer == [] or answer == {}:
        return False
    return not (isinstance(answer, str) and not answer.strip())


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The correlation of ``xs`` and ``ys``; None for n < 2 or zero variance."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return rounded(max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy))))


def _options(
    reference: Question, given: Sequence[tuple[Question, AnswerValue]]
) -> list[OptionCount]:
    """The answer distribution: the responses known upfront (choices, true and
    false...) in their order, then the most frequent others (free texts...), each
    ``response_key`` counted once per answer."""
    known = kind_of(reference).known_responses(reference)
    counts: Counter[str] = Counter()
    right: dict[str, bool] = {}
    for q, a in given:
        if not _answered(a):
            continue
        spec = kind_of(q)
        keys = list(dict.fromkeys(spec.response_key(q, a)))
        counts.update(keys)
        if len(keys) == 1:
            right.setdefault(keys[0], spec.is_correct(q, a))
    found = [
        OptionCount(option=o.key, label=o.label, count=counts.pop(o.key, 0), correct=o.correct)
        for o in known
    ]
    others = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEXT_ANSWERS]
    found += [
        OptionCount(option=k, label=k, count=v, correct=right.get(k, False)) for k, v in others
    ]
    return found


def facility_index(
    points: Sequence[float], lows: Sequence[float], highs: Sequence[float]
) -> float | None:
    """Moodle's facility index in percent: the points earned as a share of the range
    from the lowest possible (``lows``: -penalty) to the highest (``highs``), summed
    over the counted attempts. Always within 0-100, negative marks or not: half the
    candidates right and half wrong is 50 % whatever the penalty. None when nothing
    counts or the range is empty."""
    span = math.fsum(highs) - math.fsum(lows)
    if not points or span <= 0:
        return None
    earned = math.fsum(points) - math.fsum(lows)
    return rounded(max(0.0, min(100.0, 100.0 * earned / span)))


def item_analysis(qid: str, reference: Question, scored: Sequence[Examined]) -> ItemAnalysis:
    points: list[float] = []
    maxima: list[float] = []
    minima: list[float] = []
    rest: list[float] = []
    given: list[tuple[Question, AnswerValue]] = []
    times: list[float] = []
    for a in scored:
        assert a.quiz is not None
        assert a.state.test is not None
        question = a.quiz.test.question(qid)
        if question is None or qid not in a.state.test.delivered_set:
            continue
        earned = a.per_question.get(qid, 0.0)
        points.append(earned)
        maxima.append(question.points)
        minima.append(-question.penalty)
        rest.append(math.fsum(a.per_question.values()) - earned)
        given.append((question, a.state.test.answers.get(qid)))
        if qid in a.time_spent:
            times.append(a.time_spent[qid])
    n = len(points)
    right = sum(1 for q, ans in given if is_correct(q, ans))
    return ItemAnalysis(
        question_id=qid,
        kind=reference.kind,
        text=reference.text,
        max_points=reference.points,
        min_points=-reference.penalty + 0.0,
        delivered=n,
        answered=sum(1 for _q, ans in given if _answered(ans)),
        right=right,
        right_percentage=rounded(100.0 * right / n) if n else None,
        mean_points=rounded(math.fsum(points) / n) if n else None,
        facility=facility_index(points, minima, maxima),
        discrimination=pearson(points, rest),
        options=_options(reference, given),
        time_samples=len(times),
        median_time_s=rounded(statistics.median(times)) if times else None,
        mean_time_s=rounded(statistics.fmean(times)) if times else None,
    )
