"""The ``tongban`` command: serve, knowledge management, evaluation."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from nlu.evaluate import read_tsv
from tongban.logs import configure_logging
from tongban.ledger_cli import ledger_db, register as register_ledger
from tongban.settings import get_settings
from tongban.storage import data_cipher, ledger_database
from tongban.wechat_cli import register as register_wechat


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    from ledger.crypto import DataKeyError

    try:
        return int(args.run(args) or 0)
    except DataKeyError as exc:  # a missing, unsafe or wrong data key: say so, start nothing
        print(exc, file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tongban", description="童伴 Tongban")
    sub = parser.add_subparsers()

    serve = sub.add_parser("serve", help="start the HTTP app (REST channel, web chat, APIs)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="worker processes (default 1; webhooks only for Telegram)")
    serve.set_defaults(run=_serve)

    knowledge = sub.add_parser("knowledge", help="checklists and the index").add_subparsers()
    ingest = knowledge.add_parser("ingest", help="store a published list (HTML, .docx, .xlsx, PDF, text) as a new checklist version")
    ingest.add_argument("file", type=Path)
    ingest.add_argument("--locality", required=True, help="administrative code or name, or 'national'")
    ingest.add_argument("--title", required=True)
    ingest.add_argument("--published", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    ingest.add_argument("--url", default="")
    ingest.add_argument("--issuer", default="")
    ingest.add_argument("--doc-number", default=None)
    ingest.add_argument("--id", dest="checklist_id", default=None, help="checklist id (default: from locality and title)")
    ingest.add_argument("--dry-run", action="store_true", help="show the parsed clauses, store nothing")
    ingest.set_defaults(run=_ingest)
    listing = knowledge.add_parser("list", help="checklists and their versions")
    listing.set_defaults(run=_list)
    show = knowledge.add_parser("show", help="print one checklist version as YAML")
    show.add_argument("checklist_id")
    show.add_argument("--version", type=int)
    show.set_defaults(run=_show)
    validate = knowledge.add_parser("validate", help="validate checklist YAML files")
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(run=_validate)
    reindex = knowledge.add_parser("reindex", help="load checklists and build the index if stale")
    reindex.set_defaults(run=_reindex)

    calib = knowledge.add_parser("calibrate", help="fit retrieval confidence on a tuning set")
    calib.add_argument("offtopic", type=Path, help="text file of off-topic messages, one a line")
    calib.add_argument("tuning", type=Path, nargs="+", help="TSV files of in-scope ask_service questions")
    calib.add_argument("--ship", action="store_true", help="write into the shipped calibration file")
    calib.set_defaults(run=_calibrate)

    nlu = sub.add_parser("nlu", help="intent recognition").add_subparsers()
    train = nlu.add_parser("train", help="train the intent classifier from nlu/data/nlu.yml")
    train.add_argument("--force", action="store_true", help="retrain even if the cached model is current")
    train.set_defaults(run=_nlu_train)
    parse = nlu.add_parser("parse", help="print the parse of one message (Rasa shape)")
    parse.add_argument("text")
    parse.set_defaults(run=_nlu_parse)

    evaluation = sub.add_parser("eval", help="evaluation reports").add_subparsers()
    nlu_eval = evaluation.add_parser("nlu", help="intent accuracy and emergency recall on TSV files "
                                     "(several: each report, then one summary line per file)")
    nlu_eval.add_argument("files", type=Path, nargs="+")
    nlu_eval.set_defaults(run=_eval_nlu)
    retrieval = evaluation.add_parser("retrieval", help="category accuracy of retrieval on a TSV file")
    retrieval.add_argument("file", type=Path)
    retrieval.add_argument("--locality", default=None)
    retrieval.set_defaults(run=_eval_retrieval)
    answers = evaluation.add_parser("answers", help="answers graded against the facts they must state (TSV file)")
    answers.add_argument("file", type=Path)
    answers.set_defaults(run=_eval_answers)

    register_ledger(sub)
    register_wechat(sub)

    from staff.cli import register as register_staff

    register_staff(sub, areas=_areas, database=lambda: ledger_database(get_settings()),
                   cipher=lambda: data_cipher(get_settings()))
    return parser


def _areas():
    """The gazetteer as the ledger's area directory (staff accounts' areas)."""
    from nlu.areas import GazetteerAreas

    return GazetteerAreas()


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    db, _ = ledger_db()  # a missing, unsafe or wrong data key stops here, before any worker starts
    db.dispose()
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    if workers > 1:
        if settings.telegram.token.get_secret_value() and not settings.telegram.webhook_url:
            print("Telegram 长轮询只能用一个进程：请设置 TONGBAN_TELEGRAM__WEBHOOK_URL，或用 --workers 1。",
                  file=sys.stderr)
            return 2
        from tongban.serve import supervise

        # each worker process builds its own app (and runtime) from the same settings
        return supervise(host, port, workers, settings.log_level)
    import uvicorn

    from tongban.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
    return 0


def _knowledge(watch: bool = False):
    from tongban.runtime import knowledge_base

    return knowledge_base(get_settings()).start(watch=watch)


def _ingest(args: argparse.Namespace) -> int:
    from knowledge.categories import label
    from knowledge.desk import ChecklistDesk, read_notice_file
    from nlu.geo import gazetteer

    code = gazetteer().resolve_code(args.locality)
    if code is None:
        print(f"无法识别的地区：{args.locality}", file=sys.stderr)
        return 2
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"无法解析 {args.file}：{exc}", file=sys.stderr)
        return 2
    fields = dict(locality=code, title=args.title, published=args.published, url=args.url, issuer=args.issuer,
                  doc_number=args.doc_number, checklist_id=args.checklist_id or "")
    read = read_notice_file(data, str(args.file), **fields)  # a file that cannot be read fails before the models load
    if not isinstance(read, list):
        desk = ChecklistDesk(_knowledge())
        read = desk.from_notice(data, str(args.file), **fields)
    if isinstance(read, list):
        print(f"无法解析 {args.file}：{'；'.join(read)}", file=sys.stderr)
        return 2
    checklist = read.checklist
    for item in checklist.items:
        sure = read.confidence.get(item.id)
        shown = f"{label(item.category)}（{sure:.0%}）" if sure else label(item.category)
        print(f"{item.clause}\t{item.category}\t{shown}\t{item.title}\t[{'、'.join(item.departments)}]")
    if checklist.id in desk.catalog.versions:
        print(f"与现行版本相比：{desk.changes(checklist).summary()}")
    if args.dry_run:
        return 0
    stored = desk.publish(checklist)
    if isinstance(stored, list):
        print(f"无法保存：{'；'.join(stored)}", file=sys.stderr)
        return 2
    print(f"已保存：{stored.id} 第 {stored.header.version} 版，共 {len(stored.items)} 条（之前的版本已标记为 superseded）")
    return 0


def _list(args: argparse.Namespace) -> int:
    kb = _knowledge()
    for checklist_id, by_version in sorted(kb.snapshot.catalog.versions.items()):
        for version, checklist in sorted(by_version.items()):
            h = checklist.header
            print(f"{checklist_id}\tv{version}\t{h.status.value}\t{h.authority.value}\t"
                  f"{h.locality.code}\t{h.published}\t{len(checklist.items)} 条\t{h.title}")
    for error in kb.errors:
        print(error, file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    from knowledge.errors import ChecklistNotFound
    from knowledge.schema import dump_checklist
    from knowledge.store import ChecklistStore

    settings = get_settings()
    store = ChecklistStore(settings.checklist_dir, list(settings.knowledge.extra_dirs),
                           settings.knowledge.include_shipped)
    try:
        print(dump_checklist(store.load().get(args.checklist_id, args.version)))
    except ChecklistNotFound:
        print(f"没有这个清单或版本：{args.checklist_id} {args.version or ''}", file=sys.stderr)
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    from knowledge.errors import ChecklistValidationError
    from knowledge.schema import load_checklist_text

    failed = 0
    for path in args.files:
        try:
            checklist = load_checklist_text(path.read_text(encoding="utf-8"), str(path))
            print(f"{path}: 通过（{len(checklist.items)} 条）")
        except ChecklistValidationError as exc:
            print(exc, file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _reindex(args: argparse.Namespace) -> int:
    kb = _knowledge()
    snapshot = kb.snapshot
    print(f"index ready: {len(snapshot.retriever.index.entries)} items, model {kb.embedder.model_id}")
    return 1 if kb.errors else 0


def _calibrate(args: argparse.Namespace) -> int:
    from knowledge import calibrate
    from knowledge.evaluate import read_offtopic

    kb = _knowledge()
    in_scope = [e for path in args.tuning for e in read_tsv(path) if e.intent == "ask_service" and e.category]
    off_topic = read_offtopic(args.offtopic)
    calibration, stats = calibrate.fit(kb, in_scope, off_topic)
    target = calibrate.SHIPPED if args.ship else kb.calibration_file
    calibrate.save(kb.embedder.model_id, calibration, stats, target)
    print(f"{kb.embedder.model_id}: a={calibration.a:.3f} b={calibration.b:.3f} {stats} → {target}")
    return 0


def _interpreter(force: bool = False):
    from nlu.embedding import build_embedder
    from nlu.interpreter import Interpreter

    settings = get_settings()
    settings.ensure_dirs()
    return Interpreter.load_or_train(build_embedder(settings.embedding), settings.models_dir, force=force)


def _nlu_train(args: argparse.Namespace) -> int:
    import time

    started = time.perf_counter()
    interpreter = _interpreter(force=args.force)
    meta = interpreter.model.meta
    print(f"intent model: {meta.get('examples')} examples, {len(interpreter.model.labels)} intents, "
          f"trained in {meta.get('seconds')} s; ready in {time.perf_counter() - started:.1f} s")
    return 0


def _nlu_parse(args: argparse.Namespace) -> int:
    import json

    print(json.dumps(_interpreter().parse(args.text).to_rasa(), ensure_ascii=False, indent=2))
    return 0


def _eval_nlu(args: argparse.Namespace) -> int:
    from nlu.evaluate import evaluate, render_summary

    interpreter = _interpreter()
    reports = [(str(path), evaluate(interpreter, read_tsv(path))) for path in args.files]
    print("\n\n".join(report.render(name) for name, report in reports))
    if len(reports) > 1:
        print("\n" + render_summary(reports))
    return 0


def _eval_retrieval(args: argparse.Namespace) -> int:
    from knowledge.evaluate import evaluate

    kb = _knowledge()
    code = kb.geo.resolve_code(args.locality) if args.locality else None
    report = evaluate(kb, read_tsv(args.file), code)
    print(report.render(str(args.file)))
    return 0


def _eval_answers(args: argparse.Namespace) -> int:
    from tongban.answer_eval import run

    print(run(get_settings(), args.file).render(str(args.file)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
