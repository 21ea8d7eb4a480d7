#!/usr/bin/env python3
"""Write the readers' local test documents into tests/data/local/ (郑州 HTML, 芜湖 .docx, 河南 PDF,
广州 .xlsx; invented content marked 测试), or an N-row checklist table in one format:

    python scripts/make_local_docs.py                      # the four documents (committed)
    python scripts/make_local_docs.py --table pdf 300 out.pdf

The documents and the table generator live in tests/local_docs.py (the tests import them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.local_docs import make_table_document, write_all  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", nargs=3, metavar=("KIND", "ROWS", "PATH"),
                        help="write one N-row table: KIND is html, docx, xlsx or pdf")
    args = parser.parse_args(argv)
    if args.table:
        kind, rows, path = args.table
        print(make_table_document(kind, int(rows), path))
        return 0
    for path in write_all():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
