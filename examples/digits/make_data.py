"""Write `digits.bin` from the copy of the UCI optdigits test set that scikit-learn ships.

    pip install scikit-learn
    python3 examples/digits/make_data.py

The source is `sklearn/datasets/data/digits.csv.gz` inside the installed package, the file
`sklearn.datasets.load_digits` reads: 1797 rows of 64 pixel values (0..16, an 8×8 image,
row by row) and the digit. The output is the same numbers as bytes, 65 per image, in the
same order; see DATA.md for the format, the source and the licence.
"""

import csv
import gzip
from pathlib import Path

import sklearn

IMAGES = 1797
PIXELS = 64

source = Path(sklearn.__file__).parent / "datasets" / "data" / "digits.csv.gz"
with gzip.open(source, "rt") as file:
    rows = [[int(float(value)) for value in row] for row in csv.reader(file)]

assert len(rows) == IMAGES, f"expected {IMAGES} images, found {len(rows)}"
for row in rows:
    assert len(row) == PIXELS + 1, f"expected {PIXELS + 1} values, found {len(row)}"
    assert all(0 <= pixel <= 16 for pixel in row[:PIXELS]), "a pixel outside 0..16"
    assert 0 <= row[PIXELS] <= 9, "a label outside 0..9"

target = Path(__file__).parent / "digits.bin"
target.write_bytes(bytes(value for row in rows for value in row))
print(f"wrote {target} ({IMAGES} images, {target.stat().st_size} bytes) from {source}")
