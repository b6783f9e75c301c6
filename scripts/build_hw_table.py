"""Write the HW-NAS-Bench table that ships inside the package, from the shared CSV.

    python scripts/build_hw_table.py [SOURCE_CSV] [--output nasbench/tables/data/hw_nb201.csv.gz]

SOURCE_CSV defaults to ``../shared/data/hwnasbench201/hw_nb201.csv`` beside the checkout
(its README names the public sources: HW-NAS-Bench, Li et al., ICLR 2021). The output keeps
every cell (by its NB201 ``index``; each source row's ``arch`` is checked against the
packaged NB201 table's string for that index, then dropped) and every device column, each
value to 7 significant digits (5e-8 relative; the source's own copies agree to 7e-15),
an empty field where the source has none (the Edge TPU's 4,699 cells), gzip-compressed with
a fixed timestamp so that the same input always gives the same bytes. Run once when the
table changes; nothing at run time reads the shared copy.
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
from nasbench.tables.hardware import DEVICE_METRICS, PACKAGED_HARDWARE, column  # noqa: E402
from nasbench.tables.nasbench201 import DATASETS, NasBench201Table  # noqa: E402

DEFAULT_SOURCE = CHECKOUT.parent / "shared" / "data" / "hwnasbench201" / "hw_nb201.csv"
EXPECTED_ROWS = 15_625


def build(source: Path, output: Path) -> int:
    """Check the source against the NB201 table and write the compressed copy."""
    rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
    if len(rows) != EXPECTED_ROWS:
        raise SystemExit(f"{source}: expected {EXPECTED_ROWS} cells, got {len(rows)} rows")
    table = NasBench201Table()
    columns = [column(dataset, metric) for dataset in DATASETS for metric in DEVICE_METRICS]
    missing = [name for name in columns if name not in rows[0]]
    if missing:
        raise SystemExit(f"{source}: lacks column(s) {', '.join(missing)}")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["index", *columns])
    for row in rows:
        if table.arch_of(int(row["index"])) != row["arch"]:
            raise SystemExit(f"{source}: index {row['index']} is {row['arch']}, not the NB201 table's "
                             f"{table.arch_of(int(row['index']))}")
        writer.writerow([row["index"], *("" if row[name] == "" else f"{float(row[name]):.7g}" for name in columns)])
    write_reproducible_gzip(output, text.getvalue())
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=PACKAGED_HARDWARE)
    args = parser.parse_args()
    count = build(args.source, args.output)
    print(f"{args.output}: {count} cells, {args.output.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
