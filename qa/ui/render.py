"""The chat reply as HTML: answers, evidence passages with entities and answer spans, timings.

Plain functions from the pipeline's dataclasses to HTML, so they are tested without a browser
or Gradio (the app is :mod:`qa.ui.app`).

Every piece of corpus and user text goes through :func:`html.escape` before any markup is
added: a passage that contains ``<script>`` is shown as those characters and runs nothing.
Markup is only ever built around escaped text, never inside it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from qa.corpus.relations.examples import UNKNOWN_PHRASE
from qa.read.confidence import confidences
from qa.types import (
    NO_CONFIDENT_ANSWER,
    RETRIEVAL_ONLY,
    SPAN_TYPES,
    Annotations,
    Answer,
    Entity,
    Hit,
    QAResult,
)

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"

# Entity colours (fill, text); the legend is made from this table.
ENTITY_COLOURS = {
    "CHEMICAL": ("#d6ecff", "#0b4f8a"),
    "DISEASE": ("#ffd9d9", "#8a1111"),
    "GENE": ("#dff5d8", "#256b12"),
    "SPECIES": ("#efe0ff", "#5b2a8c"),
}
OTHER_COLOUR = ("#eeeeee", "#333333")
TIMING_NAMES = {
    "retrieve_ms": "retrieve",
    "qtype_ms": "type",
    "read_ms": "read",
    "yesno_ms": "yes/no",
    "summary_ms": "summary",
    "evidence_ms": "evidence",
    "annotate_ms": "annotate",
}

CSS = """
.qa-reply {font-size: 0.95rem; line-height: 1.45;}
.qa-reply .qa-meta {color: #555; font-size: 0.85rem;}
.qa-reply ol.qa-answers {margin: 0.3rem 0 0.6rem 1.2rem;}
.qa-reply .qa-answer-text {font-weight: 600;}
.qa-reply .qa-conf {color: #555; font-size: 0.85rem;}
.qa-reply .qa-passage {border-left: 3px solid #ccc; padding: 0.2rem 0.6rem; margin: 0.5rem 0;}
.qa-reply .qa-passage.qa-has-answer {border-left-color: #e0a800;}
.qa-reply mark.qa-answer-span {background: #fff0b3; padding: 0 1px; border-radius: 2px;}
.qa-reply mark.qa-answer-span.qa-top {background: #ffd43b; font-weight: 600;}
.qa-reply .qa-ent {border-radius: 3px; padding: 0 2px;}
.qa-reply ul.qa-relations {margin: 0.2rem 0 0 1rem; font-size: 0.85rem;}
.qa-legend span {margin-right: 0.6rem; padding: 0 4px; border-radius: 3px;}
"""


def esc(text: Any) -> str:
    """HTML-escaped text (quotes included), the only way corpus text reaches the page."""
    return html.escape(str(text), quote=True)


def entity_style(label: str) -> str:
    fill, ink = ENTITY_COLOURS.get(label, OTHER_COLOUR)
    return f"background:{fill};color:{ink}"


def legend_html() -> str:
    items = "".join(
        f'<span class="qa-ent qa-ent-{esc(label)}" style="{entity_style(label)}">{esc(label.lower())}</span>'
        for label in ENTITY_COLOURS
    )
    return (
        f'<div class="qa-legend">Entities: {items}'
        '<mark class="qa-answer-span qa-top" style="background:#ffd43b">best answer</mark>'
        '<mark class="qa-answer-span" style="background:#fff0b3">other answers</mark></div>'
    )


def pubmed_link(pmid: str) -> str:
    """A link to the PubMed page of a numeric PMID; anything else is shown as text only."""
    pmid = (pmid or "").strip()
    if not pmid:
        return ""
    if not pmid.isdigit():
        return f'<span class="qa-pmid">{esc(pmid)}</span>'
    url = PUBMED_URL.format(pmid=pmid)
    return f'<a class="qa-pmid" href="{esc(url)}" target="_blank" rel="noopener noreferrer">PMID {pmid}</a>'


def highlight(
    text: str,
    entities: Sequence[Entity] = (),
    answer_spans: Sequence[tuple[int, int]] = (),
    top_spans: Sequence[tuple[int, int]] = (),
) -> str:
    """``text`` escaped, with entities coloured by type and answer spans marked.

    ``top_spans`` (the best answer) get a stronger mark than the other ``answer_spans``.

    The text is cut at every span boundary; each piece is escaped on its own and then wrapped,
    an entity outside a mark. Overlapping entities are resolved as the tagger does: the one that
    starts first (then the longer) wins, the other is dropped. Spans outside the text are
    ignored.
    """
    n = len(text)
    chosen: list[Entity] = []
    for e in sorted(entities, key=lambda e: (e.start, -(e.end - e.start), e.label)):
        if 0 <= e.start < e.end <= n and (not chosen or e.start >= chosen[-1].end):
            chosen.append(e)
    marks = [(s, e) for s, e in [*answer_spans, *top_spans] if 0 <= s < e <= n]
    cuts = sorted(
        {0, n, *(x for e in chosen for x in (e.start, e.end))} | {x for m in marks for x in m}
    )
    parts = []
    ent_at = 0
    for a, b in zip(cuts, cuts[1:]):
        piece = esc(text[a:b])
        if any(s <= a and b <= e for s, e in top_spans):
            piece = f'<mark class="qa-answer-span qa-top">{piece}</mark>'
        elif any(s <= a and b <= e for s, e in marks):
            piece = f'<mark class="qa-answer-span">{piece}</mark>'
        while ent_at < len(chosen) and chosen[ent_at].end <= a:
            ent_at += 1
        if ent_at < len(chosen) and chosen[ent_at].start <= a and b <= chosen[ent_at].end:
            ent = chosen[ent_at]
            piece = (
                f'<span class="qa-ent qa-ent-{esc(ent.label)}" style="{entity_style(ent.label)}" '
                f'title="{esc(ent.label.lower())}">{piece}</span>'
            )
        parts.append(piece)
    return "".join(parts)


def relations_html(annotations: Annotations | None) -> str:
    """The passage's relations as sentences ("aspirin inhibits COX-2"), in the annotator's
    order (best first). The label in words; the model's raw label is never shown."""
    if not annotations or not annotations.relations:
        return ""
    items = "".join(
        f"<li>{esc(r.head.text)} <small>({esc(r.head.label.lower())})</small> "
        f"<b>{esc(r.phrase or UNKNOWN_PHRASE)}</b> {esc(r.tail.text)} "
        f"<small>({esc(r.tail.label.lower())})</small>"
        f' <span class="qa-conf">{r.score:.2f}</span></li>'
        for r in annotations.relations
    )
    return f'<ul class="qa-relations">{items}</ul>'


def passage_html(
    rank: int, hit: Hit, answers: Sequence[Answer], annotations: Annotations | None
) -> str:
    p = hit.passage
    spans = [(a.start, a.end) for a in answers if a.passage.id == p.id]
    top = [(a.start, a.end) for a in answers[:1] if a.passage.id == p.id]
    entities = annotations.entities if annotations else ()
    title = f"<b>{esc(p.title)}</b> " if p.title else ""
    sources = ", ".join(f"{esc(name)} #{r}" for name, r in sorted(hit.sources.items()))
    head = (
        f'<div class="qa-meta">[{rank}] {title}{pubmed_link(p.pmid)} '
        f'<span class="qa-pid">{esc(p.id)}</span>' + (f" · {sources}" if sources else "") + "</div>"
    )
    cls = "qa-passage qa-has-answer" if spans else "qa-passage"
    return (
        f'<div class="{cls}">{head}<div class="qa-text">{highlight(p.text, entities, spans, top)}</div>'
        f"{relations_html(annotations)}</div>"
    )


def answers_html(result: QAResult) -> str:
    if result.qtype == RETRIEVAL_ONLY:
        return '<div class="qa-meta">Retrieval only: this profile has no reader.</div>'
    kind = esc(result.qtype)
    if result.qtype_source == "predicted" and result.qtype_probability is not None:
        kind += f" (predicted, p={result.qtype_probability:.2f})"
    parts = [f'<div class="qa-meta">Question type: <b class="qa-type">{kind}</b></div>']
    if result.yesno is not None and not result.abstained:
        parts.append(
            f'<p class="qa-yesno"><span class="qa-answer-text">{esc(result.yesno.label.capitalize())}</span>'
            f' <span class="qa-conf">(probability of yes {result.yesno.probability:.2f})</span></p>'
        )
    if result.abstained:
        parts.append(
            f'<p class="qa-abstain">{esc(NO_CONFIDENT_ANSWER)}: the best evidence is below.</p>'
        )
    elif result.answers and result.qtype in SPAN_TYPES:
        items = "".join(
            f'<li><span class="qa-answer-text">{esc(a.text)}</span>{synonyms_html(a)} '
            f'<span class="qa-conf" title="share of the reader\'s belief among the shown answers">'
            f"{c:.0%}</span></li>"
            for a, c in zip(result.answers, confidences(result.answers))
        )
        parts.append(f'<ol class="qa-answers">{items}</ol>')
    elif result.qtype in SPAN_TYPES:
        parts.append("<p>No answer was found in the retrieved passages.</p>")
    if result.ideal_answer and not result.abstained:
        parts.append(f'<p class="qa-ideal">{esc(result.ideal_answer)}</p>')
    return "".join(parts)


def synonyms_html(answer: Answer) -> str:
    """The other names the answer was found under, after it."""
    if not answer.synonyms:
        return ""
    return f' <span class="qa-synonyms">(also {esc("; ".join(answer.synonyms))})</span>'


def timings_html(timings: dict[str, float]) -> str:
    stages = [
        f"{name} {timings[key]:.0f} ms" for key, name in TIMING_NAMES.items() if key in timings
    ]
    total = timings.get("total_ms")
    if total is not None:
        stages.append(f"total {total:.0f} ms")
    return f'<div class="qa-meta qa-timings">{esc(" · ".join(stages))}</div>'


def render_reply(result: QAResult, max_passages: int = 5) -> str:
    """One chat reply: answers, the evidence passages (those behind the answers first), timings.
    When the reader abstained, no answer is shown or marked, and the passages keep their rank."""
    answers = [] if result.abstained else result.answers
    answer_ids = list(dict.fromkeys(a.passage.id for a in answers))
    rank_of = {h.passage.id: i for i, h in enumerate(result.hits, 1)}
    by_id = {h.passage.id: h for h in result.hits}
    shown = [pid for pid in answer_ids if pid in by_id]
    shown += [h.passage.id for h in result.hits if h.passage.id not in shown]
    evidence = "".join(
        passage_html(rank_of[pid], by_id[pid], answers, result.annotations.get(pid))
        for pid in shown[:max_passages]
    )
    return (
        f'<div class="qa-reply">{answers_html(result)}'
        f'<div class="qa-meta">Evidence ({min(max_passages, len(shown))} of {len(result.hits)} passages):</div>'
        f"{evidence}{timings_html(result.timings)}</div>"
    )


def error_html(message: str) -> str:
    return f'<div class="qa-reply qa-error"><b>Error:</b> {esc(message)}</div>'
