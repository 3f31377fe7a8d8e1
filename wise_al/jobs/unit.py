"""What a kind of unit of work declares: what it needs, how it runs, where its outcome lives.

Each kind is implemented in its own module of this package (``explore.EXPLORE``,
``label.LABEL``, ...) and declared, with the resource it needs, in
:mod:`wise_al.jobs.registry`, which loads the implementation only when it is run. A unit
records what it produced, or why it failed, on its domain row (walker run, label, model
version, reference energies, the iteration's metrics); the loop reads those rows and alone
decides what they mean for the campaign. Queues and task names are the worker's business,
not the core's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from wise_al.campaign_spec import CampaignSpec
from wise_al.db.models import Campaign, CampaignStatus
from wise_al.db.repositories import CampaignRepository, IterationRepository
from wise_al.errors import NotFoundError
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings

Sessions = sessionmaker[Session]


class Resource(enum.StrEnum):
    """What a unit needs to run; a worker that has it takes units of that class."""

    GPU = "gpu"  # MACE: committee MD, training, calibration
    DFT = "dft"  # CP2K
    CPU = "cpu"  # bookkeeping in the database: selection, evaluation


@dataclass(frozen=True)
class UnitKind:
    """One kind of unit of work.

    Attributes
    ----------
    unit
        The loop's name for it.
    run
        ``run(sessions, settings, campaign_id, command)``: do the work and record its
        outcome on the domain row. Idempotent: a repeated run changes nothing.
    is_done
        ``is_done(session, campaign_id, command)``: whether its domain row holds its outcome
        already (a success, or a failure the unit recorded itself such as a failed label).
    record_failure
        ``record_failure(session, campaign_id, command, error)``: write a failure that the
        unit could not record itself (an exception, retries exhausted) on its domain row.
        Never overwrites a success.
    """

    unit: Unit
    run: Callable[[Sessions, WorkerSettings, int, Command], None]
    is_done: Callable[[Session, int, Command], bool]
    record_failure: Callable[[Session, int, Command, str], None]


def campaign_spec(campaign: Campaign) -> CampaignSpec:
    """The stored spec of a campaign, validated again (every job reloads it)."""
    return CampaignSpec.model_validate(campaign.spec)


def spec_of(session: Session, campaign_id: int) -> CampaignSpec:
    """The spec of campaign ``campaign_id``."""
    return campaign_spec(CampaignRepository(session).get(campaign_id))


#: How often a running unit asks whether its campaign was cancelled, in seconds.
POLL_S = 2.0


def cancelled_check(sessions: Sessions, campaign_id: int) -> Callable[[], bool]:
    """A question a long run asks while it works: was its campaign cancelled, did it fail
    (nothing will read what the run makes), or was it deleted?"""

    def cancelled() -> bool:
        try:
            with sessions() as session:
                campaign = CampaignRepository(session).get(campaign_id)
                return campaign.status in (CampaignStatus.CANCELLED, CampaignStatus.FAILED)
        except NotFoundError:
            return True  # deleted: nothing will ever read what the run makes
        except SQLAlchemyError:
            return False  # the database is away: the run goes on, and is asked again later

    return cancelled


def index_of(command: Command) -> int:
    """The walker, frame id or member a command is about."""
    assert command.index is not None, f"{command.unit} needs an index"
    return command.index


def outcome_in_metrics(key: str) -> Callable[[Session, int, Command], bool]:
    """``is_done`` of a whole-iteration unit whose outcome is ``key`` in the metrics."""

    def is_done(session: Session, campaign_id: int, command: Command) -> bool:
        iteration = IterationRepository(session).at(campaign_id, command.iteration)
        return key in (iteration.metrics or {})

    return is_done


def failure_in_metrics(unit: Unit) -> Callable[[Session, int, Command, str], None]:
    """``record_failure`` of a whole-iteration unit: its error in the iteration's failures."""

    def record_failure(session: Session, campaign_id: int, command: Command, error: str) -> None:
        IterationRepository(session).record_failure(campaign_id, command.iteration, unit, error)

    return record_failure
