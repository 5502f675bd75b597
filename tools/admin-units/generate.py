#!/usr/bin/env python3
"""Generate the Vietnam administrative-unit fixture in data/admin-units/.

Source
    PyPI package ``vietnamadminunits`` version 1.0.4 (pinned),
    https://github.com/tranngocminhhieu/vietnamadminunits
    MIT licence, Copyright (c) 2025 Tran Ngoc Minh Hieu.

    The package ships ``vietnamadminunits/data/dataset.db`` (SQLite) with two
    tables:

    * ``admin_units_legacy`` - the pre-2025 set (63 provinces, districts,
      wards) as it stood just before the 1 July 2025 reform;
    * ``admin_units`` - the 2025 set (34 provinces, two levels province/ward).

    Codes in both tables are the official General Statistics Office codes
    (province 2 digits, district 3 digits, ward 5 digits), stored as
    zero-padded text; they are written out unchanged.

    The legacy-ward -> current-ward mapping comes from
    ``vietnamadminunits/data/converter_2025.json`` (same package), whose keys
    are the package's normalised name keys; they are resolved to codes through
    the ``provinceKey``/``districtKey``/``wardKey`` columns of the database.

Outputs (UTF-8, LF line endings, sorted, deterministic)
    data/admin-units/units.csv
        scheme,level,code,name,parent_code
        Rows ordered: scheme (legacy, current), level (province, district,
        ward), then code ascending.
    data/admin-units/legacy-to-current.csv
        legacy_ward,current_ward
        One row per (legacy ward, current ward) pair; a legacy ward split
        among several new wards gets one row per pair. Ordered by
        legacy_ward, then current_ward. The five legacy island districts
        that had no wards (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo)
        have no legacy ward code and therefore no row.

Re-run
    pip install vietnamadminunits==1.0.4 && python3 tools/admin-units/generate.py

The package is located through importlib.metadata without importing it (its
__init__ pulls in shapely/geopy, which this script does not need). The script
refuses any version other than 1.0.4 and checks the data files against the
hashes recorded in the package's RECORD for that version.
"""

import base64
import csv
import hashlib
import importlib.metadata
import json
import sqlite3
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "vietnamadminunits"
VERSION = "1.0.4"
DB_FILE = "vietnamadminunits/data/dataset.db"
CONVERTER_FILE = "vietnamadminunits/data/converter_2025.json"
# sha256 (urlsafe base64, as in the wheel RECORD) of the 1.0.4 data files.
EXPECTED_SHA256 = {
    DB_FILE: "FHy7-ByJZLtZTh3afrq1ZJvOIe-_1stQjKt_78piJX0",
    CONVERTER_FILE: "hPCEi_QBsEd3XLtJdowYGpJx935KTscG0pOwm8tPrd0",
}

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "data" / "admin-units"

SCHEME_ORDER = {"legacy": 0, "current": 1}
LEVEL_ORDER = {"province": 0, "district": 1, "ward": 2}
CODE_WIDTH = {"province": 2, "district": 3, "ward": 5}


def fail(msg):
    sys.exit(f"generate.py: error: {msg}")


def locate_package_files():
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        fail(f"{PACKAGE} is not installed; run: pip install {PACKAGE}=={VERSION}")
    if dist.version != VERSION:
        fail(f"{PACKAGE} {dist.version} is installed, need exactly {VERSION}")
    paths = {}
    for rel, want in EXPECTED_SHA256.items():
        path = Path(dist.locate_file(rel))
        if not path.is_file():
            fail(f"{path} not found in installed package")
        got = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest())
        if got.decode().rstrip("=") != want:
            fail(f"{path} does not match the {VERSION} release hash")
        paths[rel] = path
    return paths[DB_FILE], paths[CONVERTER_FILE]


def put(table, key, value, what):
    """Insert into a dict, failing if the key already maps to something else."""
    old = table.setdefault(key, value)
    if old != value:
        fail(f"inconsistent {what} {key!r}: {old!r} vs {value!r}")


