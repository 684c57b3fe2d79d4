#!/usr/bin/env python3
"""Writes the malformed .npy regression corpus, Tests/NumPyIOTests/Fixtures/npy-corpus/.

Each file is named KIND--what.npy, where KIND is the NumPyError.Kind the reader must throw
(NumPyCorpusTests checks it). Inputs found by Scripts/fuzz_npy.sh are added by hand under the
same naming. Plain Python; no NumPy needed.

Run: python3 Scripts/make_npy_corpus.py
"""
import os
import struct

from fixture_common import fixtures, write_provenance

OUT = fixtures("NumPyIOTests", "npy-corpus")
os.makedirs(OUT, exist_ok=True)
MAGIC = b"\x93NUMPY"


def npy(header, data=b"", version=(1, 0), newline=True):
    text = header.encode("latin-1" if version[0] < 3 else "utf-8") + (b"\n" if newline else b"")
    length = struct.pack("<H", len(text)) if version[0] == 1 else struct.pack("<I", len(text))
    return MAGIC + bytes(version) + length + text + data


def dictionary(descr="'<f4'", fortran="False", shape="(2,)"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


good = npy(dictionary(), b"\0" * 8)
files = {
    # Truncations.
    "truncated--empty": b"",
    "truncated--magic-only": MAGIC,
    "truncated--no-header-length": MAGIC + b"\x01\x00\x40",
    "truncated--header-cut": good[:30],
    "truncated--v2-header-cut": npy(dictionary(), b"\0" * 8, version=(2, 0))[:20],
    "truncated--data-short": good[:-3],
    "truncated--absurd-shape-tiny-data": npy(dictionary(shape="(1000000, 1000000)"), b"\0" * 4),
    "truncated--header-length-past-end": MAGIC + b"\x01\x00\xff\xff" + b"{'descr'",
    # Magic strings.
    "badMagic--zip": b"PK\x03\x04" + b"\0" * 40,
    "badMagic--text": b"descr,shape\n1,2\n",
    "badMagic--lowercase": b"\x93numpy\x01\x00" + good[8:],
    # Versions.
    "unsupportedVersion--v0": MAGIC + b"\x00\x00" + good[8:],
    "unsupportedVersion--v4": MAGIC + b"\x04\x00" + good[8:],
    "unsupportedVersion--v1-1": MAGIC + b"\x01\x01" + good[8:],
    # Header dictionaries.
    "badHeader--empty-header": npy("", newline=False),
    "badHeader--not-a-dict": npy("['descr', '<f4']"),
    "badHeader--missing-shape": npy("{'descr': '<f4', 'fortran_order': False}"),
    "badHeader--missing-descr": npy("{'fortran_order': False, 'shape': ()}", b"\0" * 4),
    "badHeader--extra-key": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': True}"),
    "badHeader--duplicate-key": npy("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': ()}"),
    "badHeader--fortran-order-int": npy(dictionary(fortran="0")),
    "badHeader--shape-list": npy(dictionary(shape="[2]"), b"\0" * 8),
    "badHeader--shape-float": npy(dictionary(shape="(2.5,)")),
    "badHeader--shape-nested": npy(dictionary(shape="((2,),)")),
    "badHeader--shape-string": npy(dictionary(shape="'2'")),
    "badHeader--unterminated-string": npy("{'descr: <f4, 'fortran_order': False, 'shape': ()}"),
    "badHeader--unclosed-dict": npy("{'descr': '<f4', 'fortran_order': False, 'shape': ()"),
    "badHeader--trailing-text": npy(dictionary() + " junk", b"\0" * 8),
    "badHeader--non-ascii-v1": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), '\xe9': 1}"),
    "badHeader--huge-header-length": MAGIC + b"\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b" " * 64,
    "badHeader--escape-in-string": npy(dictionary(descr="'<f\\x34'")),
    "badHeader--null-bytes": npy("\0" * 40),
    # Shapes.
    "badShape--negative": npy(dictionary(shape="(3, -1)")),
    "badShape--negative-zero": npy(dictionary(shape="(-0,)")),
    "badShape--int64-overflow": npy(dictionary(shape="(99999999999999999999,)")),
    "badShape--product-overflow": npy(dictionary(shape="(4294967296, 4294967296)")),
    "badShape--overflow-hidden-by-zero": npy(dictionary(shape="(0, 4294967296, 4294967296)")),
    "badShape--bytes-overflow": npy(dictionary(descr="'<f8'", shape="(2305843009213693952,)")),
    "badShape--65-axes": npy(dictionary(shape="(" + "1, " * 65 + ")"), b"\0" * 4),
    "badShape--max-int": npy(dictionary(shape="(9223372036854775807, 2)")),
    # Size mismatches.
    "sizeMismatch--extra-bytes": good + b"\0",
    "sizeMismatch--0d-with-two-elements": npy(dictionary(shape="()"), b"\0" * 8),
    "truncated--empty-data": npy(dictionary(descr="'<f8'", shape="(3, 4)")),
    # Element types.
    "unsupportedDType--complex": npy(dictionary(descr="'<c8'"), b"\0" * 16),
    "unsupportedDType--unicode": npy(dictionary(descr="'<U3'"), b"\0" * 24),
    "unsupportedDType--object": npy(dictionary(descr="'|O'"), b"\0" * 16),
    "unsupportedDType--structured": npy(dictionary(descr="[('a', '<f4'), ('b', '<i4')]"), b"\0" * 16),
    "unsupportedDType--float128": npy(dictionary(descr="'<f16'"), b"\0" * 32),
    "unsupportedDType--zero-size": npy(dictionary(descr="'<f0'")),
    "unsupportedDType--three-bytes": npy(dictionary(descr="'<i3'"), b"\0" * 6),
    "unsupportedDType--datetime": npy(dictionary(descr="'<M8[ns]'"), b"\0" * 16),
    "unsupportedDType--no-byte-order": npy(dictionary(descr="'f4'"), b"\0" * 8),
    "unsupportedDType--empty": npy(dictionary(descr="''"), b"\0" * 8),
    "unsupportedDType--huge-size": npy(dictionary(descr="'<f99999999999999999999'")),
}
for name, content in files.items():
    with open(os.path.join(OUT, name + ".npy"), "wb") as f:
        f.write(content)
write_provenance(OUT, "make_npy_corpus.py", {}, interpreter="python3", notes=[
    "Each file is KIND--what.npy, KIND being the NumPyError.Kind the reader must throw.",
    "Inputs found by Scripts/fuzz_npy.sh are added by hand under the same naming."])
print(f"wrote {len(files)} files to {OUT}")
