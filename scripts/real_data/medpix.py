"""MedPix 2.0 (CHILab1/MedPix-2.0, licence not stated: use locally, never commit) -> the medical caption layout.

Source: `MedPix-2-0/` of CHILab1/MedPix-2.0@d3bc431: `images/<image>.png` (2,050 CT and MR images) and
`splitted_dataset/descriptions_{train,dev,test}.jsonl` (1,653 / 197 / 200 images, split by clinical case),
one JSON object per image with `Type` (CT, MR), `Description.Caption`, `Description.Modality`,
`Description.Plane` and `Location`.

- captions: `Description.Caption`, whitespace (newlines, tabs) collapsed to single spaces.
- concepts: MedPix has no UMLS concepts, so three labels per image stand in for them: its modality
  (28 values, e.g. "CT w/contrast (IV)"), plane (16, e.g. "Axial") and location (21, e.g. "Chest, Pulmonary").
  The concept-detection format takes UMLS CUIs (`C` and 7 digits), so each label gets a code outside the
  UMLS range: `C91NNNNN` modality, `C92NNNNN` plane, `C93NNNNN` location, NNNNN its rank among that
  field's values of all three splits sorted by name. `concept_names.tsv` lists every code and its label.
  A missing value gives no label.

Written under OUT (the MedPix `dev` split is the validation split):

    medcaption/{train,val,test}/images/{DRCT,DRMR}/<image>.png   (2020 modality folders by `Type`)
    medcaption/{train,val,test}/concepts.txt                      `image<TAB>C1;C2;C3`
    medcaption/{train,val,test}/captions.txt                      `image<TAB>caption`
    medcaption/concept_names.tsv                                  `code<TAB>field: label`

    python scripts/real_data/medpix.py SOURCES/MedPix-2.0/MedPix-2-0 OUT
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baselines.io.atomic import atomic_write_text

SPLITS = {"train": "train", "val": "dev", "test": "test"}
FIELDS = {"modality": 91, "plane": 92, "location": 93}
FOLDERS = {"CT": "DRCT", "MR": "DRMR"}


def _field(row: dict[str, Any], field: str) -> str | None:
    value = row.get("Location") if field == "location" else (row.get("Description") or {}).get(field.title())
    return " ".join(str(value).split()) or None if value is not None else None


def read_split(path: Path) -> list[dict[str, Any]]:
    """The rows of one `descriptions_*.jsonl` file.

    Raises:
        ValueError: For a line that is not a JSON object with `image` and `Type`, naming the file and line.
    """
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not row.get("image") or row.get("Type") not in FOLDERS:
            raise ValueError(f"{path}:{number}: expected an object with 'image' and 'Type' (CT or MR)")
        rows.append(row)
    return rows


def concept_codes(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(field, label) -> its code, numbered by name within each field."""
    codes = {}
    for field, prefix in FIELDS.items():
        labels = sorted({label for row in rows if (label := _field(row, field))})
        codes.update({(field, label): f"C{prefix}{rank:05d}" for rank, label in enumerate(labels)})
    return codes


def convert(source: Path, out: Path) -> dict[str, list[str]]:
    """Writes the medcaption layout under out/medcaption; returns split -> image ids.

    Raises:
        ValueError: For a malformed row or a missing image.
    """
    rows = {
        split: read_split(source / "splitted_dataset" / f"descriptions_{name}.jsonl") for split, name in SPLITS.items()
    }
    codes = concept_codes([row for split in rows.values() for row in split])
    root = out / "medcaption"
    result: dict[str, list[str]] = {}
    for split, items in rows.items():
        concepts, captions = [], []
        for row in items:
            image_id = row["image"]
            image = source / "images" / f"{image_id}.png"
            if not image.is_file():
                raise ValueError(f"{source}: {split} image {image} is missing")
            folder = root / split / "images" / FOLDERS[row["Type"]]
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, folder / image.name)
            labels = [codes[(field, label)] for field in FIELDS if (label := _field(row, field))]
            concepts.append(f"{image_id}\t{';'.join(labels)}\n")
            caption = " ".join(str((row.get("Description") or {}).get("Caption") or "").split())
            captions.append(f"{image_id}\t{caption}\n")
            result.setdefault(split, []).append(image_id)
        atomic_write_text(root / split / "concepts.txt", "".join(concepts))
        atomic_write_text(root / split / "captions.txt", "".join(captions))
    names = "".join(f"{code}\t{field}: {label}\n" for (field, label), code in sorted(codes.items(), key=lambda i: i[1]))
    atomic_write_text(root / "concept_names.tsv", names)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the MedPix-2-0 folder (images/, splitted_dataset/)")
    parser.add_argument("out", type=Path, help="the $DATA root to write medcaption/ under")
    args = parser.parse_args(argv)
    splits = convert(args.source, args.out)
    print(
        "medcaption: " + ", ".join(f"{len(ids)} {split}" for split, ids in splits.items()) + f" images under {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
