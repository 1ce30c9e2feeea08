#!/usr/bin/env python3
"""Writes the committed seeds of the fuzz targets (fuzz/corpus/<target>/seed-*).

manifest_parse: the example manifests. manifest_edit: one byte per example (that example,
no edits). request_convert: one well-formed message of each of the 29 request types, after
the byte that selects it. engine_decide: a few CheckRequests in the `Input::Wire` form.

Run from anywhere: python3 fuzz/make_seeds.py. It replaces only files named seed-*.
"""

import pathlib
import shutil

FUZZ = pathlib.Path(__file__).resolve().parent
CORPUS = FUZZ / "corpus"


def varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def string(field, text):
    data = text.encode() if isinstance(text, str) else text
    return key(field, 2) + varint(len(data)) + data


def uint(field, value):
    return key(field, 0) + varint(value)


def timestamp(field, seconds, nanos=0):
    body = uint(1, seconds)
    if nanos:
        body += uint(2, nanos)
    return string(field, body)


NOW = 1_768_478_400  # 2026-01-15T12:00:00Z, the targets' fixed now

CHECK = (
    string(1, "peero")
    + string(2, "app-service")
    + string(3, "user.contact.email")
    + string(4, "microsoft-azure")
    + string(5, "subject-1")
    + timestamp(6, NOW - 86_400)
    + timestamp(7, NOW - 30 * 86_400)
    + string(9, "condition-1")
    + timestamp(10, NOW - 3_600)
)
CHECK_BARE = string(1, "apollo") + string(2, "x") + string(3, "user") + string(4, "y")

REQUESTS = [
    # DecisionService
    CHECK,
    string(1, CHECK) + string(1, CHECK_BARE),
    string(1, "peero") + string(2, "app-service") + string(3, "user") + string(4, "s")
    + timestamp(5, NOW) + uint(9, 1) + timestamp(10, NOW) + string(11, "en"),
    # RegistryService
    string(1, (FUZZ.parent / "examples" / "peero.yaml").read_text()) + uint(2, 1) + uint(3, 1)
    + timestamp(4, NOW - 365 * 86_400),
    string(1, "peero") + uint(2, 1) + string(3, "en"),
    uint(1, 2) + string(2, b"apollo".hex()),
    string(1, "peero") + uint(3, 1) + string(4, b"app-service".hex()) + string(5, "lv"),
    string(1, "peero") + uint(3, 2) + uint(5, 2),
    string(1, "peero") + uint(3, 5) + string(4, b"user".hex()) + uint(5, 1),
    string(1, "peero") + uint(2, 1) + string(3, ""),
    string(1, "peero") + uint(2, 1),
    # RightsService
    string(1, "peero") + string(2, "req-1") + uint(3, 1) + string(4, "subject-1")
    + timestamp(5, NOW - 3600) + string(8, "details") + string(9, "desk"),
    string(1, "peero") + string(2, "req-1"),
    string(1, "peero") + string(2, bytes([1, 2])) + string(3, bytes([3])) + uint(4, 1)
    + string(5, "2026-03-05") + uint(6, 10) + string(7, b"42".hex()),
    string(1, "peero") + string(2, "req-1") + uint(3, 6) + string(4, "desk") + string(5, "note")
    + uint(6, 2),
    string(1, "peero") + string(2, "req-1") + uint(3, 2) + string(4, "complex") + string(5, "desk"),
    string(1, "peero") + string(2, "req-1") + uint(3, 1) + uint(4, 50),
    string(1, "peero") + uint(2, 7) + string(3, "desk") + string(4, "done"),
    string(1, "peero") + string(2, "req-1"),
    string(1, "peero") + uint(2, 100),
    # SubjectService
    string(1, "peero") + string(2, "subject-1") + string(3, "app-service") + uint(4, 1)
    + string(5, "v1") + string(6, "web form") + timestamp(7, NOW - 60) + uint(8, 1),
    string(1, "peero") + string(2, "subject-1") + string(4, "app-service") + timestamp(5, NOW),
    string(1, "peero") + string(2, "subject-1") + uint(3, 1),
    string(1, "peero") + string(2, "subject-1") + string(3, "app-service") + string(4, "grounds"),
    string(1, "peero") + string(2, "subject-1") + string(3, "2012-02-29"),
    string(1, "peero") + string(2, "subject-1") + string(3, "told by e-mail"),
    string(1, "peero") + string(2, "subject-1"),
    # DocumentService
    string(1, "peero") + uint(2, 1) + string(5, "en") + uint(6, 1),
    string(1, "apollo") + uint(2, 1) + string(3, "2026-01-15"),
]
assert len(REQUESTS) == 29

# Boundary seeds: moments at the ends of the range a Timestamp holds (jiff's, which
# Violations::timestamp enforces), births at the ends of what SetBirth accepts.
MIN_SECONDS = -377_705_109_601  # -009999-01-02T01:59:59Z
MAX_SECONDS = 253_402_207_200  # 9999-12-30T22:00:00Z
EXTRA_REQUESTS = {
    "11-min": (11, string(1, "peero") + string(2, "req-1") + uint(3, 1) + string(4, "s")
               + timestamp(5, MIN_SECONDS)),
    "20-min": (20, string(1, "peero") + string(2, "s") + string(3, "app-service") + uint(4, 2)
               + timestamp(7, MIN_SECONDS)),
    "21-max": (21, string(1, "peero") + string(2, "s") + uint(3, 1)
               + timestamp(5, MAX_SECONDS, 999_999_999)),
    "24-year": (24, string(1, "peero") + string(2, "s") + uint(4, 9999)),
    "24-date": (24, string(1, "peero") + string(2, "s") + string(3, "0000-01-01")),
}
CHECK_EDGES = (
    string(1, "capturi") + string(2, "x") + string(3, "user") + string(4, "y")
    + string(5, "s") + timestamp(6, MIN_SECONDS) + timestamp(7, MAX_SECONDS)
)


def reset(target):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("seed-*"):
        old.unlink()
    return directory


def main():
    directory = reset("manifest_parse")
    for example in sorted((FUZZ.parent / "examples").glob("*.yaml")):
        shutil.copyfile(example, directory / f"seed-{example.stem}.yaml")

    directory = reset("manifest_edit")
    for index in range(5):
        (directory / f"seed-example-{index}").write_bytes(bytes([index]))

    directory = reset("request_convert")
    for selector, message in enumerate(REQUESTS):
        (directory / f"seed-{selector:02}").write_bytes(bytes([selector]) + message)
    for name, (selector, message) in EXTRA_REQUESTS.items():
        (directory / f"seed-{name}").write_bytes(bytes([selector]) + message)

    directory = reset("engine_decide")
    # Input::Wire is the first variant: a zero u32 selects it, the rest is the message.
    for name, message in [("check", CHECK), ("bare", CHECK_BARE), ("edges", CHECK_EDGES)]:
        (directory / f"seed-wire-{name}").write_bytes(bytes(4) + message)


if __name__ == "__main__":
    main()
