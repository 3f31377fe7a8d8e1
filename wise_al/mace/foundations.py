"""Foundation models: a local ``.model`` file, or a name mace's own loader knows."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from wise_al.campaign_spec.model import MACE_FOUNDATION_NAMES
from wise_al.errors import WiseAlError


def resolve_foundation(foundation: str, home: Path) -> Path:
    """The file of a foundation model.

    Parameters
    ----------
    foundation
        A path (relative ones resolve against ``home``, as in campaign specs) or a name such
        as ``medium-mpa-0``, which mace finds in its cache or downloads.
    home
        ``WISE_AL_HOME``.

    Raises
    ------
    WiseAlError
        When the file does not exist, or the name cannot be resolved (offline, no cache).
    """
    if foundation not in MACE_FOUNDATION_NAMES:
        path = Path(foundation).expanduser()
        path = path if path.is_absolute() else home / path
        if not path.is_file():
            raise WiseAlError(f"foundation model file {path} does not exist")
        return path
    with contextlib.redirect_stdout(sys.stderr):  # mace prints on stdout
        from mace.calculators.foundations_models import download_mace_mp_checkpoint

        try:
            return Path(download_mace_mp_checkpoint(foundation))
        except Exception as exc:  # urllib, OSError and mace's RuntimeError alike
            raise WiseAlError(
                f"foundation model {foundation!r} is not in mace's cache (~/.cache/mace) and "
                f"could not be downloaded ({type(exc).__name__}: {exc}); download it where "
                "the internet is reachable and pass the .model file instead"
            ) from None
