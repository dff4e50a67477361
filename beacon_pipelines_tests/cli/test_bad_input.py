"""Bad input to `beacon audit` / `beacon executions` beyond the catalog and id cases of
test_cli.py: one line on stderr naming what is wrong, exit code 2, nothing written."""

from __future__ import annotations

import os
import shutil

import pytest

from beacon_pipelines.cli import main as cli
from beacon_pipelines_tests.conftest import PROJECT_DIR

CLOSED_PORT_URL = "postgresql+psycopg2://beacon:hunter2-secret@127.0.0.1:1/beacon"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    for name in ("BEACON_STORE_URL", "BEACON_CATALOG", "DAGSTER_PG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # restored after the test (run_audit sets some)
    return tmp_path / "home"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def nothing_written(tmp_path):
    assert not (tmp_path / "reports").exists()
    assert not (tmp_path / "home").exists()  # not even the instance


def test_an_unreachable_database_is_named_without_its_password(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BEACON_STORE_URL", CLOSED_PORT_URL)
    assert cli.main(["audit"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("beacon audit: error: cannot use the execution store at ")
    assert "postgresql+psycopg2://beacon:***@127.0.0.1:1/beacon" in line
    assert "Connection refused" in line and "hunter2" not in line
    nothing_written(tmp_path)
    # The same store, read by `beacon executions`.
    assert cli.main(["executions", "--audit-id", "x"]) == 2
    line = one_error_line(capsys)
    assert "127.0.0.1:1" in line and "hunter2" not in line


@pytest.mark.parametrize(
    "url, message",
    [
        ("hunter2-secret@not a url", "is not a SQLAlchemy URL"),
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3, which Beacon does not ship.
        ("postgresql://beacon:hunter2-secret@127.0.0.1/beacon", "use postgresql+psycopg2://"),
        # A scheme SQLAlchemy has no dialect for.
        ("pg://beacon:hunter2-secret@127.0.0.1/beacon", "expected postgresql+psycopg2://"),
    ],
)
def test_a_malformed_store_url_is_refused_without_echoing_it(home, tmp_path, capsys, monkeypatch,
                                                              url, message):
    monkeypatch.setenv("BEACON_STORE_URL", url)
    assert cli.main(["audit"]) == 2
    line = one_error_line(capsys)
    assert message in line and "hunter2" not in line
    nothing_written(tmp_path)


def test_an_output_folder_under_a_file_is_refused_before_anything_runs(home, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    assert cli.main(["audit", "--out", str(tmp_path / "notes.txt" / "report")]) == 2
    line = one_error_line(capsys)
    assert f"output folder {tmp_path / 'notes.txt' / 'report'}" in line
    assert "is a file, not a folder" in line
    nothing_written(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused_before_anything_runs(home, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert cli.main(["audit", "--out", str(locked / "report")]) == 2
    finally:
        locked.chmod(0o755)
    line = one_error_line(capsys)
    assert f"cannot write in {locked}: Permission denied" in line
    assert list(locked.iterdir()) == []  # the write probe left nothing
    nothing_written(tmp_path)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--openai-base-url", "http://127.0.0.1:9/v1"],
            "--openai-base-url is an option of --backend openai, not --backend simulated",
        ),
        (
            ["--backend", "modal", "--sim-config", "sim.yaml"],
            "--sim-config is an option of --backend simulated, not --backend modal",
        ),
        (
            ["--backend", "openai", "--openai-base-url", "http://x/v1", "--modal-app", "a"],
            "--modal-app is an option of --backend modal, not --backend openai",
        ),
    ],
)
def test_an_option_of_another_backend_is_refused(home, tmp_path, capsys, args, message):
    assert cli.main(["audit", *args]) == 2
    assert message in one_error_line(capsys)
    nothing_written(tmp_path)


def test_an_instance_credential_missing_from_the_environment_is_named(
    home, tmp_path, capsys, monkeypatch
):
    home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_USERNAME", "beacon")
    monkeypatch.setenv("DAGSTER_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_DB", "beacon")
    assert cli.main(["audit"]) == 2
    line = one_error_line(capsys)
    assert f"cannot open the Dagster instance configured in {home / 'dagster.yaml'}" in line
    assert line.endswith("environment variable DAGSTER_PG_PASSWORD is not set")
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]  # no store, no logs
    assert not (tmp_path / "reports").exists()


def test_executions_csv_into_a_missing_folder_is_one_line(
    home, tmp_path, capsys, store, monkeypatch
):
    from beacon_pipelines.plan import AuditPlan

    store.register_audit(
        AuditPlan("a1", "0" * 64, "simulated", ("m",), ("US",), ("q",), created_at=1.0)
    )
    monkeypatch.setenv("BEACON_STORE_URL", str(store.engine.url))
    target = tmp_path / "missing" / "rows.csv"
    assert cli.main(["executions", "--audit-id", "a1", "--csv", str(target)]) == 2
    assert f"cannot write {target}" in one_error_line(capsys)


def tree(folder) -> list[str]:
    """Every path under `folder`: compared before and after a refused command."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


SMALL_AUDIT = ["audit", "--models", "llama3.2-1b", "--regions", "US", "--questions", "math_basic"]
EVERY_COMMAND = {
    "audit": SMALL_AUDIT,
    "executions": ["executions", "--audit-id", "a1"],
    "report": ["report", "a1"],
}


@pytest.mark.parametrize("command", EVERY_COMMAND)
@pytest.mark.parametrize("where", ["is a file", "under a file"])
def test_a_dagster_home_that_is_a_file_or_under_one_is_one_line(
    home, tmp_path, capsys, monkeypatch, command, where
):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    target = tmp_path / "notes.txt" if where == "is a file" else tmp_path / "notes.txt" / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(target))
    before = tree(tmp_path)
    assert cli.main(EVERY_COMMAND[command]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"beacon {command}: error: DAGSTER_HOME {target}")
    assert line.endswith(f"{tmp_path / 'notes.txt'} is a file, not a folder")
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--audit-id", "nl1\n"],
        ["audit", "--audit-id", "nl1\n", "--dry-run"],
        ["executions", "--audit-id", "nl1\n"],
        ["report", "nl1\n"],
    ],
)
def test_an_audit_id_with_a_trailing_newline_is_refused(home, tmp_path, capsys, argv):
    before = tree(tmp_path)
    assert cli.main(argv) == 2
    assert f"beacon {argv[0]}: error: audit id 'nl1\\n' is not valid" in one_error_line(capsys)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("argv", [["executions", "--audit-id", "a1"], ["report", "a1"]])
def test_reading_an_audit_where_there_is_no_store_creates_nothing(
    home, tmp_path, capsys, monkeypatch, argv
):
    monkeypatch.delenv("DAGSTER_HOME")  # the default home, ./.dagster_home, is not there
    before = tree(tmp_path)
    assert cli.main(argv) == 2
    assert one_error_line(capsys) == (
        f"beacon {argv[0]}: error: no audit 'a1': there is no execution store at "
        f"sqlite:///{tmp_path / '.dagster_home' / 'beacon.db'}"
    )
    assert tree(tmp_path) == before


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_samples_without_bound_are_refused_without_listing_executions(
    home, tmp_path, capsys, dry_run
):
    # Unbounded, the dry run built all 7.2e12 execution keys and was killed at 24 GB.
    before = tree(tmp_path)
    assert cli.main(["audit", "--samples", "99999999999", *dry_run]) == 2
    assert one_error_line(capsys) == (
        "beacon audit: error: samples must be at most 1000, got 99999999999"
    )
    assert tree(tmp_path) == before


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
@pytest.mark.parametrize(
    "sim, message",
    [
        (
            "faults:\n  - {kind: transient, rate: 0.5}\n  - {kind: outage, region: MARS}\n",
            "field faults[1] (outage): region 'MARS' is not in the catalog, which has US, EU, ASIA",
        ),
        (
            "latency: {cold_start_by_region: {APAC: 400}}\n",
            "field latency.cold_start_by_region: region 'APAC' is not in the catalog, which has "
            "US, EU, ASIA",
        ),
    ],
)
def test_a_sim_config_naming_a_region_the_catalog_lacks_is_refused(
    home, tmp_path, capsys, dry_run, sim, message
):
    (tmp_path / "sim.yaml").write_text(sim)
    before = tree(tmp_path)
    assert cli.main([*SMALL_AUDIT, "--sim-config", "sim.yaml", *dry_run]) == 2
    assert one_error_line(capsys) == f"beacon audit: error: sim.yaml: {message}"
    assert tree(tmp_path) == before


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_an_unknown_failover_region_is_refused_by_the_dry_run_too(
    home, tmp_path, capsys, dry_run
):
    assert cli.main([*SMALL_AUDIT, "--failover", "US,MARS", *dry_run]) == 2
    assert one_error_line(capsys) == (
        "beacon audit: error: unknown failover region 'MARS'; the catalog has: US, EU, ASIA"
    )
    assert tree(tmp_path) == []


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://beacon:hunter2@127.0.0.1:9/v1", "http://***@127.0.0.1:9/v1"),
        ("http://127.0.0.1:9/v1?key=hunter2&v=2", "http://127.0.0.1:9/v1?key=***&v=***"),
        ("ftp://beacon:hunter2@127.0.0.1/v1", "ftp://***@127.0.0.1/v1"),
    ],
)
def test_credentials_in_the_openai_base_url_are_never_echoed(
    home, tmp_path, capsys, dry_run, url, shown
):
    argv = ["audit", "--backend", "openai", "--openai-base-url", url, *dry_run]
    assert cli.main(argv) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"beacon audit: error: base URL {shown!r} ")
    assert "hunter2" not in line
    assert tree(tmp_path) == []


def test_an_unreachable_postgres_instance_fails_fast_naming_host_and_port(
    home, tmp_path, capsys, monkeypatch
):
    import time

    home.mkdir()
    config = (PROJECT_DIR / "deploy" / "dagster.postgres.yaml").read_text()
    assert "port: 5432 " in config
    (home / "dagster.yaml").write_text(config.replace("port: 5432 ", "port: 1 "))
    for name, value in [("USERNAME", "beacon"), ("PASSWORD", "hunter2-secret"),
                        ("HOST", "127.0.0.1"), ("DB", "beacon")]:
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)
    # Probed before the store is created: no store file below either.
    monkeypatch.setenv("BEACON_STORE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    before = tree(tmp_path)
    started = time.monotonic()
    assert cli.main(SMALL_AUDIT) == 2
    assert time.monotonic() - started < 5  # Dagster's own retries took 15 s
    assert one_error_line(capsys) == (
        f"beacon audit: error: cannot open the Dagster instance configured in "
        f"{home / 'dagster.yaml'}: Postgres at 127.0.0.1:1 (database beacon): Connection refused"
    )
    assert tree(tmp_path) == before


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
@pytest.mark.parametrize(
    "row, message",
    [
        ("llama3.2-1b,US,math_basic,0,refused,", ":3: class 'refused' is not a class"),
        # An execution the plan does not have: its sample, its region.
        ("llama3.2-1b,US,math_basic,1,refusal,", ":3: sample 1 is not in audit 'lab-1' "
         "(samples 0-0)"),
        ("llama3.2-1b,EU,math_basic,0,refusal,", ":3: region 'EU' is not in audit 'lab-1' "
         "(it has US)"),
    ],
)
def test_a_bad_labels_file_is_refused_before_anything_starts(
    home, tmp_path, capsys, dry_run, row, message
):
    labels = tmp_path / "labels.csv"
    labels.write_text("model,region,question_id,sample,class,note\n"
                      "llama3.2-1b,US,math_basic,0,substantive,fine\n" + row + "\n")
    argv = [*SMALL_AUDIT, "--samples", "1", "--audit-id", "lab-1", "--labels", str(labels)]
    assert cli.main([*argv, *dry_run]) == 2
    assert one_error_line(capsys).startswith(f"beacon audit: error: {labels}{message}")
    assert tree(tmp_path) == ["labels.csv"]  # no report folder, no instance, no store


def test_a_dry_run_names_the_labels_it_would_apply(home, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("model,region,question_id,sample,class\nllama3.2-1b,US,math_basic,0,"
                      "evasion\n")
    argv = [*SMALL_AUDIT, "--samples", "1", "--labels", str(labels), "--dry-run"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"labels: 1 answers from {labels} (sha256 " in out
    assert tree(tmp_path) == ["labels.csv"]
