"""`aigw config check`, run as a user runs it: every problem on stderr, exit status 2."""

import subprocess
import sys


def check(path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "config", "check", str(path)], capture_output=True, text=True
    )


def test_config_check_prints_every_problem_with_its_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "providers:\n"
        "  - {name: p, type: nope, keys: [{id: 1}]}\n"
        "  - {name: q, type: openai, base_url: http://x, keys: [{id: k, value: v}], timeout_s: -1}\n"
        "model_groups: [{name: m, deployments: [{provider: ghost}]}]\n"
        "colour: red\n"
    )
    out = check(bad)
    assert out.returncode == 2
    assert out.stderr.startswith(f"aigw: {bad}: 6 problem(s)\n")
    for line in (
        "colour: unknown field",
        "providers[0].type: 'nope' is not one of openai,",
        "providers[0].keys[0].id: Expected `str`, got `int`",
        "providers[0].keys[0].value: required field is missing",
        "providers[1].timeout_s: Expected `float` > 0.0",
        "model_groups[0].deployments[0].provider: unknown provider 'ghost'",
    ):
        assert f"\n  {line}" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_a_good_config_is_ok(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        subprocess.run(
            [sys.executable, "-m", "gateway", "config", "quickstart"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    out = check(good)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"{good}: OK\n", "")


def test_a_missing_file_is_one_problem(tmp_path):
    out = check(tmp_path / "absent.yaml")
    assert out.returncode == 2
    assert f"{tmp_path / 'absent.yaml'}: cannot read the config file: No such file or directory" in out.stderr
    assert out.stderr.count("\n") == 1  # one problem, one line
