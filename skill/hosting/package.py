"""Build the AWS Lambda bundle: a zip that answers Alexa with nothing else installed.

The zip holds, at its root:
- the request-time dependencies (pyproject's ``dependencies``, not the web, render or dev
  extras), installed by pip as wheels for the Lambda platform;
- the modules of the ``skill`` package that the Lambda handler can import, found by
  following its import statements (so render-only modules that need pydub or numpy stay out);
- ``routines/`` and ``audio/tracks/manifests/``: the layout ``skill/config.py``'s defaults
  expect beside the package, so the function finds them with no path settings.
No tests, caches or compiled files. Entries have a fixed date and mode, so the same inputs
give the same zip (and CloudFormation sees no change to deploy).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from skill.alexa.catalog import Catalog
from skill.config import PROJECT_ROOT
from skill.content.complaints import complaints_path, load_complaints
from skill.content.manifest import manifest_path
from skill.core.lengths import versions
from skill.core.routines import Library, load_library, routine_files

if TYPE_CHECKING:
    from skill.config import Settings

# The one name of the handler: template.yaml's Handler, the bundle test and the docs use it.
LAMBDA_HANDLER = "skill.hosting.lambda_function.lambda_handler"
DEFAULT_OUTPUT = Path("build/trigger-coach-lambda.zip")
# What template.yaml deploys (Runtime python3.12, Architectures x86_64); a test keeps them equal.
LAMBDA_PYTHON = "3.12"
LAMBDA_ARCHITECTURE = "x86_64"
# pip platform tags per Lambda architecture: python3.12 runs on Amazon Linux 2023 (glibc 2.34).
# pip does not widen a given tag to older glibc versions for every package, so name the common ones.
PLATFORMS = {
    arch: tuple(f"{tag}_{machine}" for tag in ("manylinux_2_34", "manylinux_2_28", "manylinux2014"))
    for arch, machine in (("x86_64", "x86_64"), ("arm64", "aarch64"))
}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
PACKAGE = "skill"
_FIXED_DATE = (2020, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """The bundle cannot be built; the message says what to fix."""


@dataclass(frozen=True)
class Bundle:
    """A built zip and its sizes."""

    path: Path
    files: int
    zipped_bytes: int
    unzipped_bytes: int

    def summary(self) -> str:
        """Return one line with the sizes against Lambda's limit."""
        mb = 1024 * 1024
        share = self.unzipped_bytes / LAMBDA_UNZIPPED_LIMIT
        return (f"Wrote {self.path}: {self.files} files, {self.zipped_bytes / mb:.1f} MB zipped, "
                f"{self.unzipped_bytes / mb:.1f} MB unzipped ({share:.0%} of Lambda's 250 MB limit).")


