"""Static checks of the deployment files: docker-compose.yml, Dockerfile, .dockerignore, .env.example and
docs/operations.md, against each other and against config/settings.py. No Docker, database or network."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]

APP_SERVICES = ("web", "worker", "beat")  # long-running containers of the mlgov image
EXPECTED_SERVICES = {"migrate", *APP_SERVICES, "postgres", "redis", "mlflow", "opa"}
# Values that must never be written into the compose file: only ${...} interpolation from .env.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|(?:^|_)KEY$")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_]\w*)(?P<op>:?[?-])?(?P<arg>[^}]*)\}")
# Names the settings module reads: env_str("NAME", ...), env_bool(...), ..., os.environ.get("NAME").
SETTINGS_READ = re.compile(
    r"""\benv_(?:str|bool|int|float|list)\(\s*"(?P<a>[A-Z][A-Z0-9_]*)"|os\.environ(?:\.get)?[(\[]\s*"(?P<b>[A-Z][A-Z0-9_]*)\""""
)
ENV_EXAMPLE_LINE = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$", re.MULTILINE)


# ------------------------------------------------------------------------------------------------ helpers


@functools.cache
def compose() -> dict[str, Any]:
    # safe_load resolves the x-mlgov anchor and the `<<:` merges, as compose does.
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def service(name: str) -> dict[str, Any]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    return services[name]


def environment(name: str) -> dict[str, str]:
    raw = service(name).get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def command(name: str) -> list[str]:
    raw = service(name).get("command") or []
    return raw.split() if isinstance(raw, str) else [str(part) for part in raw]


def healthcheck_test(name: str) -> str:
    check = service(name).get("healthcheck") or {}
    test = check.get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


def strings_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings_in(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings_in(value)]
    return [node] if isinstance(node, str) else []


def compose_strings() -> list[str]:
    """Every string value of the parsed compose file (comments are not values)."""
    return strings_in(compose())


def interpolated_names() -> set[str]:
    # `$$` is a literal dollar for the container's shell, not an interpolation.
    return {m["name"] for text in compose_strings() for m in INTERPOLATION.finditer(text.replace("$$", ""))}


def url_of(value: str) -> SplitResult:
    """Parse a URL whose parts may be ${...} interpolations (their `?` would start a query string)."""
    return urlsplit(INTERPOLATION.sub("INTERPOLATED", value))


@functools.cache
def settings_names() -> frozenset[str]:
    source = (ROOT / "config" / "settings.py").read_text(encoding="utf-8")
    names = frozenset(match["a"] or match["b"] for match in SETTINGS_READ.finditer(source))
    # Guard against a regex that silently stops matching (every test below would then be vacuous).
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "POLICY_ENGINE", "OPA_URL"} <= names
    return names


@functools.cache
def env_example() -> dict[str, tuple[bool, str]]:
    """name -> (active, value); a commented `# NAME=value` line documents NAME without setting it."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    found: dict[str, tuple[bool, str]] = {}
    for match in ENV_EXAMPLE_LINE.finditer(text):
        active = match["comment"] is None
        if active or match["name"] not in found:
            found[match["name"]] = (active, match["value"])
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    pairs = []
    for entry in logical:
        keyword, _, arguments = entry.partition(" ")
        pairs.append((keyword.upper(), arguments.strip()))
    return pairs


# ------------------------------------------------------------------------------------------------ compose


def test_expected_services_exist_with_pinned_images() -> None:
    services: dict[str, dict[str, Any]] = compose()["services"]
    assert set(services) >= EXPECTED_SERVICES
    for name, definition in services.items():
        if "build" in definition:
            continue
        image = str(definition.get("image", ""))
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not pinned"
    # The MLflow server must run the same release as the client locked in requirements/base.lock.
    locked = re.search(r"^mlflow==(\S+)", (ROOT / "requirements" / "base.lock").read_text(), re.MULTILINE)
    assert locked is not None
    assert service("mlflow")["image"] == f"ghcr.io/mlflow/mlflow:v{locked[1]}"
    assert service("opa")["image"].startswith("openpolicyagent/opa:1.")
    assert service("postgres")["image"].startswith("postgres:16")


def test_long_running_services_have_healthchecks_and_dependencies_wait_for_them() -> None:
    services: dict[str, dict[str, Any]] = compose()["services"]
    for name, definition in services.items():
        if name == "migrate":
            continue
        check = definition.get("healthcheck") or {}
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        assert healthcheck_test(name) and "NONE" not in healthcheck_test(name), f"{name}: no healthcheck"
    for name, definition in services.items():
        depends = definition.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a bare list"
        for target, spec in depends.items():
            condition = spec.get("condition")
            expected = "service_completed_successfully" if target == "migrate" else "service_healthy"
            assert condition == expected, f"{name} -> {target}: condition {condition!r}"
    # The health probes hit the real endpoints.
    assert "/readyz" in healthcheck_test("web") or "/healthz" in healthcheck_test("web")
    assert "pg_isready" in healthcheck_test("postgres")
    assert "/health" in healthcheck_test("mlflow") and "/health" in healthcheck_test("opa")
    assert "--fail" in healthcheck_test("opa")  # else an undefined result (status != 200) exits 0


def test_app_services_share_build_and_environment_and_start_after_migrations() -> None:
    web = service("web")
    for name in ("migrate", *APP_SERVICES):
        definition = service(name)
        for key in ("build", "image", "env_file", "environment", "volumes"):
            assert definition.get(key) == web.get(key), f"{name}.{key} differs from web.{key}"
    for name in APP_SERVICES:
        depends = service(name)["depends_on"]
        assert {"postgres", "redis", "migrate"} <= set(depends), name
    assert "migrate" in command("migrate") and service("migrate")["restart"] == "no"
    assert set(service("migrate")["depends_on"]) == {"postgres"}
    assert command("web")[:2] == ["gunicorn", "config.wsgi:application"]

    env = environment("web")
    assert env["MLGOV_ENV"] == "production"
    assert env["POLICY_ENGINE"] == "opa"
    assert env["CELERY_TASK_ALWAYS_EAGER"].lower() == "false"
    assert "web" in env["ALLOWED_HOSTS"].split(",")  # the Host of MLflow's webhook deliveries
    # Every URL points at a service of this file, on the port that service listens on.
    wiring = {
        "DATABASE_URL": ("postgres", 5432),
        "REDIS_URL": ("redis", 6379),
        "CELERY_BROKER_URL": ("redis", 6379),
        "MLFLOW_TRACKING_URI": ("mlflow", 5000),
        "OPA_URL": ("opa", 8181),
    }
    for variable, (host, port) in wiring.items():
        url = url_of(env[variable])
        assert (url.hostname, url.port) == (host, port), f"{variable}={env[variable]}"
    assert "5000" in command("mlflow") and "--addr=0.0.0.0:8181" in command("opa")


def test_exactly_one_beat() -> None:
    runs_beat = [
        name
        for name in compose()["services"]
        if command(name)[:1] == ["celery"]
        and ("beat" in command(name) or {"-B", "--beat"} & set(command(name)))
    ]
    assert runs_beat == ["beat"]
    beat = service("beat")
    assert beat.get("scale", 1) == 1 and beat.get("deploy", {}).get("replicas", 1) == 1
    assert "worker" in command("worker")


def test_opa_serves_the_bundle_read_only_with_watch() -> None:
    opa_mounts = [str(volume).split(":") for volume in service("opa")["volumes"]]
    bundle = [m for m in opa_mounts if (ROOT / m[0]).resolve() == ROOT / "policies" / "bundle"]
    assert len(bundle) == 1, opa_mounts
    source, target, *options = bundle[0]
    assert "ro" in options
    assert any((ROOT / source).rglob("*.rego"))
    run = command("opa")
    assert run[:2] == ["run", "--server"] and "--watch" in run and target in run
    assert not any(argument.startswith(("--bundle", "-b")) for argument in run)
    # The app reads the bundle digest from its own copy: it must be the very directory OPA evaluates.
    app_mounts = [str(volume).split(":") for volume in service("web")["volumes"]]
    assert [source, "/app/policies/bundle", "ro"] in app_mounts


def test_secrets_only_come_from_the_environment_file() -> None:
    checked = 0
    for name in compose()["services"]:
        for key, value in environment(name).items():
            password = url_of(value).password if "://" in value else None
            if password:
                assert password == "INTERPOLATED", f"{name}.{key} embeds a literal password"
            if not SECRET_NAME.search(key):
                continue
            checked += 1
            match = INTERPOLATION.fullmatch(value)
            assert match is not None, f"{name}.{key} is a literal value, not ${{...}} from .env"
            if match["op"] in ("-", ":-"):
                assert match["arg"] == "", f"{name}.{key} has a default value"
            else:
                assert match["op"] in ("?", ":?"), f"{name}.{key} must fail when unset (${{NAME:?...}})"
    assert checked >= 4  # SECRET_KEY, MLFLOW_WEBHOOK_SECRET, POSTGRES_PASSWORD, ... are really checked
    values = " ".join(compose_strings())
    for required in ("SECRET_KEY", "MLFLOW_WEBHOOK_SECRET", "POSTGRES_PASSWORD"):
        assert f"${{{required}:?" in values, required
    # The example file ships no secret: each is empty, so compose refuses to start until it is set.
    example = env_example()
    for name, (active, value) in example.items():
        if active and SECRET_NAME.search(name):
            assert value == "", f".env.example gives {name} a value"


def test_environment_names_are_real_settings_and_documented() -> None:
    settings = settings_names()
    unknown_web = set(environment("web")) - settings
    assert not unknown_web, f"web sets variables config/settings.py never reads: {sorted(unknown_web)}"
    documented = set(env_example())
    missing = interpolated_names() - documented
    assert not missing, f".env.example lacks variables docker-compose.yml interpolates: {sorted(missing)}"
    stray = documented - settings - interpolated_names()
    assert not stray, f".env.example lists variables nothing reads: {sorted(stray)}"
    undocumented = settings - documented
    assert not undocumented, f".env.example does not document settings: {sorted(undocumented)}"
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing_docs = {name for name in settings if f"`{name}`" not in operations}
    assert not missing_docs, f"docs/operations.md does not document settings: {sorted(missing_docs)}"


# ------------------------------------------------------------------------------------------------ image


def test_dockerfile_builds_a_locked_non_root_image_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    build_args: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in arguments:
            key, _, value = arguments.partition("=")
            build_args[key] = value
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert stages
    for stage in stages:
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: build_args.get(m[1], m[0]), stage.split()[0])
        assert image.startswith("python:3.11-slim"), stage

    final_stage = instructions[max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM") :]
    users = [args for keyword, args in final_stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, f"runs as {users}"

    runs = [args for keyword, args in instructions if keyword == "RUN"]
    shell_commands = [part.strip() for run in runs for part in re.split(r"&&|;", run)]
    assert any(
        re.search(r"\bpip (install|sync)\b", part) and "--require-hashes" in part and "base.lock" in part
        for part in shell_commands
    ), "dependencies are not installed from base.lock in hash-checking mode"
    assert any("manage.py collectstatic" in part for part in shell_commands)

    # Build-only dummies may appear in a RUN line, never in ENV (that would bake them into the image).
    env_lines = " ".join(args for keyword, args in instructions if keyword in {"ENV", "ARG"})
    for name in ("SECRET_KEY", "DATABASE_URL", "MLFLOW_WEBHOOK_SECRET", "GATE_SIGNING_KEY"):
        assert name not in env_lines, f"{name} is set with ENV/ARG"

    healthchecks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0]
    assert ("EXPOSE", "8000") in instructions
    cmd = [args for keyword, args in instructions if keyword == "CMD"][-1]
    assert "gunicorn" in cmd and "config.wsgi:application" in cmd and "0.0.0.0:8000" in cmd

    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", ".git", ".data"} <= ignored
