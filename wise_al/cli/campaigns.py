"""Campaign commands: submit, list, show, delete, start/pause/resume/cancel (REST API)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from wise_al.campaign_spec import load_spec
from wise_al.cli.output import (
    campaign_details,
    campaign_table,
    console,
    iterations_table,
    print_json,
)
from wise_al.client import WiseAlClient
from wise_al.settings import ClientSettings

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]
ApiOpt = Annotated[
    str | None, typer.Option("--api", help="API URL [env WISE_AL_API_URL, default :8000]")
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="bearer token [env WISE_AL_TOKEN]", show_default=False)
]


def make_client(api: str | None, token: str | None = None) -> WiseAlClient:
    """A client from options, falling back to ``WISE_AL_API_URL`` / ``WISE_AL_TOKEN``."""
    settings = ClientSettings()
    return WiseAlClient(
        api or settings.api_url, token or settings.token, timeout_s=settings.timeout_s
    )


def submit(
    spec_file: Annotated[Path, typer.Argument(help="campaign spec, YAML or JSON")],
    api: ApiOpt = None,
    token: TokenOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Validate a spec locally, then submit it; prints the new campaign."""
    spec = load_spec(spec_file)
    with make_client(api, token) as client:
        campaign = client.create_campaign(spec)
    if json_:
        print_json(campaign)
    else:
        console.print(f"created campaign [bold]{campaign['id']}[/] '{campaign['name']}' (draft)")


def campaigns(
    status: Annotated[str | None, typer.Option(help="only campaigns with this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    api: ApiOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List campaigns, newest first."""
    with make_client(api) as client:
        page = client.list_campaigns(limit=limit, offset=offset, status=status)
    if json_:
        print_json(page)
    else:
        console.print(campaign_table(page["items"], page["total"]))


def show(
    campaign_id: Annotated[int, typer.Argument(help="campaign id")],
    spec: Annotated[bool, typer.Option("--spec", help="print the stored spec instead")] = False,
    api: ApiOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one campaign (or its spec with ``--spec``)."""
    with make_client(api) as client:
        data = client.get_campaign_spec(campaign_id) if spec else client.get_campaign(campaign_id)
    if json_ or spec:
        print_json(data)
    else:
        console.print(campaign_details(data))


def delete(
    campaign_id: Annotated[int, typer.Argument(help="campaign id")],
    api: ApiOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a campaign that is still a draft."""
    with make_client(api, token) as client:
        client.delete_campaign(campaign_id)
    console.print(f"deleted campaign {campaign_id}")


def _control(action: str) -> Callable[..., None]:
    def command(
        campaign_id: Annotated[int, typer.Argument(help="campaign id")],
        api: ApiOpt = None,
        token: TokenOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        with make_client(api, token) as client:
            campaign = client.control_campaign(campaign_id, action)
        if json_:
            print_json(campaign)
        else:
            console.print(f"campaign {campaign_id}: {campaign['status']}")

    command.__doc__ = {
        "start": "Start a draft campaign: its first iteration is queued.",
        "pause": "Pause a running campaign: running units finish, nothing new starts.",
        "resume": "Resume a paused (or stalled running) campaign: lost units are sent again.",
        "cancel": "Cancel a campaign for good.",
    }[action]
    return command


def iterations(
    campaign_id: Annotated[int, typer.Argument(help="campaign id")],
    api: ApiOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A campaign's iterations: phase, frames selected, committee errors."""
    with make_client(api) as client:
        rows = client.iterations(campaign_id)
    if json_:
        print_json(rows)
        return
    console.print(iterations_table(rows))


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    for action in ("start", "pause", "resume", "cancel"):
        app.command(name=action)(_control(action))
    app.command()(iterations)
    app.command()(submit)
    app.command()(campaigns)
    app.command()(show)
    app.command()(delete)
