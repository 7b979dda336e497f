"""The wheels a GPU machine lacks for the suite, at the versions of requirements/lock.txt.

The GPU machines lent to this project have Python 3.12 with torch, torchvision, timm, transformers,
Lightning, matplotlib, OpenCV, pandas, scikit-learn and sacrebleu, and no network. What the suite needs
beyond that travels as wheels in the git-ignored `.whl/` folder:

    python scripts/gpu_wheels.py download              # make gpu-wheels: CPython 3.12 manylinux x86-64 into .whl/
    python scripts/gpu_wheels.py download --python 3.11 --dest /tmp/whl311   # for another interpreter

`scripts/gpu_check.py` installs the ones its interpreter lacks (`install_missing`) with
`pip install --no-index --no-deps --target`: nothing already installed, torch above all, is replaced.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "lock.txt"
MAX_BYTES = 64 * 2**20  # the device tool carries at most 64 MiB with each call, the repository included

# The suite's imports on the training, synthetic-data and retrieval paths that the GPU image lacks, with
# their own requirements that it lacks too (pydantic for albumentations, ftfy for open_clip, defusedxml for
# NLTK, ...; `conflicts` lists any the image turns out to lack, in the check's report).
# sacrebleu is on the image today; it is carried in case a later image drops it (installed only if missing).
WHEELS = (
    "hydra-core",
    "omegaconf",
    "antlr4-python3-runtime",
    "albumentations",
    "albucore",
    "stringzilla",
    "simsimd",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "open-clip-torch",
    "ftfy",
    "wcwidth",
    "monai",
    "segmentation-models-pytorch",
    "ensemble-boxes",
    "nibabel",
    "pycocotools",
    "nltk",
    "defusedxml",
    "sacrebleu",
)

PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)


def _requirement_class() -> Any:
    """packaging's Requirement, or pip's copy of it where packaging is not installed (a bare `python3`)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(names: tuple[str, ...], python: str, lock: Path = LOCK) -> list[str]:
    """`name==version` of each name, from the lock line whose environment marker holds on Linux x86-64 `python`.

    Raises:
        ValueError: A name has no pin that applies (naming the lock file), e.g. after `make lock` dropped it.
    """
    Requirement = _requirement_class()

    environment = {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    pins: dict[str, str] = {}
    for number, line in enumerate(lock.read_text().splitlines(), 1):
        if not line or line[0] in "# ":
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = _normalise(requirement.name)
        if name in pins:
            raise ValueError(f"{lock}:{number}: a second pin of {name} for Python {python}")
        pins[name] = str(requirement.specifier)
    missing = [name for name in names if _normalise(name) not in pins]
    if missing:
        raise ValueError(f"{lock} has no pin for {', '.join(missing)} on Python {python}: run `make lock`")
    return [f"{name}{pins[_normalise(name)]}" for name in names]


def download(dest: Path, python: str, names: tuple[str, ...] = WHEELS) -> list[Path]:
    """Downloads the wheel of each pin for CPython `python` on manylinux x86-64, without dependencies.

    An sdist-only release (antlr4-python3-runtime 4.9.3) is built into a wheel here; it must come out
    pure Python (`-none-any`), since nothing can be compiled for the GPU machine on this one.

    Returns:
        The wheels in `dest`, which holds nothing else afterwards (two versions of one package would stop
        the whole install there).

    Raises:
        RuntimeError: pip failed, a built wheel is not pure Python, or the wheels exceed MAX_BYTES.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    tags = ["--python-version", python, "--implementation", "cp"]
    for platform in PLATFORMS:
        tags += ["--platform", platform]
    for pin in locked_pins(names, python):
        binary = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *tags]
        if subprocess.run([*binary, "-d", str(dest), pin], capture_output=True, text=True).returncode == 0:
            continue
        with tempfile.TemporaryDirectory() as build:
            built = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-binary=:all:", "-w", build, pin],
                capture_output=True,
                text=True,
            )
            wheels = list(Path(build).glob("*.whl"))
            if built.returncode != 0 or len(wheels) != 1:
                raise RuntimeError(f"no wheel of {pin} for CPython {python} manylinux x86-64:\n{built.stderr}")
            if not wheels[0].name.endswith("-none-any.whl"):
                raise RuntimeError(f"{pin} has no wheel on PyPI and builds a compiled one ({wheels[0].name})")
            wheels[0].rename(dest / wheels[0].name)
    wheels = sorted(dest.glob("*.whl"))
    total = sum(wheel.stat().st_size for wheel in wheels)
    if total > MAX_BYTES:
        raise RuntimeError(f"the wheels in {dest} take {total / 2**20:.1f} MiB, over {MAX_BYTES / 2**20:.0f} MiB")
    return wheels


def missing(names: tuple[str, ...] = WHEELS) -> list[str]:
    """The names with no installed distribution on this interpreter's path."""
    absent = []
    for name in names:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            absent.append(name)
    return absent


def install_missing(wheel_dir: Path, site: Path) -> list[str]:
    """Installs the wheels of the missing names from `wheel_dir` into `site` (put `site` on the path after).

    Returns:
        What was installed (nothing where everything is there already, as in the project's venv).

    Raises:
        RuntimeError: Something is missing and `wheel_dir` lacks its wheel (the message says how to make them).
    """
    absent = missing()
    if not absent:
        return []
    if not wheel_dir.is_dir():
        raise RuntimeError(f"{', '.join(absent)} not installed and no {wheel_dir}/: run `make gpu-wheels` and carry it")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile"]
    command += ["--no-cache-dir", "--upgrade", "--find-links", str(wheel_dir), "--target", str(site), *absent]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"pip could not install {', '.join(absent)} from {wheel_dir} (run `make gpu-wheels`):\n{result.stderr}"
        )
    return absent


def conflicts(names: tuple[str, ...] = WHEELS) -> list[str]:
    """What the installed `names` require that this interpreter lacks or has at another version (as `pip
    check` would say, for these alone): the first thing to read when a stage fails on the GPU machine,
    whose own versions (typing-extensions, timm, huggingface-hub, ...) were not chosen by the lock file."""
    Requirement = _requirement_class()

    found = []
    for name in names:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            found.append(f"{name} is not installed")
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            try:
                version = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                found.append(f"{name} requires {requirement}, which is not installed")
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                found.append(f"{name} requires {requirement}, {requirement.name} {version} is installed")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["download", "missing"])
    parser.add_argument("--dest", type=Path, default=REPO / ".whl")
    parser.add_argument("--python", default="3.12", help="the GPU machine's Python (major.minor)")
    args = parser.parse_args()
    if args.command == "missing":
        print("\n".join(missing()))
        return
    try:
        wheels = download(args.dest, args.python)
    except (RuntimeError, ValueError) as error:
        sys.exit(f"gpu-wheels: {error}")
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**20:8.2f} MiB  {wheel.name}")
    total = sum(wheel.stat().st_size for wheel in wheels)
    print(f"{total / 2**20:8.2f} MiB  in all, {len(wheels)} wheels in {args.dest} (limit {MAX_BYTES / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
