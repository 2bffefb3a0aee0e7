"""Command-line mistakes get one line, exit code 2, no traceback, and no work done.

Each output-path mistake (read-only folder, a folder given as a file, a wrong suffix, a
missing parent folder, a file landscape did not write) and each bad number is refused by
the one validator (:func:`landscape._validation.check_output_path`) or the argument
parser before any computation: the compute functions are replaced by ones that fail the
test if called, and the output folder must be left as it was.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import landscape as ls
from landscape._atomic import atomic_write
from landscape.cli import build_parser, main
from landscape.errors import LandscapeTypeError, LandscapeValueError, SigmaError, WidthsError

COMPUTE = [("landscape.dynamics", "gradient_flow"), ("landscape.critical", "critical_points"),
           ("landscape.stability", "classify"), ("landscape.render", "render"), ("landscape.sweeps", "sweep"),
           ("landscape.explore", "explore"), ("landscape.io", "load"), ("landscape.io", "save")]


def run(*args):
    """``main(args)`` in this process; the exit code (argparse errors raise SystemExit)."""
    try:
        return main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code


@pytest.fixture
def no_work(monkeypatch):
    """Every compute and file function fails the test if the CLI reaches it."""
    import importlib

    def forbidden(name):
        def call(*args, **kwargs):
            raise AssertionError(f"{name} ran although the arguments were refused")

        return call

    for module, name in COMPUTE:
        monkeypatch.setattr(importlib.import_module(module), name, forbidden(f"{module}.{name}"))


def one_error_line(capsys, command):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"landscape {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody may write into (a read-only tmpfs when running as root, who ignores modes)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
        yield ro
        ro.chmod(0o755)
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("running as root without permission to mount a read-only tmpfs")
    try:
        yield ro
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


# --- output paths -----------------------------------------------------------------


def test_read_only_folder_is_refused_before_any_work(readonly_dir, capsys, no_work):
    assert run("flow", "--out", readonly_dir / "t.nc") == 2
    line = one_error_line(capsys, "flow")
    assert f"--out '{readonly_dir / 't.nc'}' cannot be written: the folder '{readonly_dir}' is not writable" in line
    assert listing(readonly_dir) == []


def test_folder_given_as_out_file(tmp_path, capsys, no_work):
    assert run("critical", "--out", tmp_path) == 2
    line = one_error_line(capsys, "critical")
    assert line.endswith(f"--out '{tmp_path}' is a folder; expected a file name ending in .nc.")


@pytest.mark.parametrize("command, out, allowed", [
    (["render", "IN"], "x.txt", ".png"),
    (["flow"], "mine.txt", ".nc"),
    (["critical"], "c.png", ".nc"),
    (["classify", "--widths", "1,1,1", "--sigma", "3"], "c", ".nc"),
    (["sweep"], "s.csv", ".nc"),
])
def test_wrong_suffix_names_the_allowed_suffixes(tmp_path, capsys, no_work, command, out, allowed):
    (tmp_path / "IN").write_text("not read")
    (tmp_path / "mine.txt").write_text("my notes")
    command = [tmp_path / "IN" if c == "IN" else c for c in command]
    assert run(*command, "--out", tmp_path / out) == 2
    line = one_error_line(capsys, command[0])
    got = repr(Path(out).suffix) if Path(out).suffix else "no suffix"
    assert f"--out '{tmp_path / out}' must end in {allowed}; got {got}." in line
    assert (tmp_path / "mine.txt").read_text() == "my notes"
    assert listing(tmp_path) == ["IN", "mine.txt"]


@pytest.mark.parametrize("command, option, value", [
    (["flow"], "--out", "missing/t.nc"),
    (["critical"], "--out", "missing/c.nc"),
    (["classify"], "--out", "missing/c.nc"),
    (["render", "IN"], "--out", "missing/x.png"),
    (["sweep"], "--out", "missing/s.nc"),
    (["sweep"], "--directory", "missing/chunks"),
    (["explore"], "--out", "missing/report"),
])
def test_missing_parent_folder_is_one_rule_for_every_command(tmp_path, capsys, no_work, command, option, value):
    (tmp_path / "IN").write_text("not read")
    command = [tmp_path / "IN" if c == "IN" else c for c in command]
    args = [*command, option, tmp_path / value]
    if option == "--directory":
        args += ["--out", tmp_path / "s.nc"]
    assert run(*args) == 2
    line = one_error_line(capsys, command[0])
    assert (f"{option} '{tmp_path / value}': the folder '{tmp_path / 'missing'}' does not exist; create it first "
            f"(landscape does not create missing parent folders).") in line
    assert not (tmp_path / "missing").exists()


def test_existing_file_as_folder_output(tmp_path, capsys, no_work):
    (tmp_path / "report").write_text("a file")
    assert run("explore", "--out", tmp_path / "report") == 2
    assert one_error_line(capsys, "explore").endswith(f"--out '{tmp_path / 'report'}' is a file; expected a folder.")
    assert run("sweep", "--directory", tmp_path / "report", "--out", tmp_path / "s.nc") == 2
    assert one_error_line(capsys, "sweep").endswith(f"--directory '{tmp_path / 'report'}' is a file; expected a folder.")


# --- never overwrite what landscape did not write ---------------------------------------


@pytest.mark.parametrize("command, name", [(["flow"], "mine.nc"), (["critical"], "mine.nc"),
                                           (["render", "IN"], "mine.png"), (["sweep"], "mine.nc")])
def test_a_users_file_is_not_replaced_without_overwrite(tmp_path, capsys, no_work, command, name):
    (tmp_path / "IN").write_text("not read")
    mine = tmp_path / name
    mine.write_text("my own data")
    command = [tmp_path / "IN" if c == "IN" else c for c in command]
    assert run(*command, "--out", mine) == 2
    line = one_error_line(capsys, command[0])
    assert line.endswith(f"--out '{mine}' exists and was not written by landscape; pass --overwrite to replace it.")
    assert mine.read_text() == "my own data"


def test_overwrite_replaces_a_users_file_and_a_landscape_file_is_replaced_anyway(tmp_path, capsys):
    mine = tmp_path / "mine.nc"
    mine.write_text("my own data")
    assert run("critical", "--widths", "2,2", "--sigma", "2,1", "--out", mine) == 2
    assert mine.read_text() == "my own data"
    capsys.readouterr()
    assert run("critical", "--widths", "2,2", "--sigma", "2,1", "--out", mine, "--overwrite") == 0
    assert ls.load(mine).attrs["landscape_kind"] == "critical_points"
    # now it is a landscape output: a rerun replaces it without --overwrite
    assert run("critical", "--widths", "2,2,2", "--sigma", "2,1", "--out", mine) == 0
    assert list(ls.load(mine).attrs["widths"]) == [2, 2, 2]


def test_a_foreign_netcdf_file_is_not_a_landscape_output(tmp_path, capsys, no_work):
    import xarray as xr

    theirs = tmp_path / "theirs.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}, attrs={"title": "someone else's"}).to_netcdf(theirs, engine="h5netcdf")
    before = theirs.read_bytes()
    assert run("flow", "--out", theirs) == 2
    assert "exists and was not written by landscape" in one_error_line(capsys, "flow")
    assert theirs.read_bytes() == before


def test_explore_writes_only_into_an_empty_folder_or_an_earlier_report(tmp_path, capsys, monkeypatch):
    import landscape.explore

    calls = []
    monkeypatch.setattr(landscape.explore, "explore", lambda out, *a, **k: calls.append(Path(out)) or out / "index.html")
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "index.html").write_text("<html>my home page</html>")
    assert run("explore", "--out", folder) == 2
    line = one_error_line(capsys, "explore")
    assert line.endswith(f"--out '{folder}' is a folder with other files and no index.html written by landscape; "
                         f"pass --overwrite to write into it.")
    assert calls == []
    # a report written by landscape (its index.html carries the stamp) is rewritten; an empty or new folder too
    report = tmp_path / "report"
    report.mkdir()
    atomic_write(report / "index.html", lambda tmp: Path(tmp).write_text("<html>report</html>"))
    (tmp_path / "empty").mkdir()
    for out in (report, tmp_path / "empty", tmp_path / "new", folder):
        extra = ["--overwrite"] if out == folder else []
        assert run("explore", "--out", out, "--no-progress", *extra) == 0
    assert calls == [report, tmp_path / "empty", tmp_path / "new", folder]
    assert (folder / "index.html").read_text() == "<html>my home page</html>"  # explore was replaced: untouched


def test_sweep_directory_must_be_empty_or_a_sweep_to_resume(tmp_path, capsys, monkeypatch):
    import landscape.sweeps

    class Reached(Exception):
        pass

    def fake_sweep(*args, **kwargs):
        raise Reached(kwargs["directory"])

    monkeypatch.setattr(landscape.sweeps, "sweep", fake_sweep)
    chunks = tmp_path / "chunks"
    chunks.mkdir()
    (chunks / "notes.txt").write_text("mine")
    assert run("sweep", "--directory", chunks, "--out", tmp_path / "s.nc") == 2
    assert one_error_line(capsys, "sweep").endswith(
        f"--directory '{chunks}' is a folder with other files and no sweep.json written by landscape; "
        f"pass --overwrite to write into it.")
    (chunks / "sweep.json").write_text("{}")
    with pytest.raises(Reached):
        run("sweep", "--directory", chunks, "--out", tmp_path / "s.nc")


# --- bad numbers and lists ---------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["flow", "--seed", "-5"], "--seed takes an integer >= 0; got '-5'"),
    (["summary", "--seed", "-5"], "--seed takes an integer >= 0; got '-5'"),
    (["flow", "--seed", "1.5"], "--seed takes an integer; got '1.5'"),
    (["flow", "--sigma", "3,,1"], "--sigma takes comma-separated values with no empty entry, for example 3,2,1; "
                                  "got '3,,1'"),
    (["flow", "--sigma", "3,2,"], "--sigma takes comma-separated values with no empty entry"),
    (["critical", "--widths", "3,,3"], "--widths takes comma-separated values with no empty entry, for example "
                                       "3,3,3,3; got '3,,3'"),
    (["sweep", "--scales", "0.1,,1"], "--scales takes comma-separated values with no empty entry"),
    (["flow", "--sigma", "1+1j"], "--sigma takes comma-separated numbers, for example 3,2,1; got '1+1j'"),
    (["flow", "--scale", "nan"], "--scale takes a finite number; got 'nan'"),
    (["flow", "--scale", "-1"], "--scale takes a number >= 0; got '-1'"),
    (["flow", "--t-end", "0"], "--t-end takes a number > 0; got '0'"),
    (["sweep", "--seeds", "0"], "--seeds takes an integer >= 1; got '0'"),
    (["sweep", "--workers", "0"], "--workers takes an integer >= 1; got '0'"),
    (["flow", "--method", "euler"], "argument --method: invalid choice: 'euler'"),
    (["flow", "--init", "xavier"], "argument --init: invalid choice: 'xavier'"),
    (["sweep", "--inits", "gaussian,,identity"], "--inits takes comma-separated values with no empty entry"),
    (["sweep", "--inits", "near"], "--inits takes comma-separated initialisations among gaussian, balanced, "
                                   "identity, orthogonal; got 'near'"),
])
def test_bad_numbers_get_one_line_before_any_work(tmp_path, capsys, no_work, args, message):
    assert run(*args, *(["--out", tmp_path / "o.nc"] if args[0] in ("flow", "sweep") else [])) == 2
    assert message in one_error_line(capsys, args[0])
    assert listing(tmp_path) == []


def test_entry_point_mistake_is_one_line_without_traceback_and_fast(tmp_path):
    """The installed command, in a fresh interpreter: one stderr line, exit code 2, nothing written."""
    for args in (["flow", "--out", str(tmp_path)], ["flow", "--seed", "-5", "--out", str(tmp_path / "t.nc")],
                 ["render", str(tmp_path / "nothing.nc"), "--out", str(tmp_path / "x.txt")]):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "landscape.cli", *args], capture_output=True, text=True)
        assert time.perf_counter() - t0 < 20, args
        assert res.returncode == 2, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
        assert res.stdout == ""
    assert listing(tmp_path) == []


# --- help, choices, spelling ---------------------------------------------------------------


def subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_subcommand_and_option_is_described():
    parsers = subparsers()
    assert set(parsers) == {"explore", "flow", "critical", "classify", "render", "sweep", "summary", "lab"}
    for name, p in parsers.items():
        assert p.description and len(p.description) > 40, name
        for action in p._actions:
            assert action.help and action.help.strip(), (name, action.dest)


def test_method_and_init_offer_every_choice():
    import landscape.init
    from landscape.dynamics import METHODS

    flow = subparsers()["flow"]
    options = {a.dest: a for a in flow._actions}
    assert tuple(options["method"].choices) == tuple(METHODS)
    assert set(options["init"].choices) == set(landscape.init.__all__)
    assert {"gaussian", "identity", "orthogonal", "balanced", "lambda_balanced", "delta_balanced", "aligned",
            "near"} <= set(options["init"].choices)
    text = flow.format_help()
    for name in (*METHODS, *landscape.init.__all__):
        assert name in text, name
    assert "classify" in subparsers() and "--out" in subparsers()["classify"].format_help()


@pytest.mark.parametrize("init, extra, expected", [
    ("lambda_balanced", ["--lam", "0.5"], lambda net, a: ls.init.lambda_balanced(net, 0.5, 0.01, rng=3)),
    ("delta_balanced", ["--delta", "0.2"], lambda net, a: ls.init.delta_balanced(net, 0.2, 0.01, rng=3)),
    ("aligned", ["--values", "0.3,0.1"], lambda net, a: ls.init.aligned(net, [0.3, 0.1])),
    ("near", ["--subset", "{2}"], lambda net, a: ls.init.near(net, ls.representative(net, (2,)), 0.01, rng=3)),
    ("identity", [], lambda net, a: ls.init.identity(net, 0.01)),
])
def test_every_init_runs_from_the_cli_with_its_parameters(capsys, init, extra, expected):
    net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    assert run("summary", "--widths", "3,3,3", "--init", init, "--seed", "3", *extra) == 0
    out = capsys.readouterr().out
    loss = float(next(line for line in out.splitlines() if line.startswith("loss ")).split()[1])  # the repr names the loss too
    assert loss == pytest.approx(net.loss(expected(net, None)), rel=1e-9)


def test_an_init_option_without_effect_warns(capsys):
    assert run("summary", "--init", "gaussian", "--lam", "0.5") == 0
    err = capsys.readouterr().err
    assert "warning: --lam has no effect with --init gaussian (it is for --init lambda_balanced)." in err


def test_method_is_matched_case_insensitively():
    args = build_parser().parse_args(["flow", "--method", "rk45"])
    assert args.method == "RK45"


def test_classify_out_writes_the_classification_and_spells_kinds_as_the_dataset(tmp_path, capsys):
    out = tmp_path / "cls.nc"
    assert run("classify", "--widths", "1,1,1,1", "--sigma", "3", "--out", out) == 0
    printed = capsys.readouterr().out
    cp = ls.load(out)
    assert cp.kind.values.tolist() == ["global_minimum", "non_strict_saddle"]
    assert "global_minimum" in printed and "global minimum" not in printed
    assert "non_strict_saddle" in printed and f"written to {out}" in printed
    # the written file is read back by --file and printed identically, without classifying again
    assert run("classify", "--file", out) == 0
    assert capsys.readouterr().out.splitlines()[:3] == printed.splitlines()[:3]


# --- the same checks in the Python API --------------------------------------------------


def test_complex_sigma_is_refused_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SigmaError, match=r"sigma must be real; got the entry \(1\+1j\) at index \(0,\)"):
            ls.LinearNetwork([3, 3], sigma=[1 + 1j])
        with pytest.raises(SigmaError, match=r"sigma must be real; got an array of dtype complex128"):
            ls.LinearNetwork([3, 3], sigma=np.array([2.0, 1.0], dtype=complex))


def test_bool_width_is_refused():
    with pytest.raises(WidthsError, match=r"widths must contain positive integers; widths\[1\] is True"):
        ls.LinearNetwork([3, True, 3], sigma=[1.0])


def test_weights_at_out_of_range_names_the_index_and_the_valid_range():
    crit = ls.critical_points(ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0]))
    with pytest.raises(LandscapeValueError,
                       match=r"index 99 is out of range for 'point' of size 8; valid positions: 0\.\.7 "
                             r"\(or -8\.\.-1 from the end\)"):
        ls.weights_at(crit, 99)
    with pytest.raises(LandscapeValueError, match=r"index -9 is out of range for 'point' of size 8"):
        ls.weights_at(crit, -9)
    with pytest.raises(LandscapeTypeError, match=r"index must be an integer; got 2\.5"):
        ls.weights_at(crit, 2.5)
    with pytest.raises(LandscapeValueError, match=r"weights_at got run=0, but theta has no dimension 'run'"):
        ls.weights_at(crit, 0, run=0)
    last = ls.weights_at(crit, -1)
    assert all(np.array_equal(a, b) for a, b in zip(last, ls.weights_at(crit, 7)))


def test_classify_of_one_point_gives_a_str_kind_and_an_int_order_with_item():
    net = ls.LinearNetwork([3, 3, 3, 3], sigma=[3.0, 2.0, 1.0])
    c = ls.classify(net, ls.representative(net, (1,)))
    kind, order = c.kind.item(), c.order.item()
    assert type(kind) is str and kind == "non_strict_saddle"
    assert type(order) is int and order == 3
    strict = ls.classify(net, ls.representative(net, (2,)))
    assert strict.kind.item() == "strict_saddle" and strict.order.item() == 2


def test_weights_at_doctest_runs():
    import doctest

    import landscape.io._netcdf

    result = doctest.testmod(landscape.io._netcdf, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0
