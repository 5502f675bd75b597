#!/usr/bin/env python3
"""Writes data/common-passwords.txt: passwords vaora refuses because they are among the most common.

Source: the list of 20,000 common passwords that Django ships (django/contrib/auth/common-passwords.txt.gz,
BSD-3-Clause, compiled by Royce Williams), taken from the Django wheel on PyPI, plus a few passwords common
in Vietnam. Only entries of at least 8 characters are kept: shorter ones fail the length rule anyway.

Re-run: pip download --no-deps django==5.2.8 -d /tmp/dj && python3 tools/common-passwords/generate.py /tmp/dj/django-5.2.8-py3-none-any.whl
"""
import gzip
import pathlib
import sys
import zipfile

MIN_LENGTH = 8
VIETNAMESE = [
    "anhyeuem", "emyeuanh", "iloveyou", "matkhau123", "matkhau", "yeuemnhieu", "vietnam123",
    "12345678910", "nguyenvan", "anhyeuem123", "emyeuanh123", "hoilamgi", "conmeocon",
]


def main() -> None:
    wheel = zipfile.ZipFile(sys.argv[1])
    raw = wheel.read("django/contrib/auth/common-passwords.txt.gz")
    words = {w.strip().lower() for w in gzip.decompress(raw).decode().splitlines()}
    words.update(VIETNAMESE)
    kept = sorted(w for w in words if len(w) >= MIN_LENGTH)
    out = pathlib.Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt"
    out.write_text("\n".join(kept) + "\n", encoding="utf-8")
    print(f"{len(kept)} passwords written to {out}")


if __name__ == "__main__":
    main()
