"""``judge package``: a reproducible Lambda zip with a manifest of content hashes.

The zip holds the runtime part of the ``judge`` package (no tooling: ``TOOLING``), the config
with the rubrics, prompts and calibration artefacts it points at, and the runtime
dependencies as binary wheels for the target Python and architecture (pip's ``--platform``
options, so it can be built on any machine).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import judge
from judge.config import RewardConfig, load_config
from judge.digest import sha256_file
from judge.errors import JudgeError, SourceError

log = logging.getLogger(__name__)

PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34), so wheels built for
# glibc 2.28 load there too; some dependencies (google-re2) publish only those.
GLIBC_2_28 = {"x86_64": "manylinux_2_28_x86_64", "arm64": "manylinux_2_28_aarch64"}
# The Lambda runtimes deploy/template.yaml accepts (its Runtime parameter); `judge package`
# and `judge deploy` offer exactly these. build_package itself takes any version, so that
# tests can build a zip for the interpreter they run on.
LAMBDA_PYTHONS = ("3.12", "3.13", "3.14")
LAMBDA_ZIP_LIMIT = 50 * 2**20
LAMBDA_CONFIG = "reward.toml"  # deploy/template.yaml: JUDGE_CONFIG=/var/task/reward.toml
CLI_ONLY = {"click", "rich"}  # the CLI's dependencies stay out of the Lambda
# The subpackages of ``judge`` the Lambda never imports: the CLI, deploy and lint, batch jobs,
# the calibration runner and report, the probe, the local servers and test doubles.
TOOLING = frozenset(
    {"cli", "deploy", "batch", "calibration", "probe", "server", "annotate", "canary", "runreport"}
)
# botocore ships models for ~400 services; the Lambda needs these (credentials + Bedrock).
BOTOCORE_SERVICES = {"bedrock-runtime", "sts", "sso", "sso-oidc"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
# Where Lambda unpacks the zip: the file name compiled into the bytecode, so that it does not
# carry this machine's temporary folder (and two builds give the same bytes).
_TASK_ROOT = "/var/task"


@dataclass(frozen=True)
class PackageInfo:
    """What was built."""

    path: Path
    size: int
    evaluator_version: str
    manifest: dict[str, object]


def runtime_requirements() -> list[str]:
    """The project's core dependencies, without the CLI-only ones (single source: pyproject)."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    else:  # installed from a wheel
        deps = [r for r in metadata.requires("rlaif-judge") or [] if "extra ==" not in r]
    return [d for d in deps if _name(d) not in CLI_ONLY]


def _name(requirement: str) -> str:
    for sep in "<>=!~[ ;":
        requirement = requirement.split(sep, 1)[0]
    return requirement.strip().lower()


def _build_pins() -> list[str]:
    """Every distribution of this environment at its installed version, as constraints.

    The zip then holds what the build machine ran its tests with, not whatever a resolver
    picks on the day of the build (requirements are ranges). A package this environment
    lacks (a platform-specific wheel) is left to the ranges. The first of two copies on
    ``sys.path`` is the one imported, so it is the one pinned.
    """
    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name and name != "rlaif-judge":
            pins.setdefault(name, dist.version)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _install_dependencies(target: Path, python_version: str, arch: str) -> None:
    with tempfile.TemporaryDirectory(prefix="judge-pins-") as pins_dir:
        pins = Path(pins_dir) / "constraints.txt"
        pins.write_text("\n".join(_build_pins()) + "\n")
        _pip_install(target, python_version, arch, pins)


def _pip_install(target: Path, python_version: str, arch: str, pins: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--constraint",
        str(pins),
        "--target",
        str(target),
        "--platform",
        PLATFORMS[arch],
        "--platform",
        GLIBC_2_28[arch],
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--no-compile",
        *runtime_requirements(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise JudgeError(f"pip could not fetch the Lambda dependencies:\n{done.stderr[-2000:]}")


def _compile(root: Path, python_version: str) -> bool:
    """Ship bytecode when this interpreter is the target's version.

    Lambda's /var/task is read-only, so without .pyc files every cold start compiles every
    module again (measured: about 1.5 s of a 1.8 s cold import). ``unchecked-hash`` pycs
    stay valid whatever the files' timestamps are after unzipping; a fixed hash seed and
    file name keep them byte-identical from one build to the next.
    """
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here != python_version:
        log.warning(
            "building for Python %s on Python %s: the zip ships no bytecode (it works, but "
            "each cold start compiles it, about 1 s more); build with python%s to include it",
            python_version,
            here,
            python_version,
        )
        return False
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(root),
            "-p",
            _TASK_ROOT,
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return done.returncode == 0


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org): the build's date, when one is wanted."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or not raw.strip():
        return None
    try:
        epoch = int(raw)
    except ValueError:
        raise JudgeError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds since 1970. "
            "Fix: export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it"
        ) from None
    if epoch < 0:
        raise JudgeError(f"SOURCE_DATE_EPOCH={epoch} is before 1970. Fix: unset it")
    return epoch


