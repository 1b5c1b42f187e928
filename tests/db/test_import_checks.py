"""``dwlab runs import`` trusts nothing: every crafted file below gives one line naming the
fault (exit status 2), never a traceback, and leaves no run behind; random damage to a good
export does the same or imports it whole."""

from __future__ import annotations

import copy
import json
import random
import re
import zipfile

import numpy as np
import pytest

from dwlab.cli import main
from dwlab.clock import VirtualClock
from dwlab.db.export import images_path, metadata_path, to_csv
from dwlab.db.store import RunStore


@pytest.fixture
def export(store_url, tmp_path):
    """A good export: 5 points, a log event after point 2, one Kerr image."""
    store = RunStore(store_url)
    clock = VirtualClock()
    w = store.begin_run("iv", {"I": "mA", "V": "uV"}, {"n": 5}, sample="S1", device="bar1",
                        clock=clock)
    for k in range(5):
        clock.sleep(0.1)
        w.append({"I": 0.1 * k, "V": 3.0 * k})
        if k == 2:
            w.event("log", "half way")
    w.add_image(np.arange(12, dtype=np.uint16).reshape(3, 4), 0.25, {"exposure_ms": 20})
    w.finish()
    path = to_csv(store, w.run_id, tmp_path / "run.csv")
    return store_url, path


