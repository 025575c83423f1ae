"""``qa``: the command line, a thin shell over the library.

Every command maps its arguments onto one library call and prints the result (``--json`` for
machines). Errors the user can fix are printed as one line, without a traceback, exit code 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from qa.cli_common import (
    add_device_arg,
    add_training_args,
    command_line,
    print_json,
    training_kwargs,
)
from qa.config import available_profiles, load_profile
from qa.errors import QAError

DEMO_QUESTIONS = (
    "Which gene is mutated in Rett syndrome?",
    "What does imatinib inhibit?",
    "Is metformin used to treat type 2 diabetes?",
)


def _print_hits(hits, width: int = 160) -> None:
    for rank, hit in enumerate(hits, start=1):
        where = f"PMID {hit.passage.pmid}" if hit.passage.pmid else hit.passage.id
        if hit.passage.title:
            where += f" · {hit.passage.title}"
        sources = ", ".join(f"{k} #{v}" for k, v in sorted(hit.sources.items()))
        text = " ".join(hit.passage.text.split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        print(f"{rank:>2}. [{hit.score:.4f}] {where} ({sources})\n    {text}")


# --- corpus -------------------------------------------------------------------------------


def cmd_corpus(args: argparse.Namespace) -> int:
    from qa.corpus import read_corpus, write_jsonl

    chunking = load_profile(args.profile).chunking
    max_tokens = args.max_tokens or chunking.max_tokens
    passages = read_corpus(
        args.kind, args.inputs, max_tokens=max_tokens, overlap_sentences=chunking.overlap_sentences
    )
    count = write_jsonl(passages, args.output)
    print(f"Wrote {count} passages to {args.output}", file=sys.stderr)
    return 0


# --- index --------------------------------------------------------------------------------


def cmd_index_build(args: argparse.Namespace) -> int:
    from qa.corpus import read_corpus
    from qa.index.store import build_index

    profile = load_profile(args.profile)
    passages = read_corpus(
        args.format,
        args.inputs,
        max_tokens=profile.chunking.max_tokens,
        overlap_sentences=profile.chunking.overlap_sentences,
    )
    manifest = build_index(passages, args.output, profile, device=args.device)
    print(
        f"Indexed {manifest['passages']} passages into {args.output} with profile "
        f"{profile.name} in {manifest['build_seconds']} s",
        file=sys.stderr,
    )
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from qa.index.store import read_manifest, verify_files

    manifest = read_manifest(args.index)
    if args.verify:
        verify_files(Path(args.index), manifest)
    if args.json:
        print_json(manifest)
        return 0
    prof = manifest["profile"]
    emb = manifest["embedder"]
    size = sum(f.stat().st_size for f in Path(args.index).rglob("*") if f.is_file())
    print(f"index       {args.index}")
    print(f"passages    {manifest['passages']}")
    print(f"profile     {prof['name']}")
    print(f"embedder    {emb['model']} (revision {emb['revision']}, dim {emb['dim']})")
    print(f"faiss       {prof['index']['faiss']}")
    print(
        f"bm25        {prof['index']['bm25_method']} k1={prof['index']['bm25_k1']} b={prof['index']['bm25_b']}"
    )
    fusion = prof["fusion"]
    print(f"fusion      {fusion['method']} (rrf_k={fusion['rrf_k']}, depth={fusion['depth']})")
    print(f"built       {manifest['built_at']} in {manifest['build_seconds']} s")
    print(f"size        {size / 1e6:.1f} MB in {len(manifest['files'])} files")
    if args.verify:
        print("checksums   all files match")
    return 0


# --- search -------------------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    qa = QA.load(args.index, profile=args.profile, device=args.device)
    started = time.perf_counter()
    hits = qa.search(args.query, k=args.k, mode=args.mode)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        print_json(
            {
                "query": args.query,
                "mode": args.mode,
                "ms": round(elapsed, 1),
                "hits": [h.to_dict() for h in hits],
            }
        )
    else:
        _print_hits(hits)
        print(f"({args.mode}, {elapsed:.0f} ms)", file=sys.stderr)
    return 0


# --- eval ---------------------------------------------------------------------------------


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from qa.corpus.bioasq import load_golden
    from qa.evaluate.retrieval import evaluate_retrieval
    from qa.index.store import load_index

    profile = load_profile(args.profile) if args.profile else None
    index = load_index(args.index, profile, device=args.device)
    questions = load_golden(args.gold)
    if args.limit:
        questions = questions[: args.limit]
    results = evaluate_retrieval(index, questions, modes=args.modes)
    if args.json:
        print_json(results)
    else:
        print(
            f"{'retriever':<10} {'hit@10':>8} {'mrr@10':>8} {'recall@100':>11} {'map@10':>8} {'n':>5}"
        )
        for mode, m in results.items():
            print(
                f"{mode:<10} {m['hit@10']:>8.3f} {m['mrr@10']:>8.3f} {m['recall@100']:>11.3f} "
                f"{m.get('map@10', 0):>8.3f} {m['questions']:>5}"
            )
    return 0


def cmd_eval_score(args: argparse.Namespace) -> int:
    from qa.evaluate.bioasq import evaluate_bioasq

    result = evaluate_bioasq(args.gold, args.submission, version=args.version)
    if args.json:
        print_json(result)
        return 0
    b = result["phase_b"]
    print(
        f"version {result['version']}: {result['submitted_questions']} submitted of "
        f"{result['gold_questions']} gold questions"
    )
    f, li, y = b["factoid"], b["list"], b["yesno"]
    print(
        f"factoid  strict {f['strict_accuracy']:.4f}  lenient {f['lenient_accuracy']:.4f}  "
        f"MRR {f['mrr']:.4f}  (n={f['questions']})"
    )
    print(
        f"list     P {li['mean_precision']:.4f}  R {li['mean_recall']:.4f}  "
        f"F1 {li['mean_f1']:.4f}  (n={li['questions']})"
    )
    print(
        f"yes/no   accuracy {y['accuracy']:.4f}  macro-F1 {y['macro_f1']:.4f}  (n={y['questions']})"
    )
    for part in ("documents", "snippets"):
        a = result["phase_a"][part]
        print(f"{part:<10}MAP {a['map']:.4f}  GMAP {a['gmap']:.4f}  F1 {a['f_measure']:.4f}")
    return 0


# --- train --------------------------------------------------------------------------------


def cmd_train_embedder(args: argparse.Namespace) -> int:
    from qa.train.embedder import train_embedder

    kwargs = training_kwargs(args)
    result = train_embedder(
        args.train, args.dev, args.output, **kwargs, hard_negatives=not args.no_hard_negatives
    )
    print_json(result)
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from qa.train.reader import train_reader

    print_json(train_reader(args.train, args.dev, args.output, **training_kwargs(args)))
    return 0


def _print_result(result) -> None:
    kind = f"{result.qtype} ({result.qtype_source}"
    if result.qtype_probability is not None:
        kind += f", p={result.qtype_probability:.2f}"
    print(f"type: {kind})")
    if result.yesno:
        print(f"answer: {result.yesno.label}  (P(yes) = {result.yesno.probability:.2f})")
    for rank, answer in enumerate(result.answers, start=1):
        where = f"PMID {answer.passage.pmid}" if answer.passage.pmid else answer.passage.id
        print(
            f"{rank}. {answer.text}  [{answer.score:.2f}]  ({where}, {len(answer.support)} passage(s))"
        )
    if result.ideal_answer:
        print(f"ideal answer: {result.ideal_answer}")
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings.items())
    print(f"({timings})", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    qa = QA.load(args.index, profile=args.profile, device=args.device)
    qtype = None if args.type == "auto" else args.type
    result = qa.ask(args.question, qtype=qtype, k=args.k, mode=args.mode, ideal=args.ideal)
    if args.json:
        print_json(result.to_dict())
        return 0
    _print_result(result)
    return 0


def cmd_train_yesno(args: argparse.Namespace) -> int:
    from qa.train.yesno import train_yesno

    print_json(train_yesno(args.train, args.dev, args.output, **training_kwargs(args)))
    return 0


def cmd_train_qtype(args: argparse.Namespace) -> int:
    from qa.corpus.bioasq import load_golden
    from qa.read.qtype import train_qtype

    train = [(q.body, q.type) for q in load_golden(args.train)]
    dev = [(q.body, q.type) for q in load_golden(args.dev)] if args.dev else []
    dev_bodies = {body.lower() for body, _ in dev}
    train = [(b, t) for b, t in train if b.lower() not in dev_bodies]
    print_json(train_qtype(train, dev, args.output, command=command_line()))
    return 0


def cmd_eval_bioasq(args: argparse.Namespace) -> int:
    from qa.evaluate.run import report_markdown, run_bioasq, write_json
    from qa.pipeline import QA

    if bool(args.index) == bool(args.snippets):
        raise QAError("Give either --index DIR (retrieved passages) or --snippets gold.")
    qa = QA.load(args.index or None, profile=args.profile, device=args.device)
    run = run_bioasq(
        qa,
        args.gold,
        snippets="gold" if args.snippets else None,
        k=args.k,
        mode=args.mode,
        limit=args.limit,
        predict_types=args.predict_types,
    )
    if args.submission:
        write_json(run["submission"], args.submission)
        print(f"Wrote the submission to {args.submission}", file=sys.stderr)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report_markdown(run, command=command_line()), encoding="utf-8")
        print(f"Wrote the report to {args.out}", file=sys.stderr)
    metrics = run["metrics"]
    if args.json:
        print_json(metrics)
        return 0
    print(f"mode: {metrics['mode']}  questions: {metrics['n_questions']}")
    for kind in ("factoid", "list", "yesno"):
        print(f"{kind:8} " + "  ".join(f"{k} {v:.4f}" for k, v in metrics[kind].items()))
    if metrics["retrieval"]:
        print("retrieval " + "  ".join(f"{k} {v:.4f}" for k, v in metrics["retrieval"].items()))
    print(f"latency  p50 {metrics['latency_ms']['p50']} ms  p95 {metrics['latency_ms']['p95']} ms")
    return 0


# --- demo ---------------------------------------------------------------------------------


def demo_index(index_dir: Path, profile, device: str = "auto"):
    """The demo index over the bundled corpus: built on first start (or when stale), then reused."""
    from qa.corpus import read_corpus
    from qa.errors import IndexStoreError
    from qa.index.store import build_index
    from qa.pipeline import QA

    demo_file = Path(__file__).parent / "data" / "demo_passages.jsonl"
    try:
        return QA.load(index_dir, profile=profile, device=device)
    except IndexStoreError as exc:
        # Missing, damaged, or built with other models (say, before an upgrade): rebuild it.
        reason = "first start" if not index_dir.exists() else str(exc).split(":")[0]
        print(f"Building the demo index in {index_dir} ({reason})…", file=sys.stderr)
        build_index(read_corpus("jsonl", [demo_file]), index_dir, profile, device=device)
        return QA.load(index_dir, profile=profile, device=device)


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    qa = demo_index(Path(args.index), load_profile(args.profile), args.device)
    if not args.questions and not args.no_serve:
        from qa.ui import serve

        print(f"Demo index ready in {time.perf_counter() - started:.1f} s.", file=sys.stderr)
        serve(qa, host=args.host, port=args.port)
        return 0
    questions = args.questions or list(DEMO_QUESTIONS)
    for question in questions:
        print(f"\nQ: {question}")
        if qa.settings["model"]:  # a profile with a reader answers; one without lists passages
            result = qa.ask(question, k=max(args.k, 10))
            _print_result(result)
            _print_hits(result.hits[: args.k])
        else:
            _print_hits(qa.search(question, k=args.k))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.pipeline import QA
    from qa.ui import serve

    qa = QA.load(args.index, profile=args.profile, device=args.device)
    serve(qa, host=args.host, port=args.port)
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    if (args.text is None) == (args.file is None):
        raise QAError('Give either a text (qa annotate "…") or --file FILE, not both.')
    if args.file is not None:
        path = Path(args.file)
        if not path.is_file():
            raise QAError(f"No file {path}: give a plain-text file to annotate.")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise QAError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    else:
        text = args.text
    qa = QA.load(None, profile=args.profile, device=args.device)
    started = time.perf_counter()
    found = qa.annotate(text)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        print_json({**found.to_dict(), "ms": round(elapsed, 1)})
        return 0
    print(f"{len(found.entities)} entities, {len(found.relations)} relations ({elapsed:.0f} ms)")
    for e in found.entities:
        print(f"  {e.start:>6}-{e.end:<6} {e.label:9} {e.text}  ({e.score:.2f})")
    for r in found.relations:
        print(
            f"  {r.head.text} ({r.head.label}) -> {r.label} -> {r.tail.text} ({r.tail.label})  ({r.score:.2f})"
        )
    return 0


# --- parser -------------------------------------------------------------------------------


def _profile_arg(parser: argparse.ArgumentParser, default: str | None = "embedded") -> None:
    parser.add_argument(
        "--profile",
        default=default,
        help=f"profile name ({', '.join(available_profiles())}) or path to a .toml file"
        + ("" if default else " (default: the one the index was built with)"),
    )


def _host_port_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7860)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Biomedical question answering.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("corpus", help="turn corpus files into passages (JSONL)")
    p.add_argument("kind", choices=["bioasq", "jsonl", "pubmed", "pubmedqa"])
    p.add_argument("inputs", nargs="+", help="input files")
    p.add_argument("-o", "--output", required=True, help="passages.jsonl to write")
    p.add_argument("--max-tokens", type=int, default=0, help="passage budget (default: profile)")
    _profile_arg(p)
    p.set_defaults(func=cmd_corpus)

    index = sub.add_parser("index", help="build or inspect an index").add_subparsers(
        dest="index_command", required=True
    )
    p = index.add_parser("build", help="index passages (BM25 + dense)")
    p.add_argument("inputs", nargs="+", help="passage files (JSONL from qa corpus, or --format)")
    p.add_argument("-o", "--output", required=True, help="index folder, e.g. indexes/bioasq")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "bioasq", "pubmed", "pubmedqa"])
    _profile_arg(p)
    add_device_arg(p)
    p.set_defaults(func=cmd_index_build)
    p = index.add_parser("info", help="describe an index")
    p.add_argument("index")
    p.add_argument("--verify", action="store_true", help="check every file's checksum")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_index_info)

    p = sub.add_parser("search", help="retrieve passages for a query")
    p.add_argument("query")
    p.add_argument("--index", required=True)
    p.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "hybrid"])
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--json", action="store_true")
    _profile_arg(p, default=None)
    add_device_arg(p)
    p.set_defaults(func=cmd_search)

    evaluate = sub.add_parser("eval", help="evaluate on BioASQ").add_subparsers(
        dest="eval_command", required=True
    )
    p = evaluate.add_parser("retrieval", help="hit@10, mrr@10, recall@100, document map@10")
    p.add_argument("--gold", nargs="+", required=True, help="BioASQ golden JSON files")
    p.add_argument("--index", required=True)
    p.add_argument(
        "--modes",
        nargs="+",
        default=["bm25", "dense", "hybrid"],
        choices=["bm25", "dense", "hybrid"],
    )
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--json", action="store_true")
    _profile_arg(p, default=None)
    add_device_arg(p)
    p.set_defaults(func=cmd_eval_retrieval)

    p = evaluate.add_parser("score", help="score a BioASQ submission file (official measures)")
    p.add_argument("--gold", nargs="+", required=True, help="BioASQ golden JSON files")
    p.add_argument("--submission", required=True, help="submission JSON (BioASQ format)")
    p.add_argument(
        "--version",
        type=int,
        default=9,
        choices=[2, 3, 5, 8, 9],
        help="challenge version, the official evaluator's -e flag (default 9, the "
        "current format; the Java tool itself defaults to 2)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_score)

    p = evaluate.add_parser(
        "bioasq",
        help="answer BioASQ questions, write a submission and score it (official measures)",
    )
    p.add_argument("--gold", nargs="+", required=True, help="BioASQ golden JSON files")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", help="answer from this index's retrieved passages")
    where.add_argument(
        "--snippets", choices=["gold"], help="answer from each question's gold snippets (phase B)"
    )
    p.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "hybrid"])
    p.add_argument("-k", type=int, default=10, help="passages read per question (--index)")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument(
        "--predict-types", action="store_true", help="use the question-type classifier, not gold"
    )
    p.add_argument("--submission", help="write the submission (BioASQ JSON) here")
    p.add_argument("--out", help="write a Markdown report here")
    p.add_argument("--json", action="store_true")
    _profile_arg(p, default=None)
    add_device_arg(p)
    p.set_defaults(func=cmd_eval_bioasq)

    train = sub.add_parser("train", help="fine-tune models").add_subparsers(
        dest="train_command", required=True
    )
    p = train.add_parser("embedder", help="fine-tune the sentence encoder on BioASQ")
    p.add_argument("--train", nargs="+", required=True, help="BioASQ golden files (4B–9B)")
    p.add_argument("--dev", nargs="+", required=True, help="BioASQ golden files (10B)")
    add_training_args(p, epochs=1, batch_size=32, lr=3e-5)
    p.add_argument("--no-hard-negatives", action="store_true")
    p.set_defaults(func=cmd_train_embedder)

    p = train.add_parser("reader", help="fine-tune an extractive reader on BioASQ spans")
    p.add_argument(
        "--train",
        nargs="+",
        required=True,
        help="BioASQ golden files (4B–9B) and/or SQuAD-format JSON",
    )
    p.add_argument("--dev", nargs="+", default=[], help="BioASQ golden files (10B)")
    add_training_args(p, epochs=2, batch_size=16, lr=5e-5, max_seq_length=256)
    p.set_defaults(func=cmd_train_reader)

    p = train.add_parser("yesno", help="fine-tune the yes/no classifier on BioASQ (+PubMedQA)")
    p.add_argument(
        "--train",
        nargs="+",
        required=True,
        help="BioASQ golden files (4B–9B) and/or PubMedQA ori_pqal.json",
    )
    p.add_argument("--dev", nargs="+", default=[], help="BioASQ golden files (10B)")
    add_training_args(p, epochs=3, batch_size=16, lr=5e-5, max_seq_length=256)
    p.set_defaults(func=cmd_train_yesno)

    p = train.add_parser("qtype", help="fit the question-type classifier on BioASQ questions")
    p.add_argument("--train", nargs="+", required=True, help="BioASQ golden files (4B–9B)")
    p.add_argument("--dev", nargs="+", default=[], help="BioASQ golden files (10B)")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(func=cmd_train_qtype)

    from qa.cli_ner import add_eval_ner, add_train_ner
    from qa.cli_relations import add_eval_relations, add_train_relations

    add_train_ner(train)
    add_eval_ner(evaluate)
    add_train_relations(train)
    add_eval_relations(evaluate)

    p = sub.add_parser("ask", help="answer a question from an index")
    p.add_argument("question")
    p.add_argument("--index", required=True)
    p.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "hybrid"])
    p.add_argument("-k", type=int, default=10, help="passages to read")
    p.add_argument(
        "--type",
        default="auto",
        choices=["auto", "factoid", "list", "yesno", "summary"],
        help="question type (default: predicted)",
    )
    p.add_argument("--ideal", action="store_true", help="also write an ideal (summary) answer")
    p.add_argument("--json", action="store_true")
    _profile_arg(p, default=None)
    add_device_arg(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "demo", help="build the bundled demo index if missing, then serve the chat UI"
    )
    p.add_argument(
        "questions", nargs="*", help="answer these in the terminal instead of serving the UI"
    )
    p.add_argument("--index", default="indexes/demo")
    p.add_argument("-k", type=int, default=3, help="passages printed per question (terminal)")
    p.add_argument(
        "--no-serve", action="store_true", help="answer three example questions and exit"
    )
    _host_port_args(p)
    _profile_arg(p)
    add_device_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the Gradio chat UI over an index")
    p.add_argument("--index", required=True)
    _host_port_args(p)
    _profile_arg(p, default=None)
    add_device_arg(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("annotate", help="entities and relations of a text")
    p.add_argument("text", nargs="?", help="the text (or --file)")
    p.add_argument("--file", help="a UTF-8 text file to annotate")
    p.add_argument("--json", action="store_true")
    _profile_arg(p)
    add_device_arg(p)
    p.set_defaults(func=cmd_annotate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A plain `kill` becomes an exception, so half-built indexes are cleaned up on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return args.func(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