def _zip_time(epoch: int | None) -> tuple[int, int, int, int, int, int]:
    """The date every zip entry carries: fixed, so the same content gives the same bytes."""
    if epoch is None:
        return _ZIP_EPOCH
    t = time.gmtime(epoch)
    stamp = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    return min(max(stamp, _ZIP_EPOCH), (2107, 12, 31, 23, 59, 58))


def _trim(target: Path) -> None:
    """Drop what the Lambda never loads: other services' models, bytecode, bin scripts."""
    data = target / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES:
                shutil.rmtree(service)
    for junk in [*target.rglob("__pycache__"), target / "bin", target / "eld" / "tests"]:
        if junk.exists():
            shutil.rmtree(junk)
    # eld's large tables, unused (the language check loads the medium ones): 21 MB of bytecode.
    (target / "eld" / "resources" / "ngrams" / "ngramsL60.py").unlink(missing_ok=True)


def runtime_files() -> dict[str, Path]:
    """Archive name -> file, for the runtime package: what the Lambda imports and reads.

    Every module of ``judge`` outside the tooling subpackages (``TOOLING``), and the data
    tables in ``judge/data/``. Tooling never ships, so editing it (a test double, the CLI)
    leaves ``evaluator_version`` alone; editing a runtime module changes it.
    """
    package = Path(__file__).resolve().parents[1]
    files: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if len(rel.parts) > 1 and rel.parts[0] in TOOLING:
            continue
        files[f"judge/{rel.as_posix()}"] = path
    for path in sorted([*(package / "data").glob("*.toml"), *(package / "data").glob("*.json")]):
        files[f"judge/data/{path.name}"] = path
    return files


def _project_files(config_path: Path, config: RewardConfig) -> dict[str, Path]:
    """Archive name -> file, for the package and everything the config points at."""
    layout = _layout_problems(config)
    if layout:
        raise JudgeError(layout[0])
    base = config.base_dir.resolve()
    # The template's JUDGE_CONFIG is /var/task/reward.toml, whatever the file is called here.
    files: dict[str, Path] = {LAMBDA_CONFIG: config_path}
    files.update(runtime_files())
    if config.guard.lexicon:
        lexicon = (base / config.guard.lexicon).resolve()
        files[lexicon.relative_to(base).as_posix()] = lexicon
    for which, pattern in _SHIPPED:
        directory = config.path(which)
        rel = directory.relative_to(base)
        for path in sorted(directory.glob(pattern)):
            files[f"{rel.as_posix()}/{path.name}"] = path
    for path in check_sources(config).values():
        if path.is_file():  # a missing one: lint reports the check that cannot be built
            files[path.relative_to(base).as_posix()] = path
    return files


def monitoring_files(config: RewardConfig) -> dict[str, Path]:
    """The canary set (``judge canary build``), when there is one: shipped, not versioned.

    It holds the scores the judge gave when it was built and the ``evaluator_version`` it was
    built for, so it cannot be part of that version; re-baselining it changes no reward.
    """
    from judge.canaries import canary_path

    path = canary_path(config)
    if not path.is_file() or not path.is_relative_to(config.base_dir.resolve()):
        return {}
    return {path.relative_to(config.base_dir.resolve()).as_posix(): path}


def check_sources(config: RewardConfig) -> dict[str, Path]:
    """The files each check loads (a ``json`` schema file, a ``python`` check's modules).

    A kind names them with ``spec.sources(root)``; they ship in the zip beside the config
    and are hashed into ``evaluator_version``, so editing one changes the version.
    """
    base = config.base_dir.resolve()
    out: dict[str, Path] = {}
    for name, spec in config.checks.specs.items():
        sources = getattr(spec, "sources", None)
        try:
            paths = sources(base) if callable(sources) else ()
        except ValueError:
            continue  # a missing module: lint and the build report the check, with its line
        for n, path in enumerate(paths):
            out[f"{name}#{n}"] = Path(path).resolve()
    return out


