"""Deployment files: the Dockerfile's invariants, compose wiring, and deploy.sh's checks.

CI cannot run Docker, so deploy.sh is run against a stand-in ``docker`` on PATH that records
its calls and reports the container's health.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "API_KEY", "DATABASE_URL")


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", text)
    rows = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_dockerfile_runs_slim_python_as_a_non_root_user_with_a_healthcheck():
    steps = instructions(DOCKERFILE)
    assert steps[0][0] == "FROM" and re.match(r"python:3\.11[\w.-]*-slim", steps[0][1])
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    last_user = max(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in steps[last_user:]), "RUN after USER"
    health = [rest for keyword, rest in steps if keyword == "HEALTHCHECK"]
    assert len(health) == 1 and "/health" in health[0]
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    assert "TZ=Asia/Kolkata" in env and "DATA_DIR=/data" in env
    assert any(keyword == "VOLUME" and "/data" in rest for keyword, rest in steps)
    cmd = next(rest for keyword, rest in steps if keyword == "CMD")
    assert "streamlit_app.py" in cmd


def test_no_secret_is_baked_into_the_image():
    for keyword, rest in instructions(DOCKERFILE):
        if keyword in ("ENV", "ARG", "LABEL"):
            assert not any(word in rest.upper() for word in SECRET_WORDS), rest
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and "data" in ignored and ".git" in ignored


def test_compose_wires_the_app_volume_and_the_optional_postgres_profile():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app, postgres = compose["services"]["app"], compose["services"]["postgres"]
    assert app["env_file"] == ".env" and "orderflow-data:/data" in app["volumes"]
    assert postgres["profiles"] == ["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert app["depends_on"]["postgres"]["required"] is False
    assert "healthcheck" in postgres


def fake_docker(folder: Path, health: str = "healthy") -> Path:
    script = folder / "docker"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{folder}/calls"\n'
        'case "$1 $2" in\n'
        '  "compose ps") echo container-1 ;;\n'
        f'  "inspect --format") echo {health} ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return script


def deploy(folder: Path, env_text: str | None, *arguments: str, health: str = "healthy"):
    for name in ("deploy.sh", "docker-compose.yml", "Dockerfile"):
        (folder / name).write_bytes((ROOT / name).read_bytes())
    (folder / "deploy.sh").chmod(0o755)
    if env_text is not None:
        (folder / ".env").write_text(env_text)
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake_docker(bin_dir, health)
    return subprocess.run(
        ["bash", str(folder / "deploy.sh"), *arguments],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "DEPLOY_WAIT_SECONDS": "0",
            "DEPLOY_WAIT_TRIES": "3",
        },
        timeout=30,
    )


def test_deploy_refuses_a_missing_env_and_placeholders_without_printing_values(tmp_path):
    result = deploy(tmp_path, None)
    assert result.returncode != 0 and ".env is missing" in result.stderr
    result = deploy(tmp_path, "KITE_API_KEY=your_api_key\nKITE_API_SECRET=<secret>\n")
    assert result.returncode != 0
    assert "KITE_API_KEY" in result.stderr and "KITE_API_SECRET" in result.stderr
    assert "your_api_key" not in result.stderr and "<secret>" not in result.stderr
    assert not (tmp_path / "bin" / "calls").exists()  # nothing was built


def test_deploy_checks_kite_and_postgres_settings(tmp_path):
    result = deploy(tmp_path, "DATA_SOURCE=kite\nKITE_API_KEY=abc\n")
    assert result.returncode != 0 and "KITE_API_SECRET" in result.stderr
    result = deploy(tmp_path, "DATA_SOURCE=kite\nKITE_API_KEY=abc\nKITE_API_SECRET=def4567\n")
    assert result.returncode != 0 and "APP_PASSWORD_HASH" in result.stderr
    assert "def4567" not in result.stderr
    assert not (tmp_path / "bin" / "calls").exists()
    result = deploy(tmp_path, "DATA_SOURCE=simulator\n", "--postgres")
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_the_example_env_deploys_and_waits_for_healthy(tmp_path):
    example = (ROOT / ".env.example").read_text()
    result = deploy(tmp_path, example)
    assert result.returncode == 0, result.stderr
    assert "healthy on http://localhost:8501" in result.stdout
    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert calls[:2] == ["compose build", "compose up -d"]
    assert any(call.startswith("inspect --format") for call in calls)


def test_an_unhealthy_app_fails_the_deploy(tmp_path):
    result = deploy(tmp_path, "DATA_SOURCE=simulator\n", health="unhealthy")
    assert result.returncode != 0 and "unhealthy" in result.stderr


def test_the_test_database_script_stops_only_a_server_it_started():
    import shutil
    import tempfile

    from tests.server import free_port

    script = ROOT / "scripts" / "test-postgres.sh"
    port = str(free_port())
    base = Path(tempfile.mkdtemp(prefix="orderflow-pg-", dir="/tmp"))
    base.chmod(0o777)  # the server runs as the postgres user when the tests run as root
    folder = base / "pg"
    env = dict(os.environ, TEST_PG_PORT=port, TEST_PG_DIR=str(folder))

    def run(action: str) -> str:
        return subprocess.run(
            ["bash", str(script), action], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def ready() -> bool:
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        probe = [str(binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", port]
        return subprocess.run(probe).returncode == 0

    try:
        assert run("start").endswith(f":{port}/orderflow_test")
        assert ready()
        assert run("start").endswith(f":{port}/orderflow_test")  # started once, reused
        run("stop")
        assert not ready()  # it started it: it stops it
        run("start")
        (folder / ".started-by-test-postgres").unlink()  # as if someone else had started it
        run("stop")
        assert ready()  # left alone
    finally:
        (folder / ".started-by-test-postgres").touch()
        run("stop")
        shutil.rmtree(base, ignore_errors=True)
