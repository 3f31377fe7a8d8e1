"""Send again the work a restart lost: ``python -m services.worker.recover [--purge]``.

For every running campaign, every unit still queued or running is sent again, then the
campaign is asked to advance. Units are idempotent, so a message that was not lost is
merely skipped. ``--purge`` first empties the queues; only for the embedded broker, when
no worker is running, so that nothing is delivered twice while it runs.
"""

from __future__ import annotations

import sys

from services.worker.dispatch import create_celery, send_advance, send_runs
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import CampaignStatus
from wise_al.db.repositories import CampaignRepository, TaskRunRepository
from wise_al.settings import CoreSettings


def recover(settings: CoreSettings, purge: bool = False) -> tuple[int, int]:
    """Re-send lost work; returns (campaigns, units sent)."""
    app = create_celery(settings)
    if purge:
        app.control.purge()
    sessions = create_session_factory(create_db_engine(settings.resolved_database_url()))
    with transaction(sessions) as session:
        running = CampaignRepository(session).ids_with_status(CampaignStatus.RUNNING)
        leases = TaskRunRepository(session)
        runs = {campaign_id: leases.unfinished(campaign_id) for campaign_id in running}
    sent = 0
    for campaign_id, units in runs.items():
        sent += send_runs(app, units)
        send_advance(app, campaign_id)
    return len(running), sent


if __name__ == "__main__":
    campaigns, units = recover(CoreSettings(), purge="--purge" in sys.argv[1:])
    print(f"recovered {campaigns} running campaigns: {units} units sent again")