_SHIPPED: tuple[tuple[Literal["rubrics", "prompts", "calibration"], str], ...] = (
    ("rubrics", "*.md"),
    ("prompts", "*.j2"),
    ("calibration", "*.json"),
)


def packaging_problems(config: RewardConfig) -> list[str]:
    """What ``judge package`` refuses to ship, one line each with the fix.

    ``judge lint`` reports these too (``lint_project`` calls this), so a project that lints
    clean packages. Folders or a guard lexicon outside the config's folder (the zip keeps
    paths relative to it), and calibration maps fitted on a local judge server: the Lambda
    judges on Bedrock, so it would warn and use the raw scale, unseen by whoever deployed.
    """
    from judge.artefact import load_artefact

    problems = _layout_problems(config)
    calibration = config.path("calibration")
    for path in sorted(calibration.glob("*.json")) if calibration.is_dir() else []:
        try:
            artefact = load_artefact(path)
        except SourceError:
            continue  # unreadable: lint's artefact check reports it
        if artefact is not None and artefact.endpoint != "aws":
            problems.append(
                f"{path}: fitted against a local judge server ({artefact.endpoint}); the Lambda "
                "judges on Bedrock and would not apply it. Fix: re-run `judge calibrate` against "
                "Bedrock, or delete the file"
            )
    return problems


def _layout_problems(config: RewardConfig) -> list[str]:
    """Files the config points at outside its folder: the zip could not place them."""
    base = config.base_dir.resolve()
    problems = []
    for which, _ in _SHIPPED:
        directory = config.path(which)
        if not directory.is_relative_to(base):
            problems.append(
                f"[paths].{which} ({directory}) must lie under the config's folder {base} to "
                f"be packaged. Fix: move it there and set [paths].{which} relative to it"
            )
    for key, path in check_sources(config).items():
        if not path.is_relative_to(base):
            name = key.partition("#")[0]
            problems.append(
                f"[checks.{name}] loads {path}, outside the config's folder {base}: it could "
                "not be packaged. Fix: move it under that folder and name it relative to it"
            )
    if config.guard.lexicon:
        lexicon = (base / config.guard.lexicon).resolve()
        if not lexicon.is_relative_to(base):
            problems.append(
                f"[guard] lexicon ({lexicon}) must lie under the config's folder {base} to be "
                "packaged. Fix: move it there and set lexicon relative to it"
            )
    return problems


def content_hashes(config_path: Path, config: RewardConfig) -> dict[str, str]:
    """Archive name -> sha256 of every project file the zip carries (code and content)."""
    return {name: sha256_file(path) for name, path in _project_files(config_path, config).items()}


def evaluator_version(hashes: dict[str, str]) -> str:
    """The content hash that names which code, rubrics, prompts and maps made a reward.

    ``hashes`` is ``content_hashes``: the runtime's code and data, the config, its rubrics,
    templates and maps, exactly what the zip ships, so tooling edits leave it unchanged.
    """
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]


def _refuse_unusable(config_path: Path) -> None:
    """Refuse to ship a project ``judge lint`` rejects.

    Its problems include every one this build would meet (``packaging_problems``), stale
    and local calibration maps among them: one check, so lint and package never disagree.
    """
    from judge.deploy.lint import lint_project

    problems, _ = lint_project(config_path)
    if problems:
        raise JudgeError(f"{problems[0]} (judge lint lists all {len(problems)} problems)")


