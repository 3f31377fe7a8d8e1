"""The one table from units of work to Celery: task names and queues.

The core declares what each unit needs (:class:`~wise_al.jobs.unit.Resource`); this is the
only place that turns it into a queue, and a unit into a task name.
"""

from __future__ import annotations

from wise_al.jobs.registry import DECLARED
from wise_al.jobs.unit import Resource
from wise_al.loop import Unit

#: The queue of each resource class: start a worker with ``-Q gpu`` on a GPU machine.
QUEUE_OF_RESOURCE: dict[Resource, str] = {
    Resource.GPU: "gpu",
    Resource.DFT: "dft",
    Resource.CPU: "default",
}
QUEUES = tuple(QUEUE_OF_RESOURCE.values())
DEFAULT_QUEUE = QUEUE_OF_RESOURCE[Resource.CPU]
#: The task that asks the loop to move a campaign (after start, resume or a review).
ADVANCE_TASK = "wise_al.advance"


def task_name(unit: Unit) -> str:
    """The Celery task that runs units of this kind."""
    return f"wise_al.{unit}"


#: unit -> (task name, queue), derived from the registry.
ROUTES: dict[Unit, tuple[str, str]] = {
    unit: (task_name(unit), QUEUE_OF_RESOURCE[d.resource]) for unit, d in DECLARED.items()
}
