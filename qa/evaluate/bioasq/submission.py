"""From question objects to the evaluator's working questions, and exact answers as Java reads them.

Reading (``Task1bData``):

* exact answers are lower-cased but *not* trimmed; a yes/no answer becomes ``"yes"`` if the
  lower-cased text contains "yes", else ``"no"`` if it contains "no" (so "not known" reads as
  "no"), else ``"none"``;
* from version 5 on, only the first string of each submitted item counts (participants no
  longer send synonyms); gold items keep all their synonyms;
* documents are de-duplicated (first occurrence kept) and compared as exact strings (full
  PubMed URLs); nothing is cut to 10 documents or snippets;
* a snippet section name keeps what follows its first dot ("sections.0" -> "0").

Input the Java tool would crash on raises :class:`~qa.errors.CorpusFormatError` naming the
file and the question; the files themselves are parsed by :mod:`qa.corpus.bioasq`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from qa.corpus.bioasq import Snippet, question_documents, question_snippets, string_field
from qa.corpus.files import preview
from qa.errors import CorpusFormatError
from qa.evaluate.bioasq.model import MISSING, YESNO, ExactAnswer, Question


def _java_offsets(snippet: Snippet) -> Snippet:
    """Missing offsets read as 0, as the Java reader leaves them."""
    begin = 0 if snippet.begin is None else snippet.begin
    end = 0 if snippet.end is None else snippet.end
    return replace(snippet, begin=begin, end=end)


def build_questions(raw: Sequence[Mapping], source: str) -> list[Question]:
    """Working copies of checked question objects; documents de-duplicated, first kept."""
    questions = []
    for q in raw:
        where = f"{source}, question {q['id']}"
        qtype = q.get("type")
        documents = list(dict.fromkeys(question_documents(q, where)))
        snippets = question_snippets(q, where, need_text=False)
        questions.append(
            Question(
                id=q["id"],
                type=qtype if isinstance(qtype, str) else None,
                documents=documents,
                snippets=[_java_offsets(s) for s in snippets],
                raw_exact=q.get("exact_answer", MISSING),
                source=source,
                ideal=ideal_answers(q.get("ideal_answer"), where),
            )
        )
    return questions


def ideal_answers(raw: Any, where: str) -> tuple[str, ...]:
    """The non-blank ideal answers of a question: a string, or a list of strings (a gold file's
    alternatives); missing or null gives none."""
    if raw is None:
        return ()
    answers = [raw] if isinstance(raw, str) else raw
    if not isinstance(answers, list):
        raise CorpusFormatError(
            f"{where}: 'ideal_answer' must be a string or a list of strings, got {preview(raw)}."
        )
    texts = (string_field(a, where, "each 'ideal_answer'") for a in answers)
    return tuple(t for t in texts if t.strip())


def _yesno_label(text: str) -> str:
    text = text.lower()
    if "yes" in text:
        return "yes"
    if "no" in text:
        return "no"
    return "none"


def exact_answer(q: Question, qtype: str, version: int, is_gold: bool) -> ExactAnswer | None:
    """Parse (once) the exact answer of ``q``, scored as a ``qtype`` question."""
    if q.parsed_exact is MISSING:
        q.parsed_exact = _parse_exact(q.raw_exact, qtype, version, is_gold, q.where())
    return q.parsed_exact


def _parse_exact(
    raw: Any, qtype: str, version: int, is_gold: bool, where: str
) -> ExactAnswer | None:
    if raw is MISSING:
        return None
    if qtype == YESNO:
        if not isinstance(raw, str):
            raise CorpusFormatError(
                f'{where}: \'exact_answer\' must be a string ("yes" or "no") for a yesno question.'
            )
        return ExactAnswer(label=_yesno_label(raw))
    nested = f"{where}: 'exact_answer' must be a list of lists for a {qtype} question"
    if not isinstance(raw, list):
        raise CorpusFormatError(f"{nested}, got {preview(raw)}.")
    if not raw:
        return ExactAnswer()
    if all(isinstance(x, list) for x in raw):
        items = []
        for item in raw:
            synonyms = [string_field(s, where, "each answer").lower() for s in item]
            if not is_gold and version >= 5:
                synonyms = synonyms[:1]  # since BioASQ5 submitted synonyms are ignored
            items.append(synonyms)
        return ExactAnswer(items=items)
    if version == 2 and not any(isinstance(x, (list, Mapping)) for x in raw):
        # the BioASQ1-2 flat factoid list
        return ExactAnswer(answers=[string_field(x, where, "each answer").lower() for x in raw])
    raise CorpusFormatError(
        f'{nested} (e.g. [["answer", "synonym"], ["other answer"]]), got {preview(raw)}.'
    )
