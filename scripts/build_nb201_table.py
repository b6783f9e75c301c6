"""Write the NAS-Bench-201 table that ships inside the package, from the shared CSV.

    python scripts/build_nb201_table.py [SOURCE_CSV] [--output nasbench/tables/data/nb201.csv.gz]
                                        [--verify N]

SOURCE_CSV defaults to ``../shared/data/nasbench201/nb201.csv`` beside the checkout (its
README names the public sources of the numbers: the NAS-Bench-201 / NATS-Bench releases).
The output is the same CSV, every row and column, plus each cell's parameters and
multiply-adds per data set (``cifar10_params``, ``cifar10_macs``, ...: our own network
for 10, 100 and 120 classes at 32, 32 and 16 pixels, counted by
``nasbench.evaluators.nasbench201_costs``), gzip-compressed with a fixed timestamp so
that the same input always gives the same bytes. ``--verify N`` rebuilds N sampled cells
per data set in full and checks their counts. Run once when the table changes; nothing
at run time reads the shared copy.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from nasbench.core.files import write_reproducible_gzip  # noqa: E402
from nasbench.tables.nasbench201 import DATASETS, cost_columns  # noqa: E402
from nasbench.evaluators.nasbench201_costs import dataset_costs, verify_costs  # noqa: E402

DEFAULT_SOURCE = CHECKOUT.parent / "shared" / "data" / "nasbench201" / "nb201.csv"
DEFAULT_OUTPUT = CHECKOUT / "nasbench" / "tables" / "data" / "nb201.csv.gz"
EXPECTED_ROWS = 15_625


def read_source(source: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The source's header and rows, checked: 15,625 distinct cells, no cost columns yet."""
    reader = csv.DictReader(io.StringIO(source.read_text(encoding="utf-8")))
    header = list(reader.fieldnames or ())
    present = [column for dataset in DATASETS for column in cost_columns(dataset) if column in header]
    if present:
        raise SystemExit(f"{source}: already has cost column(s) {', '.join(present)}; give the shared source CSV")
    rows = list(reader)
    arches = {row.get("arch") for row in rows}
    if len(rows) != EXPECTED_ROWS or len(arches) != EXPECTED_ROWS:
        raise SystemExit(f"{source}: expected {EXPECTED_ROWS} distinct cells, got {len(rows)} rows, "
                         f"{len(arches)} distinct")
    return header, rows


def add_costs(rows: list[dict[str, str]], verify: int) -> list[str]:
    """Fill each row's parameter and multiply-add columns; returns the new column names."""
    added: list[str] = []
    for dataset in DATASETS:
        costs = dataset_costs([row["arch"] for row in rows], dataset)
        if verify:
            checked = verify_costs(costs, dataset, verify)
            print(f"{dataset}: {checked} sampled cells rebuilt in full, counts equal", file=sys.stderr)
        params_column, macs_column = cost_columns(dataset)
        for row in rows:
            row[params_column], row[macs_column] = (str(value) for value in costs[row["arch"]])
        added += [params_column, macs_column]
    return added


def build(source: Path, output: Path, verify: int = 0) -> int:
    """Check the source, add the cost columns and write the compressed table."""
    header, rows = read_source(source)
    header += add_costs(rows, verify)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_reproducible_gzip(output, text.getvalue())
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--verify", type=int, default=0, metavar="N",
                        help="rebuild N sampled cells per data set in full and check their counts")
    args = parser.parse_args()
    count = build(args.source, args.output, args.verify)
    print(f"{args.output}: {count} cells, {args.output.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
