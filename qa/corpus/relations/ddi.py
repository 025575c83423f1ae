"""DDI-2013 in the challenge's XML: drug–drug pairs of each sentence.

``charOffset`` ends are inclusive; discontinuous mentions (``a-b;c-d``) become the span from
``a`` to ``d``; all four mention types (drug, brand, group, drug_n) are ``CHEMICAL``. The
shared test copy lacks 31 of the 191 documents (corrupt upstream), so test figures cover 160
documents. Each example's ``source`` is the line of its ``<pair>`` element.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.parsers import expat

from qa.corpus.files import encoding_error, refuse_entities
from qa.corpus.relations.examples import (
    CHEMICAL,
    DDI_TYPES,
    NONE,
    RelationExample,
    line_error,
    span_entity,
)
from qa.errors import CorpusFormatError


def _ddi_offsets(value: str) -> tuple[int, int]:
    """``a-b`` or ``a-b;c-d`` (inclusive ends) as one half-open span from a to d."""
    bounds = []
    for piece in value.split(";"):
        a, b = piece.strip().split("-")
        bounds += [int(a), int(b) + 1]
    return min(bounds), max(bounds)


def _pair_label(attrs: dict[str, str], path: Path, lineno: int) -> str:
    ddi = attrs.get("ddi", "").lower()
    kind = attrs.get("type", "").lower()
    if ddi == "true" and kind in DDI_TYPES:
        return f"chemical-chemical:{kind}"
    if ddi == "false":
        return NONE
    raise line_error(
        path,
        lineno,
        f'<pair ddi="{ddi}" type="{kind}">: expected ddi="false", or ddi="true" '
        f"with a type in {sorted(DDI_TYPES)}",
    )


def _add_entity(state: dict[str, Any], attrs: dict[str, str], path: Path, lineno: int) -> None:
    text = state["text"]
    try:
        eid, offsets, mention = attrs["id"], attrs["charOffset"], attrs["text"]
        begin, end = _ddi_offsets(offsets)
    except (KeyError, ValueError):
        raise line_error(
            path, lineno, "<entity> needs id, charOffset ('a-b' or 'a-b;c-d') and text"
        ) from None
    if text is None or not 0 <= begin < end <= len(text):
        raise line_error(path, lineno, f"entity {eid} at {offsets} lies outside its sentence")
    if ";" not in offsets and text[begin:end] != mention:
        raise line_error(
            path,
            lineno,
            f"entity {eid} {mention!r} does not match the sentence at {offsets} "
            f"({text[begin:end]!r})",
        )
    state["entities"][eid] = span_entity(text, begin, end, CHEMICAL)


def read_ddi_file(path: str | Path) -> list[RelationExample]:
    """Every ``<pair>`` of one DDI-2013 document, with the line of its XML element."""
    path = Path(path)
    examples: list[RelationExample] = []
    state: dict[str, Any] = {"text": None, "entities": {}}
    parser = expat.ParserCreate()
    refuse_entities(parser, path)

    def start(name: str, attrs: dict[str, str]) -> None:
        lineno = parser.CurrentLineNumber
        if name == "sentence":
            if "text" not in attrs:
                raise line_error(path, lineno, "<sentence> without a text attribute")
            state["text"] = attrs["text"].rstrip()
            state["entities"] = {}
        elif name == "entity":
            _add_entity(state, attrs, path, lineno)
        elif name == "pair":
            entities = state["entities"]
            if attrs.get("e1") not in entities or attrs.get("e2") not in entities:
                raise line_error(path, lineno, "<pair> refers to an entity not in its sentence")
            examples.append(
                RelationExample(
                    text=state["text"],
                    head=entities[attrs["e1"]],
                    tail=entities[attrs["e2"]],
                    label=_pair_label(attrs, path, lineno),
                    family="chemical-chemical",
                    corpus="ddi-2013",
                    source=f"{path}:{lineno}",
                    meta={"pair": attrs.get("id", "")},
                )
            )

    parser.StartElementHandler = start
    try:
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        message = expat.errors.messages[exc.code]
        raise line_error(path, exc.lineno, f"not well-formed XML ({message})") from exc
    except OSError as exc:
        raise CorpusFormatError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    except (LookupError, ValueError) as exc:  # an encoding="..." that expat cannot use
        raise encoding_error(path, exc) from exc
    return examples


def read_ddi(path: str | Path) -> list[RelationExample]:
    """A DDI-2013 XML file, or every ``*.xml`` under a folder (sorted, so runs repeat)."""
    path = Path(path)
    files = sorted(path.rglob("*.xml")) if path.is_dir() else [path]
    return [e for file in files for e in read_ddi_file(file)]