def request_time_dependencies(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    """Return pyproject's ``[project] dependencies``: what answering a request needs."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{pyproject} is missing; run 'trigger-coach package' from a source checkout.") from None
    return list(data["project"]["dependencies"])


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


# A string that is exactly a module of ours, or "module:attribute" (entry-point style): code
# that imports by name (importlib.import_module, skill.alexa.handlers.deferred) names it so.
_MODULE_NAMED = re.compile(rf"^({PACKAGE}(?:\.\w+)+)(?::\w+)?$")


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Yield every module name an import statement in ``tree`` may load (typing-only ones skipped),
    and every module a string constant names as one of ours (imported by name, on first use)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = _MODULE_NAMED.match(node.value)
            if named:
                yield named[1]
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)  # names may be submodules
        stack.extend(ast.iter_child_nodes(node))


def request_modules(handler: str = LAMBDA_HANDLER, root: Path = PROJECT_ROOT) -> list[Path]:
    """Return the files of the ``skill`` package that the handler's module can import.

    Imports are followed statically, including those inside functions, from the handler's
    module and every package above each module found.
    """
    start = handler.rpartition(".")[0]
    seen: dict[str, Path] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
            continue
        path = _module_file(root, name)
        if path is None:
            continue
        seen[name] = path
        todo.extend(".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1))
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        todo.extend(_imports(tree, name, path.name == "__init__.py"))
    if start not in seen:
        raise PackageError(f"The Lambda handler module {start!r} is not in {root / PACKAGE}.")
    return sorted(seen.values())


def _checked_library(settings: Settings) -> Library:
    library = load_library([settings.routines_dir])
    if library.problems:
        listed = "\n".join(f"  {p}" for p in library.problems)
        raise PackageError(
            f"The routines in {settings.routines_dir} have {len(library.problems)} problem(s), so no "
            f"bundle was built:\n{listed}\nFix them (see 'trigger-coach validate {settings.routines_dir}').")
    if not library.routines:
        raise PackageError(f"There are no routines in {settings.routines_dir}; add routine JSON files first.")
    return library


def content_files(settings: Settings) -> dict[str, Path]:
    """Return the routines, the complaints file and the render manifests to ship, by their path in the bundle.

    Every routine must have a manifest matching its steps: a deployed skill cannot render.
    The complaints file must pass every check `trigger-coach validate` makes of it: on
    Lambda the skill reads it without checking, as the web server does.
    """
    library = _checked_library(settings)
    files = {f"routines/{p.name}": p for p in routine_files([settings.routines_dir])}
    complaints = complaints_path(settings.routines_dir)
    _, problems = load_complaints(complaints, library.routines)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise PackageError(f"The complaints file {complaints} has {len(problems)} problem(s), so no bundle was "
                           f"built:\n{listed}\nFix them (see 'trigger-coach validate {settings.routines_dir}').")
    files[f"routines/{complaints.name}"] = complaints
    for voiced in settings.voiced():  # a locale with its own voice ships its own manifests
        catalog = Catalog(library, voiced)
        unrendered = [v.key for r in library.routines for v in versions(r) if catalog.entry(r.id, v.length) is None]
        if unrendered:
            raise PackageError(
                f"The tracks of {', '.join(unrendered)} are not rendered (no up-to-date manifest in "
                f"{voiced.manifests_dir}); run 'trigger-coach render' first.")
        folder = "/".join(("audio/tracks/manifests", *([voiced.voice_folder] if voiced.voice_folder else [])))
        for routine in (v for r in library.routines for v in versions(r)):
            files[f"{folder}/{routine.key}.json"] = manifest_path(routine.key, voiced)
    return files


def install_dependencies(target: Path, *, python_version: str, architecture: str,
                         requirements: Sequence[str] | None = None) -> None:
    """Install the request-time dependencies into ``target`` as wheels for one Lambda platform."""
    if architecture not in PLATFORMS:
        raise PackageError(f"Architecture {architecture!r} is not one Lambda runs; use x86_64 or arm64.")
    requirements = list(requirements if requirements is not None else request_time_dependencies())
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--implementation", "cp", "--python-version", python_version,
        *(arg for tag in PLATFORMS[architecture] for arg in ("--platform", tag)), "--only-binary=:all:",
        *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        said = "\n".join(line for line in (result.stderr or result.stdout).splitlines()
                         if not line.startswith("WARNING: Location"))[-1500:]
        raise PackageError(
            f"pip could not install the request-time dependencies as wheels for Python {python_version} "
            f"on {' or '.join(PLATFORMS[architecture])} (exit {result.returncode}). If a package has no such wheel "
            f"on PyPI, pick another --python-version or --architecture. pip said:\n{said}")


def _dependency_files(target: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(target.rglob("*")):
        rel = path.relative_to(target)
        if not path.is_file() or rel.parts[0] == "bin" or "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        yield rel.as_posix(), path


def build_bundle(settings: Settings, output: Path = DEFAULT_OUTPUT, *, python_version: str = LAMBDA_PYTHON,
                 architecture: str = LAMBDA_ARCHITECTURE) -> Bundle:
    """Build the Lambda zip at ``output`` and return its sizes.

    Content is checked before anything is installed: routines must validate and every
    routine must be rendered.
    """
    content = content_files(settings)
    code = {p.relative_to(PROJECT_ROOT).as_posix(): p for p in request_modules()}
    with tempfile.TemporaryDirectory(prefix="trigger-coach-bundle-") as staging:
        install_dependencies(Path(staging), python_version=python_version, architecture=architecture)
        entries = dict(_dependency_files(Path(staging)))
        clash = sorted(set(entries) & (set(code) | set(content)))
        if clash:
            raise PackageError(f"A dependency installs files that clash with ours: {', '.join(clash[:5])}.")
        entries.update(code)
        entries.update(content)
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        unzipped = 0
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
                info.external_attr = 0o100644 << 16  # a regular file Lambda's user can read
                info.compress_type = zipfile.ZIP_DEFLATED
                data = entries[name].read_bytes()
                unzipped += len(data)
                bundle.writestr(info, data)
        if unzipped > LAMBDA_UNZIPPED_LIMIT:
            partial.unlink()
            raise PackageError(f"The bundle would unzip to {unzipped / 2**20:.0f} MB, over Lambda's 250 MB "
                               "limit; move large files out of the request-time dependencies.")
        shutil.move(partial, output)
    return Bundle(output, len(entries), output.stat().st_size, unzipped)