def build_package(
    out: Path, config_path: Path, *, python_version: str = "3.12", arch: str = "x86_64"
) -> PackageInfo:
    """Build the deployment zip at ``out``.

    Two builds of the same tree give the same bytes: entries are sorted and dated
    ``SOURCE_DATE_EPOCH`` (else 1980-01-01), and the manifest records a build date only when
    ``SOURCE_DATE_EPOCH`` gives one.
    """
    if arch not in PLATFORMS:
        raise JudgeError(f"--arch must be one of {', '.join(PLATFORMS)}")
    epoch = source_date_epoch()
    config = load_config(config_path)
    _refuse_unusable(config_path)
    files = _project_files(config_path, config)
    hashes = {name: sha256_file(path) for name, path in files.items()}
    version = evaluator_version(hashes)
    files |= monitoring_files(config)  # shipped, but no part of the version
    with tempfile.TemporaryDirectory(prefix="judge-package-") as tmp:
        deps = Path(tmp)
        _install_dependencies(deps, python_version, arch)
        _trim(deps)
        dependency_versions = {
            d.name.split("-")[0]: d.name.removesuffix(".dist-info").split("-", 1)[1]
            for d in sorted(deps.glob("*.dist-info"))
        }
        manifest: dict[str, object] = {
            "evaluator_version": version,
            "package_version": judge.__version__,
            "python_version": python_version,
            "arch": arch,
            "judge_model": config.judge.model_id,
            "judge_region": config.judge.region,  # where it calls Bedrock (None: its own)
            "rubrics": sorted(config.rubrics),  # what the config scores (deploy checks it)
            "files": hashes,
            "dependencies": dependency_versions,
        }
        if epoch is not None:
            manifest["built"] = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
        for name, path in files.items():
            (deps / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, deps / name)
        manifest["bytecode"] = _compile(deps, python_version)
        out.parent.mkdir(parents=True, exist_ok=True)
        stamp = _zip_time(epoch)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for path in sorted(p for p in deps.rglob("*") if p.is_file()):
                _add(zf, path.relative_to(deps).as_posix(), path.read_bytes(), stamp)
            _add(zf, "manifest.json", json.dumps(manifest, indent=1).encode(), stamp)
    size = out.stat().st_size
    if size > LAMBDA_ZIP_LIMIT:
        raise JudgeError(f"{out} is {size / 2**20:.1f} MB, over Lambda's 50 MB zipped limit")
    return PackageInfo(out, size, version, manifest)


def _add(
    zf: zipfile.ZipFile, name: str, data: bytes, stamp: tuple[int, int, int, int, int, int]
) -> None:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def read_manifest(zip_path: Path) -> dict[str, Any]:
    """The ``manifest.json`` of a zip from ``judge package``, or a one-line error naming it."""
    fix = "build it with `judge package --out ZIP`"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            raw = zf.read("manifest.json")
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(zip_path, f"cannot read it as a zip ({exc})", fix=fix) from None
    except KeyError:
        raise SourceError(
            zip_path, "has no manifest.json, so `judge package` did not build it", fix=fix
        ) from None
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise SourceError(zip_path, "its manifest.json is not JSON", fix=fix) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("evaluator_version"), str):
        raise SourceError(zip_path, "its manifest.json has no evaluator_version", fix=fix)
    return manifest


def check_manifest(
    zip_path: Path,
    manifest: dict[str, Any],
    *,
    config_path: Path,
    config: RewardConfig,
    python_version: str,
    arch: str,
) -> None:
    """Refuse a zip built for another runtime, architecture, judge model/region or rubric set.

    ``judge deploy`` sets the runtime and architecture from its flags and grants
    ``bedrock:InvokeModel`` (and draws the dashboard) from the config, while the function
    runs the zip's own config and wheels: they must agree, or the function fails to import
    (binary wheels) or is denied its judge model.
    """
    expected = {
        "python_version": python_version,
        "arch": arch,
        "judge_model": config.judge.model_id,
        "judge_region": config.judge.region,
        "rubrics": sorted(config.rubrics),
    }
    wheres = {
        "python_version": "--python-version",
        "arch": "--arch",
        "judge_model": f"[judge].model_id in {config_path}",
        "judge_region": f"[judge].region in {config_path}",
        "rubrics": f"[rubrics] in {config_path}",
    }
    differences = [
        f"{field} is {_shown(manifest.get(field))}, {wheres[field]} says {_shown(want)}"
        for field, want in expected.items()
        if manifest.get(field) != want
    ]
    if differences:
        raise SourceError(
            zip_path,
            "manifest.json does not match this deploy: " + "; ".join(differences),
            fix=(
                f"rebuild it with `judge package --out {zip_path} --config {config_path} "
                f"--arch {arch} --python-version {python_version}`, or deploy without "
                "--package to build one"
            ),
        )


def _shown(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "missing" if value is None else str(value)
