"""Write the NAS-Bench-201 table that ships inside the package, from the shared CSV.

    python scripts/build_nb201_table.py [SOURCE_CSV] [--output nasbench/evaluators/data/nb201.csv.gz]

SOURCE_CSV defaults to ``../shared/data/nasbench201/nb201.csv`` beside the checkout (its
README names the public sources of the numbers: the NAS-Bench-201 / NATS-Bench releases).
The output is the same CSV, every row and column, gzip-compressed with a fixed
timestamp so that the same input always gives the same bytes. Run once when the table
changes; nothing at run time reads the shared copy.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = CHECKOUT.parent / "shared" / "data" / "nasbench201" / "nb201.csv"
DEFAULT_OUTPUT = CHECKOUT / "nasbench" / "evaluators" / "data" / "nb201.csv.gz"
EXPECTED_ROWS = 15_625


def build(source: Path, output: Path) -> int:
    """Check the source (header, 15,625 distinct cells) and write the compressed copy."""
    text = source.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    arches = {row["arch"] for row in rows}
    if len(rows) != EXPECTED_ROWS or len(arches) != EXPECTED_ROWS:
        raise SystemExit(f"{source}: expected {EXPECTED_ROWS} distinct cells, got {len(rows)} rows, "
                         f"{len(arches)} distinct")
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0,
                                                  filename="") as stream:
        stream.write(text.encode("utf-8"))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    count = build(args.source, args.output)
    print(f"{args.output}: {count} cells, {args.output.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
