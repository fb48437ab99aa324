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
from quizsession.domain.quiz import Question
from quizsession.domain.scoring import is_correct, normalize_text

TOP_TEXT_ANSWERS = 10


def _answered(answer: AnswerValue) -> bool:
    if answer is None or answer == []:
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
    kind = reference.kind
    answers = [(q, a) for q, a in given if _answered(a)]
    if kind in ("single", "multiple"):
        counts: Counter[str] = Counter()
        for _q, a in answers:
            counts.update(a if isinstance(a, list) else [str(a)])
        found = [
            OptionCount(option=c.id, label=c.text, count=counts.pop(c.id, 0), correct=c.correct)
            for c in reference.choices
        ]
        found += [OptionCount(option=k, label=k, count=v, correct=False) for k, v in counts.items()]
        return found
    if kind == "true_false":
        return [
            OptionCount(
                option=str(value).lower(),
                label=str(value),
                count=sum(1 for _q, a in answers if a is value),
                correct=reference.correct is value,
            )
            for value in (True, False)
        ]
    if kind == "short_text":
        texts: Counter[str] = Counter()
        right: dict[str, bool] = {}
        for q, a in answers:
            key = normalize_text(str(a), case_sensitive=q.case_sensitive)
            texts[key] += 1
            right.setdefault(key, is_correct(q, a))
        top = sorted(texts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEXT_ANSWERS]
        return [OptionCount(option=k, label=k, count=v, correct=right[k]) for k, v in top]
    within = sum(1 for q, a in answers if is_correct(q, a))
    return [
        OptionCount(
            option="within_tolerance", label="within tolerance", count=within, correct=True
        ),
        OptionCount(
            option="outside_tolerance",
            label="outside tolerance",
            count=len(answers) - within,
            correct=False,
        ),
    ]


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
