"""What the installed CP2K is and can do: version, features, data files, input specification.

Inputs are validated against the installed build's own specification (``cp2k --xml``), not
against the one bundled with cp2k-input-tools, so a keyword this build does not know is
refused before a calculation is queued. The specification is written once per CP2K build
into a cache directory.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from wise_al.errors import WiseAlError

_VERSION = re.compile(r"CP2K version (\S+)")
_FLAGS = re.compile(r"cp2kflags:\s*(.+)")
_DATA_DIR = re.compile(r'__DATA_DIR="([^"]+)"')
_PARSE_LOCK = threading.Lock()


class Cp2kUnavailable(WiseAlError):
    """CP2K is missing, or this build lacks what the level of theory needs."""


@dataclass(frozen=True)
class Cp2kInstallation:
    """One CP2K build: run ``detect`` to get it.

    Attributes
    ----------
    binary
        Absolute path of the CP2K executable.
    version
        e.g. ``2023.1``.
    flags
        Compile-time features (``libxc``, ``libint``, ``elpa`` ...).
    data_dir
        Where bare basis/potential file names resolve.
    xml_spec
        The build's input specification (``cp2k --xml``).
    build
        Hash of everything ``cp2k --version`` says (version, git revision, compiler, flags):
        two builds of one version that differ in any of it are different builds.
    """

    binary: Path
    version: str
    flags: frozenset[str]
    data_dir: Path
    xml_spec: Path
    build: str = ""

    @cached_property
    def _spec_text(self) -> str:
        return self.xml_spec.read_text(errors="replace")

    def has_libxc_functional(self, name: str) -> bool:
        """Whether ``name`` (e.g. ``MGGA_X_R2SCAN``) is a section of this build's XC input."""
        return "libxc" in self.flags and f"<NAME>{name}</NAME>" in self._spec_text

    def validate(self, input_text: str) -> None:
        """Parse ``input_text`` against this build's own input specification.

        Raises
        ------
        WiseAlError
            With the parser's first complaint (unknown section or keyword, wrong type).
        """
        parser = _parser(str(self.xml_spec))
        try:
            with _PARSE_LOCK:  # the parser keeps state between calls
                parser.parse(io.StringIO(input_text))
        except Exception as exc:  # cp2k-input-tools raises many unrelated types
            reason = str(exc).split("\n")[0] or type(exc).__name__
            raise WiseAlError(f"CP2K {self.version} refuses the input: {reason[:300]}") from exc

    def basis_sets(self, file_name: str) -> dict[str, set[str]]:
        """Element -> names of the basis sets (or potentials) in a data file of this build."""
        return _data_file_names(self.data_dir / file_name)

    def data_file_sha256(self, file_name: str) -> str:
        """Content hash of a data file (basis, potentials, parameters) as this build reads it.

        Raises
        ------
        Cp2kUnavailable
            If the file is not in the build's data directory.
        """
        path = self.data_dir / file_name
        if not path.is_file():
            raise Cp2kUnavailable(f"CP2K data file {file_name} not found in {self.data_dir}")
        stat = path.stat()
        return _file_sha256(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    # keyed on size and mtime too: a data file replaced in place is hashed again
    del size, mtime_ns
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=2)
def _parser(xml_spec: str) -> Any:
    from cp2k_input_tools.parser import CP2KInputParser

    return CP2KInputParser(xml_spec)


@lru_cache(maxsize=16)
def _data_file_names(path: Path) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    if not path.exists():
        return names
    for line in path.read_text(errors="replace").splitlines():
        fields = line.split()
        # entries start with "<Element> <name> [alias ...]"; data lines start with numbers
        if len(fields) >= 2 and fields[0].isalpha() and len(fields[0]) <= 2:
            names.setdefault(fields[0], set()).update(fields[1:])
    return names


def detect(binary: str = "cp2k", cache_dir: Path | None = None) -> Cp2kInstallation:
    """Find the CP2K build ``binary`` names and load (or write once) its input specification.

    Parameters
    ----------
    binary
        Name on ``PATH`` or a path.
    cache_dir
        Where the build's ``cp2k --xml`` is kept; a temporary directory by default.

    Raises
    ------
    Cp2kUnavailable
        When the binary cannot be found or does not answer ``--version``.
    """
    return _detect(binary, cache_dir or Path(tempfile.gettempdir()) / "wise-al-cp2k")


@lru_cache(maxsize=8)
def _detect(binary: str, cache_dir: Path) -> Cp2kInstallation:
    found = shutil.which(binary)
    if found is None:
        raise Cp2kUnavailable(f"CP2K binary {binary!r} not found (install cp2k or set it)")
    path = Path(found).resolve()
    try:
        about = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise Cp2kUnavailable(f"{path} --version failed: {exc}") from exc
    version, flags = _VERSION.search(about), _FLAGS.search(about)
    if version is None:
        raise Cp2kUnavailable(f"{path} does not look like CP2K (no version line)")
    data_dir = _DATA_DIR.search(about.replace("\n", "").replace("   ", ""))
    build = hashlib.sha256(about.encode()).hexdigest()[:16]
    return Cp2kInstallation(
        binary=path,
        version=version.group(1),
        flags=frozenset(flags.group(1).split()) if flags else frozenset(),
        data_dir=Path(data_dir.group(1)) if data_dir else path.parent.parent / "share" / "cp2k",
        xml_spec=_xml_spec(path, cache_dir / build),
        build=build,
    )


def _xml_spec(binary: Path, directory: Path) -> Path:
    spec = directory / "cp2k_input.xml"
    if spec.exists():
        return spec
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        subprocess.run(
            [str(binary), "--xml"], cwd=scratch, capture_output=True, timeout=120, check=True
        )
        written = Path(scratch) / "cp2k_input.xml"
        with written.open("rb") as handle:  # CP2K does not notice a failed write (a full disk)
            handle.seek(max(0, written.stat().st_size - 64))
            complete = handle.read().rstrip().endswith(b"</CP2K_INPUT>")
        if not complete:
            free_mb = shutil.disk_usage(directory).free / 1e6
            raise Cp2kUnavailable(
                f"cp2k --xml wrote an incomplete input specification ({written.stat().st_size} "
                f"bytes) in {directory}, which has {free_mb:.1f} MB free: is the disk full?"
            )
        # rename is atomic: concurrent workers never read a half-written specification
        written.replace(spec)
    return spec