def read_units(conn):
    """Return (units rows, legacy key->ward code, current key->ward code)."""
    # units[(scheme, level)][code] = (name, parent_code)
    units = defaultdict(dict)
    legacy_keys = {}
    current_keys = {}

    for (p_code, p_name, d_code, d_name, w_code, w_name,
         p_key, d_key, w_key) in conn.execute(
            "SELECT provinceCode, province, districtCode, district, wardCode, ward,"
            " provinceKey, districtKey, wardKey FROM admin_units_legacy"):
        put(units["legacy", "province"], p_code, (p_name, ""), "legacy province")
        put(units["legacy", "district"], d_code, (d_name, p_code), "legacy district")
        # Island districts without wards appear as a row with NULL ward.
        if w_code is None:
            if w_name is not None:
                fail(f"legacy ward {w_name!r} has no code")
            continue
        put(units["legacy", "ward"], w_code, (w_name, d_code), "legacy ward")
        put(legacy_keys, f"{p_key}_{d_key}_{w_key}", w_code, "legacy ward key")

    for p_code, p_name, w_code, w_name, p_key, w_key in conn.execute(
            "SELECT provinceCode, province, wardCode, ward, provinceKey, wardKey"
            " FROM admin_units"):
        put(units["current", "province"], p_code, (p_name, ""), "current province")
        put(units["current", "ward"], w_code, (w_name, p_code), "current ward")
        put(current_keys, (p_key, w_key), w_code, "current ward key")

    return units, legacy_keys, current_keys


def read_mapping(converter, legacy_keys, current_keys):
    pairs = set()
    wardless = {}  # ward-less legacy district key -> current ward code

    def legacy_code(key):
        if key.endswith("_"):  # ward-less island district, no ward code
            return None
        if key not in legacy_keys:
            fail(f"converter legacy key {key!r} not in database")
        return legacy_keys[key]

    def current_code(p_key, w_key):
        if (p_key, w_key) not in current_keys:
            fail(f"converter current key {p_key}/{w_key} not in database")
        return current_keys[p_key, w_key]

    # New ward -> list of old wards wholly merged into it.
    for p_key, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for w_key, old_keys in wards.items():
            new = current_code(p_key, w_key)
            for old_key in old_keys:
                old = legacy_code(old_key)
                if old is not None:
                    pairs.add((old, new))
                else:
                    put(wardless, old_key, new, "ward-less district")
    # Old ward -> several new wards it was split among.
    for p_key, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, news in olds.items():
            old = legacy_code(old_key)
            if old is None:
                fail(f"ward-less district {old_key!r} split among new wards")
            for entry in news:
                pairs.add((old, current_code(p_key, entry["newWardKey"])))
    return sorted(pairs), wardless


def check(units, pairs, wardless):
    for (scheme, level), rows in units.items():
        for code, (name, parent) in rows.items():
            if not (code.isdigit() and len(code) == CODE_WIDTH[level]):
                fail(f"{scheme} {level} code {code!r} is not {CODE_WIDTH[level]} digits")
            if not name or name != name.strip():
                fail(f"{scheme} {level} {code} has bad name {name!r}")
            if level == "province":
                if parent:
                    fail(f"{scheme} province {code} has a parent")
                continue
            parent_level = "district" if (scheme, level) == ("legacy", "ward") else "province"
            if parent not in units[scheme, parent_level]:
                fail(f"{scheme} {level} {code}: parent {parent!r} unresolved")
    legacy_wards = set(units["legacy", "ward"])
    current_wards = set(units["current", "ward"])
    if {a for a, _ in pairs} != legacy_wards:
        fail("mapping does not cover exactly the legacy wards")
    if {b for _, b in pairs} | set(wardless.values()) != current_wards:
        fail("mapping does not reach exactly the current wards")


def write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def main():
    db_path, converter_path = locate_package_files()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        units, legacy_keys, current_keys = read_units(conn)
    finally:
        conn.close()
    with open(converter_path, encoding="utf-8") as f:
        converter = json.load(f)
    pairs, wardless = read_mapping(converter, legacy_keys, current_keys)
    check(units, pairs, wardless)

    rows = sorted(
        ((scheme, level, code, name, parent)
         for (scheme, level), table in units.items()
         for code, (name, parent) in table.items()),
        key=lambda r: (SCHEME_ORDER[r[0]], LEVEL_ORDER[r[1]], r[2]),
    )
    write_csv(OUT_DIR / "units.csv",
              ["scheme", "level", "code", "name", "parent_code"], rows)
    write_csv(OUT_DIR / "legacy-to-current.csv",
              ["legacy_ward", "current_ward"], pairs)

    for scheme in SCHEME_ORDER:
        for level in LEVEL_ORDER:
            if (scheme, level) in units:
                print(f"{scheme:8} {level:9} {len(units[scheme, level]):6}")
    per_old = defaultdict(int)
    for a, _ in pairs:
        per_old[a] += 1
    print(f"mapping pairs {len(pairs)}; legacy wards split: "
          f"{sum(1 for n in per_old.values() if n > 1)}; "
          f"ward-less legacy districts skipped: {len(wardless)}")
    for key, code in sorted(wardless.items()):
        print(f"  {key} -> current ward {code} (no legacy ward code, no row)")


if __name__ == "__main__":
    main()
