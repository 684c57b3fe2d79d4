#!/usr/bin/env python3
"""Converts scikit-learn's copy of the UCI handwritten digits into the demo's resource.

Usage:
    pip download --no-deps scikit-learn -d /tmp/skl
    unzip -o /tmp/skl/scikit_learn-*.whl 'sklearn/datasets/data/digits.csv.gz' -d /tmp/skl
    python3 Scripts/make_digits_resource.py /tmp/skl/sklearn/datasets/data/digits.csv.gz \
        Sources/DigitsDemo/Resources/digits.bin

Input: one sample per line, 64 pixel counts (0...16, an 8x8 image in row-major order) and the
label (0...9), comma-separated.

Output (all integers little-endian):
    bytes 0..<8    magic "XENTDIGS"
    bytes 8..<12   UInt32 sample count N (1797)
    bytes 12..<14  UInt16 features per sample (64)
    bytes 14..<16  UInt16 class count (10)
    N bytes        labels
    N * 64 bytes   pixels, sample after sample
Standard library only; nothing in `swift test` runs this script.
"""
import gzip
import struct
import sys


def main(source: str, destination: str) -> None:
    labels = bytearray()
    pixels = bytearray()
    with gzip.open(source, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            values = [int(field) for field in line.strip().split(",")]
            if len(values) != 65:
                raise SystemExit(f"line {number}: {len(values)} fields, expected 65")
            *image, label = values
            if not all(0 <= value <= 16 for value in image) or not 0 <= label <= 9:
                raise SystemExit(f"line {number}: value out of range")
            pixels.extend(image)
            labels.append(label)
    header = b"XENTDIGS" + struct.pack("<IHH", len(labels), 64, 10)
    with open(destination, "wb") as handle:
        handle.write(header + bytes(labels) + bytes(pixels))
    print(f"wrote {destination}: {len(labels)} samples, {len(header) + len(labels) + len(pixels)} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
