"""Every command finds the same store, from any directory; reading never creates one; no store
command needs a provider secret."""

from __future__ import annotations

from pathlib import Path

from .conftest import CONFIG, aigw


def test_a_read_only_command_never_creates_a_store(project: Path, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for command in (["logs"], ["stats"], ["keys", "list"], ["apps", "list"], ["tenants", "list"],
                    ["budgets", "list"], ["limits", "list"]):  # fmt: skip
        out = aigw(*command, "--config", str(project / "aigw.yaml"), cwd=elsewhere)
        assert out.returncode == 2, (command, out.stderr)
        assert out.stderr.startswith(f"aigw: no store at {project / 'var' / 'aigw.db'} (store.path in ")
        assert "Traceback" not in out.stderr
    assert not (project / "var").exists() and not list(elsewhere.iterdir())


def test_every_command_finds_the_store_the_config_names_from_any_directory(project: Path, tmp_path_factory):
    config = str(project / "aigw.yaml")
    created = aigw("keys", "create", "--app", "demo", "--config", config, cwd=project)
    assert created.returncode == 0, created.stderr
    # The first write says it made a store, and where.
    assert f"creating a new store at {project / 'var' / 'aigw.db'}" in created.stderr
    key_id = created.stderr.split("created ")[1].split()[0]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    listed = aigw("keys", "list", "--config", config, "-v", cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[0] == key_id
    assert listed.stderr == f"aigw: store {project / 'var' / 'aigw.db'} (store.path in {config})\n"
    assert not list(elsewhere.iterdir())


def test_aigw_home_names_the_store_when_the_config_does_not(tmp_path: Path):
    home = tmp_path / "home"
    config = tmp_path / "aigw.yaml"
    config.write_text(CONFIG.replace("store:\n  path: var/aigw.db\n", ""))
    assert "store" not in config.read_text()
    env = {"AIGW_HOME": str(home)}
    assert aigw("keys", "create", "--app", "demo", "--config", str(config), env=env).returncode == 0
    listed = aigw("apps", "list", "-v", "--config", str(config), env=env, cwd=tmp_path)
    assert listed.stdout.split()[:5] == ["app", "models", "created", "default/demo", "*"]
    assert listed.stderr == f"aigw: store {home / 'aigw.db'} ($AIGW_HOME)\n"


def test_store_commands_need_no_provider_secret(project: Path):
    config = str(project / "aigw.yaml")
    steps = (
        ["keys", "create", "--app", "demo"],
        ["keys", "list"],
        ["logs"],
        ["stats"],
        ["budgets", "set", "app", "default/demo", "requests=100/day"],
        ["limits", "set", "model", "gpt-4o-mini", "requests=10/second"],
    )
    for step in steps:
        out = aigw(*step, "--config", config, cwd=project)  # OPENAI_API_KEY is unset
        assert out.returncode == 0, (step, out.stderr)
    # Serving does need it, and `config check` says so.
    check = aigw("config", "check", config)
    assert check.returncode == 2
    assert "providers[0].keys[0].value: environment variable OPENAI_API_KEY is not set" in check.stderr


def test_an_unset_variable_the_command_reads_is_still_a_problem(project: Path):
    config = project / "aigw.yaml"
    config.write_text(config.read_text().replace("path: var/aigw.db", "path: ${AIGW_TEST_STORE}"))
    out = aigw("keys", "list", "--config", str(config))
    assert out.returncode == 2
    assert "store.path: environment variable AIGW_TEST_STORE is not set" in out.stderr