def import_cli(url, path, capsys) -> tuple[int, str, str]:
    code = main(["--db", url, "runs", "import", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def meta_edit(change):
    def apply(path):
        meta = json.loads(metadata_path(path).read_text())
        change(meta)
        metadata_path(path).write_text(json.dumps(meta))
    return apply


def csv_edit(change):
    def apply(path):
        lines = path.read_text().splitlines()
        change(lines)
        path.write_text("\n".join(lines) + "\n")
    return apply


def set_(dotted, value):
    def change(meta):
        *keys, last = dotted
        node = meta
        for k in keys:
            node = node[k]
        node[last] = value
    return meta_edit(change)


def npz_member(name, data: bytes):
    def apply(path):
        npz = images_path(path)
        with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
    return apply


def npy(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def zeros_bomb(path):
    """A .npy header claiming 256 MB of uint8 followed by that many zeros: < 1 MB zipped."""
    import io

    npz = images_path(path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (256 << 20,)})
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("image_00000.npy", "w", force_zip64=True) as f:
        f.write(header.getvalue())
        chunk = bytes(1 << 20)
        for _ in range(256):
            f.write(chunk)
    assert npz.stat().st_size < 1 << 20


def nested(depth):
    def apply(path):
        meta = json.loads(metadata_path(path).read_text())
        text = json.dumps(meta).replace('"setup": {', '"setup": {"deep": ' + "[" * depth
                                        + "]" * depth + ", ", 1)
        metadata_path(path).write_text(text)
    return apply


def write(name, content):
    def apply(path):
        target = path if name == "csv" else metadata_path(path) if name == "json" else \
            path.with_name(name)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return apply


def swap_events(meta):
    meta["events"][0], meta["events"][-1] = meta["events"][-1], meta["events"][0]


def events(i, field, value):
    def change(meta):
        meta["events"][i][field] = value
    return meta_edit(change)


BAD_FILES = [
    # events
    ("negative seq", events(1, 0, -3), r"event 1: seq must be a whole number >= 0.*got -3"),
    ("fractional seq", events(1, 0, 1.5), r"event 1: seq must be a whole number >= 0"),
    ("boolean seq", events(1, 0, True), r"event 1: seq must be a whole number >= 0"),
    ("huge seq", events(1, 0, 99999999999999999999999), r"event 1: seq 9+ is beyond the 5 "),
    ("seq beyond the points", events(1, 0, 6), r"event 1: seq 6 is beyond the 5 points"),
    ("events out of order", meta_edit(swap_events), r"seq \d is before the previous event's"),
    ("NaN event time", events(1, 1, float("nan")), r"event 1: t must be a finite number"),
    ("text event time", events(1, 1, "soon"), r"event 1: t must be a finite number"),
    ("event not a list", set_(["events", 1], {"seq": 1}), r"event 1 must be \[seq, t, kind"),
    ("empty event kind", events(1, 2, ""), r"event 1: kind and message must be strings"),
    ("long event kind", events(1, 2, "k" * 51), r"event 1 kind has 51 characters, at most 50"),
    ("events not a list", set_(["events"], "none"), r"'events' must be a list"),
    # times
    ("started_at not a time", set_(["run", "started_at"], "yesterday"),
     r"run.started_at 'yesterday' is not an ISO 8601 time"),
    ("started_at a number", set_(["run", "started_at"], 12345),
     r"run.started_at must be an ISO 8601 time, got 12345"),
    ("started_at without zone", set_(["run", "started_at"], "2026-01-01T00:00:00"),
     r"has no time zone"),
    ("ended before started", set_(["run", "ended_at"], "2000-01-01T00:00:00+00:00"),
     r"run.ended_at 2000-01-01T00:00:00\+00:00 is before run.started_at"),
    ("started_at missing", meta_edit(lambda m: m["run"].pop("started_at")),
     r"run.started_at is missing"),
    ("year 10000", set_(["run", "ended_at"], "9999-12-31T23:59:59-12:00"), r"out of range"),
    # the run's fields
    ("status running", set_(["run", "status"], "running"), r"run.status must be one of"),
    ("status missing", meta_edit(lambda m: m["run"].pop("status")), r"run.status must be"),
    ("empty procedure", set_(["run", "procedure"], ""), r"run.procedure must be a non-empty"),
    ("long procedure", set_(["run", "procedure"], "p" * 201), r"201 characters, at most 200"),
    ("NUL in operator", set_(["run", "operator"], "a\0b"), r"run.operator contains a NUL"),
    ("device without sample", set_(["run", "sample"], ""),
     r"run.device 'bar1' is given without its sample"),
    ("parameters a list", set_(["run", "parameters"], [1]), r"run.parameters must be an object"),
    ("error a number", set_(["run", "error"], 3), r"run.error must be a string or null"),
    ("run not an object", set_(["run"], "x"), r"'run' must be an object"),
    ("setup nested 100000 deep", nested(100000), r"nested too deeply"),
    # the metadata file
    ("wrong format", set_(["format"], "qcodes"), r"not a dwlab-run-export version 1 file"),
    ("wrong version", set_(["format_version"], 2), r"not a dwlab-run-export version 1 file"),
    ("truncated JSON", write("json", '{"format": "dwlab-run-export", '), r"is not valid JSON"),
    ("JSON list", write("json", "[1, 2]"), r"the metadata must be a JSON object, got list"),
    ("JSON binary", write("json", b"\xff\xfe\x00garbage"), r"is not valid JSON"),
    ("metadata missing", lambda p: metadata_path(p).unlink(),
     r"metadata file .*run.csv.json is missing"),
    ("units without t", set_(["units"], {"I": "mA", "V": "uV"}), r"'units' must be an object"),
    ("units only t", set_(["units"], {"t": "s"}), r"'units' names no column besides t"),
    ("unit a number", set_(["units", "V"], 1), r"column 'V': name and unit must be strings"),
    # the points
    ("CSV header renamed", csv_edit(lambda ls: ls.__setitem__(0, "t [s],I [mA],W [uV]")),
     r"columns \['t', 'I', 'W'\] do not match its metadata \['t', 'I', 'V'\]"),
    ("CSV text value", csv_edit(lambda ls: ls.__setitem__(2, ls[2].replace(",", ",three,", 1)
                                                          .rsplit(",", 1)[0])),
     r"row 1, column 'I': 'three' is not a number"),
    ("CSV NaN time", csv_edit(lambda ls: ls.__setitem__(3, "nan" + ls[3][ls[3].index(","):])),
     r"row 2: t = nan is not a finite time"),
    ("CSV time going back", csv_edit(lambda ls: ls.__setitem__(3, "0.0" + ls[3][ls[3].index(","):])),
     r"row 2: t = 0.0 s goes back from 0.2 s"),
    ("CSV empty", write("csv", ""), r"cannot be read \(EmptyDataError"),
    ("CSV binary", write("csv", b"\x00\xff" * 50), r"(cannot be read|do not match)"),
    ("CSV ragged row", csv_edit(lambda ls: ls.__setitem__(2, ls[2] + ",1,2,3")),
     r"(cannot be read|do not match)"),
    # the images
    ("images file missing", lambda p: images_path(p).unlink(),
     r"its images file .*run.csv.images.npz is missing \(1 Kerr images\)"),
    ("images file outside", set_(["images", "file"], "../run.csv.images.npz"),
     r"images.file must be a file name beside the export"),
    ("images not a zip", write("run.csv.images.npz", b"PK but not really"),
     r"cannot be read \(BadZipFile"),
    ("image missing in zip", npz_member("other.npy", npy(np.zeros(2))),
     r"image 0 of 1 is missing"),
    ("image of objects", npz_member("image_00000.npy", npy(np.array([{"a": 1}], dtype=object))),
     r"holds object; images must be numbers"),
    ("image cut short", npz_member("image_00000.npy", npy(np.zeros((4, 4)))[:-8]),
     r"shape \(4, 4\) of float64 needs 128 bytes, the file has 120"),
    ("image not npy", npz_member("image_00000.npy", b"hello"), r"is not a .npy array"),
    ("zip of zeros", zeros_bomb,
     r"image_00000.npy is 2684\d+ bytes decompressed, more than the 64 MB"),
    ("image time NaN", set_(["images", "index", 0, "t"], float("nan")),
     r"images.index\[0\] must be"),
    ("images index longer", set_(["images", "index"], [{"t": 0, "meta": {}}] * 2),
     r"image 1 of 2 is missing"),
]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name, damage, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_export_gives_one_line_and_no_run(export, capsys, name, damage, message):
    url, path = export
    before = [r.id for r in RunStore(url).list_runs()]
    damage(path)
    code, out, err = import_cli(url, path, capsys)
    assert code == 2, (out, err)
    assert err.startswith("dwlab: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    assert [r.id for r in RunStore(url).list_runs()] == before


def test_no_such_file_and_wrong_suffix(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    code, _, err = import_cli(url, tmp_path / "nothing.csv", capsys)
    assert code == 2 and "no such export file" in err
    (tmp_path / "run.txt").write_text("t\n1\n")
    code, _, err = import_cli(url, tmp_path / "run.txt", capsys)
    assert code == 2 and "an export is .csv or .parquet, got '.txt'" in err


def test_a_good_export_imports_whole(export, capsys):
    url, path = export
    code, out, _ = import_cli(url, path, capsys)
    assert code == 0
    new_id = int(out.rsplit(" ", 1)[1])
    store = RunStore(url)
    assert store.dataframe(new_id)["V"].tolist() == [0.0, 3.0, 6.0, 9.0, 12.0]
    assert [(s, k, m) for s, _, k, m in store.events_with_seq(new_id)][:3] == [
        (0, "status", "running"), (3, "log", "half way"), (5, "status", "finished")]
    ((t, image, meta),) = store.images(new_id)
    assert (t, meta, image.tolist()) == (0.25, {"exposure_ms": 20},
                                         np.arange(12).reshape(3, 4).tolist())


def _mutate(node, rng, depth=0):
    """Replace one random value somewhere in a JSON tree with junk of another type."""
    junk = [None, -1, 0, 2 ** 70, 1.5, float("nan"), float("inf"), "", "x" * 300, "\0", [],
            {}, [[-1, "a", "b", "c"]], True, "2026-13-45T99:99:99"]
    if isinstance(node, dict) and node and rng.random() < 0.8:
        key = rng.choice(list(node))
        if rng.random() < 0.5 or depth > 4:
            node[key] = rng.choice(junk)
        else:
            _mutate(node[key], rng, depth + 1)
    elif isinstance(node, list) and node and rng.random() < 0.8:
        i = rng.randrange(len(node))
        if rng.random() < 0.5 or depth > 4:
            node[i] = rng.choice(junk)
        else:
            _mutate(node[i], rng, depth + 1)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_random_damage_never_gives_a_traceback_or_half_a_run(export, capsys, store_url):
    url, path = export
    good_meta = json.loads(metadata_path(path).read_text())
    good_csv = path.read_bytes()
    good_npz = images_path(path).read_bytes()
    rng = random.Random(12)
    imported = 0
    counter = RunStore(url)
    for trial in range(80):
        meta = copy.deepcopy(good_meta)
        for _ in range(rng.randint(1, 3)):
            _mutate(meta, rng)
        metadata_path(path).write_text(json.dumps(meta))
        csv = bytearray(good_csv)
        npz = bytearray(good_npz)
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 4)):
                csv[rng.randrange(len(csv))] = rng.randrange(256)
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 4)):
                npz[rng.randrange(len(npz))] = rng.randrange(256)
        path.write_bytes(bytes(csv))
        images_path(path).write_bytes(bytes(npz))
        before = len(counter.list_runs())
        code, _, err = import_cli(url, path, capsys)
        after = len(counter.list_runs())
        assert code in (0, 2), (trial, err)
        if code == 2:
            assert err.startswith("dwlab: ") and err.count("\n") == 1, (trial, err)
            assert after == before, trial
        else:
            imported += 1
            assert after == before + 1, trial
    assert 0 < imported < 80  # some damage is harmless (a unit, a message), most is not


def test_a_database_failure_while_importing_leaves_no_run(export, capsys):
    """The run row, points and events are in when the image insert fails: all roll back."""
    url, path = export
    store = RunStore(url)
    before = [r.id for r in store.list_runs()]

    def refuse_images(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO IMAGE"):
            raise RuntimeError("disk failure injected")

    from sqlalchemy import event

    from dwlab.db.export import import_run
    from dwlab.db.store import StoreError

    event.listen(store.engine, "before_cursor_execute", refuse_images)
    with pytest.raises((StoreError, RuntimeError)):
        import_run(store, path)
    event.remove(store.engine, "before_cursor_execute", refuse_images)
    assert [r.id for r in store.list_runs()] == before
