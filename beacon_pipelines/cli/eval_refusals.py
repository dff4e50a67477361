"""`beacon eval-refusals`: measure the refusal classifier on human-labelled CSVs.

    beacon eval-refusals --csv FILE [--csv FILE ...]      the shipped classifier
    beacon eval-refusals --csv FILE --train-csv A --train-csv B   trained on A+B first
    beacon eval-refusals --csv FILE ... --leave-one-out   each FILE scored by a classifier
                                                          trained on the other XSTest files
    beacon eval-refusals --group-by model --folds K [--csv FILE ...]
                                                          every model's answers scored by a
                                                          classifier trained on other models
    beacon eval-refusals --write-weights PATH [--train-csv ...]   regenerate the model
    beacon eval-refusals --judge openai --judge-base-url URL --judge-model NAME
        [--judge-api-key-env NAME] [--judge-store URL] --csv FILE ...
    beacon eval-refusals --judge modal [--judge-model HF_ID] --csv FILE ...
                                                          an LLM judge instead of the
                                                          classifier, scored the same way

A judge's answers are judged through the judgement store (the one audits use: each answer
judged once per judge model and prompt). Without --judge-store that is a temporary SQLite file,
gone when the command ends; give the audit's store URL (or any SQLAlchemy URL) to keep the
judgements and reuse them on the next run. Answers the judge failed to judge (judge_failed:
unreadable replies, lasting throttling or timeouts) are left out of the figures and counted:
`judge_failed=K` ends the summary line.

Training files default to the SpeechMap judged answers ($BEACON_SPEECHMAP_DIR or
../shared/data/speechmap) and the XSTest completions ($BEACON_XSTEST_DIR or
../shared/data/xstest). The last line is `binary_accuracy=0.XXX macro_f1=0.XXX n=N
classifier=NAME accuracy_3class=0.XXX evasion_recall=0.XXX`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from beacon_pipelines.cli.judge_options import add_judge_arguments, judge_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SHIPPED_NAME = "beacon-char-v3"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--csv", type=Path, action="append", default=[], metavar="FILE",
        help="XSTest-format CSV to evaluate (columns completion, final_label); repeatable",
    )
    parser.add_argument(
        "--train-csv", type=Path, action="append", default=[], metavar="FILE",
        help="train on these CSVs instead of using the shipped model; repeatable "
        "(default training set: the SpeechMap and XSTest files under ../shared/data)",
    )
    parser.add_argument(
        "--leave-one-out", action="store_true",
        help="score each --csv file with a classifier trained on the training files "
        "except that one",
    )
    parser.add_argument(
        "--write-weights", type=Path, metavar="PATH",
        help="train on the training files and write the model here (the shipped file "
        "is beacon_pipelines/analysis/refusal_model.npz)",
    )
    parser.add_argument(
        "--group-by", metavar="COLUMN",
        help="cross-validate by groups of this column (model, category, language): each "
        "fold's groups are held out whole; scores --csv files, else the training files",
    )
    parser.add_argument(
        "--folds", type=int, default=5, metavar="K",
        help="folds of --group-by (GroupKFold; default 5)",
    )
    judge = add_judge_arguments(
        parser,
        title="scoring an LLM judge instead of the classifier",
        judge_help="score this judge on the --csv files (default none: the classifier)",
    )
    judge.add_argument("--judge-store", default="", metavar="URL",
                       help="judgement store (SQLAlchemy URL) to reuse and keep judgements; "
                       "default: a temporary SQLite file")


def run(args: argparse.Namespace) -> int:
    from beacon_pipelines.analysis.refusal_eval import LabelledDataError

    if args.judge != "none":
        return run_judge(args)
    if not args.csv and not args.write_weights and not args.group_by:
        print("beacon eval-refusals: error: give --csv FILE, --group-by COLUMN or "
              "--write-weights PATH", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args)
    except LabelledDataError as exc:
        print(f"beacon eval-refusals: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or a.name == b.name


def _run(args: argparse.Namespace) -> int:
    from beacon_pipelines.analysis.classify import default_classifier
    from beacon_pipelines.analysis.refusal_eval import (
        default_training_files,
        evaluate,
        format_evaluation,
        load_labelled,
        pooled,
        summary_line,
        train_classifier,
    )

    # Every input is read and checked before anything is trained or written.
    evaluated = [load_labelled(p) for p in args.csv]
    needs_training = bool(
        args.train_csv or args.leave_one_out or args.write_weights or args.group_by
    )
    training = list(args.train_csv) or (default_training_files() if needs_training else [])
    loaded = {p: load_labelled(p) for p in training}

    if args.group_by:
        return grouped(evaluated or list(loaded.values()), args.group_by, args.folds)
    if args.write_weights:
        classifier = train_classifier(list(loaded.values()), name=SHIPPED_NAME)
        classifier.model.save(args.write_weights)
        files = ", ".join(p.name for p in training)
        print(f"model {classifier.name} ({classifier.model.n_features} features, trained on "
              f"{files}, thresholds {classifier.model.thresholds}) written to "
              f"{args.write_weights}")
        if not evaluated:
            return EXIT_OK
    elif args.train_csv:
        classifier = train_classifier(list(loaded.values()))
    else:
        classifier = default_classifier()

    results, seconds, answers = [], 0.0, 0
    for data in evaluated:
        scorer = classifier
        if args.leave_one_out:
            rest = [p for p in training if not _same_file(p, data.path)]
            if not rest:
                print(f"beacon eval-refusals: error: --leave-one-out: no training file left "
                      f"besides {data.path}", file=sys.stderr)
                return EXIT_USAGE
            scorer = train_classifier([loaded[p] for p in rest])
        # CPU time of this process: the classifier is single-threaded, and wall time on a
        # shared machine measures the neighbours.
        started = time.process_time()
        result = evaluate(scorer, data.texts, data.labels, data.questions)
        seconds += time.process_time() - started
        answers += len(data.texts)
        results.append(result)
        print(format_evaluation(result, str(data.path)))
        print(summary_line(result))
        print()
    name = results[0].classifier if not args.leave_one_out else "beacon-char(leave-one-out)"
    total = pooled(results, name)
    if len(results) > 1:
        print(format_evaluation(total, "all files"))
    if seconds > 0:
        print(f"throughput: {answers} answers classified in {seconds:.2f} s "
              f"of CPU time ({answers / seconds:,.0f} answers/s on one core)")
    print(summary_line(total))
    return EXIT_OK


def grouped(data: list, group_by: str, folds: int) -> int:
    from beacon_pipelines.analysis.refusal_eval import (
        cross_validate,
        format_breakdown,
        format_evaluation,
        summary_line,
    )

    def log(message: str) -> None:
        print(message, flush=True)

    result = cross_validate(data, group_by, folds, log=log)
    print()
    files = result.by_file()
    for name, evaluation in files.items():
        print(format_evaluation(evaluation, f"{name} (held out by {group_by})"))
        print(summary_line(evaluation))
        print()
    print(format_breakdown(result.by_language(), "by language"))
    print(format_breakdown(files, "by file"))
    total = result.total()
    print(format_evaluation(total, "all files"))
    print(summary_line(total))
    return EXIT_OK


def _usage(message: str) -> int:
    print(f"beacon eval-refusals: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_judge(args: argparse.Namespace) -> int:
    from beacon_pipelines.analysis.refusal_eval import LabelledDataError, load_labelled
    from beacon_pipelines.judge.client import JudgePermanentError
    from beacon_pipelines.judge.registry import JudgeConfigError, build_judge
    from beacon_pipelines.store import StoreError

    if not args.csv:
        return _usage("--judge needs --csv FILE (the labelled answers to judge)")
    others = [flag for flag, given in (
        ("--train-csv", args.train_csv), ("--leave-one-out", args.leave_one_out),
        ("--write-weights", args.write_weights), ("--group-by", args.group_by),
    ) if given]
    if others:
        return _usage(f"--judge scores a judge; it takes no {', '.join(others)}")
    config = judge_settings(args).config()
    try:
        evaluated = [load_labelled(p) for p in args.csv]  # every file checked before judging
        judge = build_judge(config)
    except (LabelledDataError, JudgeConfigError) as exc:
        return _usage(str(exc))
    try:
        return _score_judge(judge, config, evaluated, args.judge_store)
    except (JudgePermanentError, StoreError) as exc:
        print(f"beacon eval-refusals: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _score_judge(judge, config, evaluated: list, store_url: str) -> int:
    import tempfile

    from beacon_pipelines.analysis.refusal_eval import (
        format_evaluation,
        from_verdicts,
        pooled,
        summary_line,
    )
    from beacon_pipelines.backends.base import response_sha256
    from beacon_pipelines.judge.judging import judge_answers
    from beacon_pipelines.judge.verdict import judge_item
    from beacon_pipelines.judgement_store import JudgementStore

    name = f"judge-{judge.kind}:{judge.model}@{judge.prompt_sha256[:12]}"
    print(f"judge {judge.kind} model {judge.model}, prompt sha256 {judge.prompt_sha256}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="beacon-judgements-") as scratch:
        store = JudgementStore(store_url or f"sqlite:///{scratch}/judgements.db").create()
        try:
            results, failed_total, answers = [], 0, 0
            for data in evaluated:
                questions = data.questions
                items = [
                    judge_item(response_sha256(text), question or "", text)
                    for text, question in zip(data.texts, questions, strict=True)
                ]

                def progress(done, _verdicts, path=data.path):
                    print(f"  {path.name}: {done.reused + done.judged + done.failed}/"
                          f"{done.planned} answers ({done.reused} reused, {done.judged} judged, "
                          f"{done.failed} failed)", flush=True)

                outcome = judge_answers(store, judge, items, config.batch_size, progress)
                verdicts = outcome.verdicts
                classes = [verdicts[i.response_sha256].judge_class
                           if verdicts[i.response_sha256].judged else None for i in items]
                result, failed = from_verdicts(name, data.labels, classes)
                results.append(result)
                failed_total += failed
                answers += len(items)
                print(format_evaluation(result, str(data.path)))
                print(f"judge: {outcome.planned} distinct answers, {outcome.reused} judged "
                      f"before, {outcome.judged} judged now; {failed} of {len(items)} answers "
                      "judge_failed (left out of the figures above)")
                print(summary_line(result) + f" judge_failed={failed}")
                print()
        finally:
            store.dispose()
    total = pooled(results, name)
    if len(results) > 1:
        print(format_evaluation(total, "all files"))
    print(summary_line(total) + f" judge_failed={failed_total}")
    return EXIT_OK
