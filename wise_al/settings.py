"""Configuration from the environment (``WISE_AL_*``): the only place that reads it.

Settings are built once per entry point (CLI command, API app factory, worker) and passed
down; nothing reads them at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".wise-al"


class CoreSettings(BaseSettings):
    """Settings shared by every process.

    Attributes
    ----------
    home
        Directory for the embedded database and the artifact store (``WISE_AL_HOME``).
    database_url
        SQLAlchemy URL; defaults to SQLite at ``<home>/wise_al.db`` (``WISE_AL_DATABASE_URL``).
    artifact_dir
        Root of the content-addressed artifact store (``WISE_AL_ARTIFACT_DIR``).
    broker_url
        Celery broker; defaults to a SQLite file beside the database, so embedded mode
        needs no server (``WISE_AL_BROKER_URL``, e.g. ``redis://host:6379/0``).
    visibility_timeout_s
        Seconds before the broker hands an unacknowledged task to another worker: longer
        than the longest job, or that job runs twice (``WISE_AL_VISIBILITY_TIMEOUT_S``).
    dataset_check_deadline_s, dataset_check_memory_bytes
        Limits of the child process that checks an uploaded dataset: past either, the
        upload is refused naming the limit.
    """

    model_config = SettingsConfigDict(env_prefix="WISE_AL_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    artifact_dir: Path | None = None
    broker_url: str | None = None
    visibility_timeout_s: float = Field(default=12 * 3600, gt=0)
    dataset_check_deadline_s: float = Field(default=300, gt=0)
    dataset_check_memory_bytes: int = Field(default=2 << 30, ge=64 << 20)

    def resolved_database_url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'wise_al.db').resolve()}"

    def resolved_artifact_dir(self) -> Path:
        """The artifact store root, defaulting to ``<home>/artifacts``."""
        return self.artifact_dir or self.home / "artifacts"

    def resolved_broker_url(self) -> str:
        """The broker URL, with the embedded SQLite broker filled in."""
        if self.broker_url:
            return self.broker_url
        return f"sqla+sqlite:///{(self.home / 'broker.db').resolve()}"


class Cp2kSettings(CoreSettings):
    """How this machine runs CP2K (``WISE_AL_CP2K_BINARY`` ...); never the level of theory.

    Attributes
    ----------
    cp2k_binary
        CP2K executable, on ``PATH`` or a path.
    cp2k_mpi_ranks
        MPI ranks per label; by default the spec's ``labelling.cores``.
    cp2k_omp_threads
        OpenMP threads per rank.
    cp2k_launcher
        ``local`` runs CP2K here; ``slurm`` submits each run as a Slurm job (the artifact
        store must be a filesystem the cluster's nodes share).
    slurm_partition, slurm_account, slurm_nodes
        The jobs' ``--partition``, ``--account`` and ``--nodes``; their ``--ntasks`` are the
        MPI ranks, ``--cpus-per-task`` the OpenMP threads and ``--time`` the spec's
        ``labelling.time_limit_s``.
    slurm_setup
        Shell lines run in each job before CP2K (JSON list: ``["module load cp2k"]``).
    slurm_options
        More ``sbatch`` options (JSON list: ``["--qos=short", "--mem=8G"]``).
    slurm_mpi_launcher
        What starts MPI ranks inside a job (``srun``; ``mpirun`` with some MPI builds).
    slurm_poll_s
        How often the worker asks Slurm about its jobs.
    """

    cp2k_binary: str = "cp2k"
    cp2k_mpi_ranks: int | None = Field(default=None, gt=0)
    cp2k_omp_threads: int = Field(default=1, gt=0)
    cp2k_launcher: Literal["local", "slurm"] = "local"
    slurm_partition: str | None = None
    slurm_account: str | None = None
    slurm_nodes: int = Field(default=1, gt=0, le=10_000)
    slurm_setup: list[str] = Field(default_factory=list)
    slurm_options: list[str] = Field(default_factory=list)
    slurm_mpi_launcher: str = "srun"
    slurm_poll_s: float = Field(default=5.0, gt=0, le=3600)

    def labels_dir(self) -> Path:
        """Where label directories live in the artifact store."""
        return self.resolved_artifact_dir() / "labels"

    def wavefunctions_dir(self) -> Path:
        """Where converged wavefunctions are kept for reuse."""
        return self.resolved_artifact_dir() / "wavefunctions"

    def cp2k_cache_dir(self) -> Path:
        """Where each CP2K build's input specification is written once."""
        return self.resolved_artifact_dir() / "cp2k"


class WorkerSettings(Cp2kSettings):
    """How a worker runs jobs (``WISE_AL_DEVICE``, ``WISE_AL_TRAIN_THREADS``).

    Attributes
    ----------
    device
        Where MACE runs on this worker: ``auto``, ``cpu``, ``cuda``; the spec's
        ``exploration.device`` wins when it is not ``auto``.
    train_threads
        CPU threads of one member's training process.
    unit_max_attempts
        Tries of one unit of work (``WISE_AL_UNIT_MAX_ATTEMPTS``): transient errors and lost
        workers count; after the last, the unit is settled as failed with its error.
    """

    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d{1,3})?)$")
    train_threads: int = Field(default=1, gt=0)
    unit_max_attempts: int = Field(default=8, ge=1, le=100)


class ApiSettings(CoreSettings):
    """Settings of the API process (``WISE_AL_MAX_BODY_BYTES`` ...)."""

    max_body_bytes: int = Field(default=1_048_576, gt=0)
    #: Largest dataset upload (``POST /datasets``), enforced while the body streams in.
    max_upload_bytes: int = Field(default=512 * 1_048_576, gt=0)
    #: Signs the dashboard's session and CSRF cookies. When unset, a random key is kept in
    #: ``<home>/session.key`` so API processes sharing a home share sign-ins.
    session_secret: SecretStr | None = None
    session_max_age_s: int = Field(default=12 * 3600, gt=0)
    #: Send cookies only over HTTPS (set it behind a TLS proxy).
    secure_cookies: bool = False


class ClientSettings(BaseSettings):
    """The API the CLI talks to, and its token (``WISE_AL_API_URL``, ``WISE_AL_TOKEN``)."""

    model_config = SettingsConfigDict(env_prefix="WISE_AL_", extra="ignore")

    api_url: str = "http://127.0.0.1:8000"
    token: str | None = None
    timeout_s: float = 30.0
