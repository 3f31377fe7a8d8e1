"""Dashboard pages: campaigns, one campaign (live), review queue, frame, models, sign-in.

Pages read through the repositories, like the REST API; the only writes are a review
decision and signing in or out, each behind a CSRF check.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.api.dashboard import quality, studies, validation, views
from services.api.dashboard.auth import (
    ViewerDep,
    check_csrf,
    require_reviewer,
    sign_in,
    sign_out,
)
from services.api.dashboard.templating import VENDOR, render
from services.api.deps import SessionDep
from services.api.params import CampaignId, FrameId, IterationFilter, Offset, StudyId
from services.api.routes.frames import ReviewCreate, record_review
from services.api.routes.results import artifact_file
from wise_al.db.models import Campaign, FrameStatus, RunStatus
from wise_al.db.repositories import (
    CampaignRepository,
    FrameFilter,
    FrameRepository,
    LabelRepository,
    ModelVersionRepository,
    OverviewRepository,
    StudyRepository,
    TokenRepository,
    ValidationRepository,
)
from wise_al.errors import NotFoundError
from wise_al.jobs.studies import compare_study
from wise_al.jobs.unit import campaign_spec
from wise_al.observables.registry import CN_REFERENCE

router = APIRouter(include_in_schema=False)

VersionId = FrameId  # a row id in the path: 1 ≤ id < 2³¹
QUEUE_PAGE = 50
QueueStatus = Literal["selected", "candidate", "failed", "rejected", "accurate", "any"]


@router.get("/")
def campaigns_page(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Every campaign with its status, latest iteration, frames and labels."""
    summaries = OverviewRepository(session).campaigns()
    fragment = "_campaign_rows.html" if request.headers.get("HX-Request") else "campaigns.html"
    return render(request, viewer, fragment, summaries=summaries)


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    campaign_id: CampaignId, request: Request, session: SessionDep, viewer: ViewerDep
) -> Response:
    """Timeline, verdict ratios, learning curve and deviation histogram of a campaign."""
    campaign = CampaignRepository(session).get(campaign_id)
    spec = campaign_spec(campaign)
    overview = OverviewRepository(session)
    iterations = overview.iterations(campaign_id)
    window = spec.uncertainty
    # the window applies to σ × the calibration's scale: drawn on raw σ, it moves by 1/scale
    scale = next(
        (float(i.iteration.metrics["sigma_scale"]) for i in reversed(iterations)
         if (i.iteration.metrics or {}).get("sigma_scale")),
        1.0,
    )  # fmt: skip
    figures = {
        "timeline": views.timeline_figure(overview.unit_spans(campaign_id)),
        "ratios": views.ratios_figure(iterations),
        "learning": views.learning_curve_figure(iterations),
        "calibration": quality.calibration_figure(iterations, window.trust_hi_eV_per_A),
        "histogram": views.histogram_figure(
            iterations, window.trust_lo_eV_per_A / scale, window.trust_hi_eV_per_A / scale
        ),
    }
    return render(
        request,
        viewer,
        "campaign.html",
        campaign=campaign,
        spec=spec,
        iterations=iterations,
        figures=figures,
        held_out_splits=quality.held_out_splits(iterations),
        **_live_context(overview, campaign),
    )


def _live_context(overview: OverviewRepository, campaign: Campaign) -> dict[str, Any]:
    gate = campaign_spec(campaign).review.gate
    return {
        "active_runs": overview.active_runs(campaign.id),
        "review_counts": overview.review_counts(campaign.id, gate),
        "gate": gate,
    }


@router.get("/campaigns/{campaign_id}/live")
def campaign_live(
    campaign_id: CampaignId, request: Request, session: SessionDep, viewer: ViewerDep
) -> Response:
    """The campaign's status, active jobs and workers: the fragment the page polls."""
    campaign = CampaignRepository(session).get(campaign_id)
    context = _live_context(OverviewRepository(session), campaign)
    return render(request, viewer, "_live.html", campaign=campaign, **context)


@router.get("/campaigns/{campaign_id}/review")
def review_queue(
    campaign_id: CampaignId,
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    status: QueueStatus = "selected",
    flag: Annotated[str | None, Query(max_length=40)] = None,
    # the filter form sends "" for "any iteration"
    iteration: Annotated[str, Query(max_length=6, pattern=r"^\d*$")] = "",
    sort: Literal["-deviation", "deviation", "id", "-id"] = "-deviation",
    offset: Offset = 0,
) -> Response:
    """Frames awaiting a decision (by default), most disputed first."""
    campaign = CampaignRepository(session).get(campaign_id)
    overview = OverviewRepository(session)
    where = FrameFilter(
        status=None if status == "any" else FrameStatus(status),
        flag_kind=flag or None,
        iteration=int(iteration) if iteration else None,
    )
    iteration_of = overview.iteration_indices(campaign_id)
    page = FrameRepository(session).page(campaign_id, where, sort, QUEUE_PAGE, offset)
    reviewed = FrameRepository(session).reviewed_ids([f.id for f in page.items])
    return render(
        request,
        viewer,
        "queue.html",
        campaign=campaign,
        page=page,
        reviewed=reviewed,
        flag_kinds=overview.flag_kinds(campaign_id),
        iteration_of=iteration_of,
        filters={"status": status, "flag": flag or "", "iteration": where.iteration, "sort": sort},
        **_live_context(overview, campaign),
    )


@router.get("/campaigns/{campaign_id}/frames/{frame_id}")
def frame_page(
    campaign_id: CampaignId,
    frame_id: FrameId,
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
) -> Response:
    """One frame in 3D with its flags, committee energies, provenance, review and label."""
    campaign = CampaignRepository(session).get(campaign_id)
    frames = FrameRepository(session)
    frame = frames.in_campaign(campaign_id, frame_id)
    iteration, walker, validation = frames.provenance(frame)
    spec = campaign_spec(campaign)
    labels = LabelRepository(session).of_frame(frame_id)
    # training takes every successful label so far: committees from this iteration on
    models = ModelVersionRepository(session).for_campaign(campaign_id)
    labelled = any(label.status == RunStatus.DONE for label in labels)
    trained_on = sorted(
        {m.iteration_index for m in models if labelled and m.iteration_index >= iteration.index}
    )
    return render(
        request,
        viewer,
        "frame.html",
        campaign=campaign,
        frame=frame,
        iteration=iteration,
        walker=walker,
        validation=validation,
        timestep_fs=spec.exploration.timestep_fs,
        window=spec.uncertainty,
        viewer_data=views.viewer_data(frame, list(frame.flags)),
        reviews=frames.reviews(frame_id),
        labels=labels,
        trained_on=trained_on,
    )


@router.post("/campaigns/{campaign_id}/frames/{frame_id}/review")
def review_frame(
    campaign_id: CampaignId,
    frame_id: FrameId,
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    background: BackgroundTasks,
    decision: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str | None, Form(max_length=400)] = None,
) -> Response:
    """Record a reviewer's decision (401 anonymous, 403 without CSRF, 409 if not selected)."""
    check_csrf(request, viewer, csrf_token)
    reviewer = require_reviewer(viewer)
    try:
        body = ReviewCreate.model_validate({"decision": decision, "reason": reason})
    except ValidationError as exc:  # the same 422 as a bad JSON body: fields named
        raise RequestValidationError(exc.errors()) from exc
    review = record_review(session, request, background, campaign_id, frame_id, reviewer, body)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {
                "frame_id": frame_id,
                "decision": str(review.decision),
                "reviewer": review.reviewer,
                "reason": review.reason,
            },
            status_code=201,
        )
    return RedirectResponse(f"/campaigns/{campaign_id}/frames/{frame_id}", status_code=303)


@router.get("/campaigns/{campaign_id}/models")
def models_page(
    campaign_id: CampaignId, request: Request, session: SessionDep, viewer: ViewerDep
) -> Response:
    """Committee members per iteration with errors, parity plots and downloads."""
    campaign = CampaignRepository(session).get(campaign_id)
    versions = ModelVersionRepository(session).for_campaign(campaign_id)
    return render(request, viewer, "models.html", campaign=campaign, versions=versions)


@router.get("/campaigns/{campaign_id}/validation")
def validation_page(
    campaign_id: CampaignId,
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    iteration: IterationFilter = None,
) -> Response:
    """Each iteration's committee against experiment: scores, S(q), g(r), CN, density."""
    campaign = CampaignRepository(session).get(campaign_id)
    validations = list(ValidationRepository(session).of_campaign(campaign_id))
    done = [v for v in validations if v.status == RunStatus.DONE]
    if iteration is None:
        shown = done[-1] if done else None
    else:
        shown = next((v for v in done if v.iteration_index == iteration), None)
        if shown is None:
            raise NotFoundError(
                f"campaign {campaign_id} has no finished validation of iteration {iteration}"
            )
    return render(
        request,
        viewer,
        "validation.html",
        campaign=campaign,
        spec=campaign_spec(campaign),
        validations=validations,
        shown=shown,
        figures=validation.iteration_figures(shown) if shown else {},
        trend=validation.trend_figure(done) if len(done) > 1 else None,
        coordination=validation.coordination_rows(shown) if shown else [],
        cn_reference=CN_REFERENCE,
    )


@router.get("/studies")
def studies_page(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Every study, newest first."""
    studies = StudyRepository(session).page(limit=200, offset=0).items
    return render(request, viewer, "studies.html", studies=studies)


@router.get("/studies/{study_id}")
def study_page(
    study_id: StudyId,
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
) -> Response:
    """A study's variants side by side, their learning curves and Li–Li contacts."""
    study = StudyRepository(session).get(study_id)
    rows = compare_study(session, study_id)
    seeds = len(study.spec.get("seeds", [0]))
    return render(
        request,
        viewer,
        "study.html",
        study=study,
        rows=rows,
        seeds=seeds,
        curves=studies.learning_curves(rows, seeds),
        contacts=studies.contacts_figure(rows, seeds),
    )


@router.get("/campaigns/{campaign_id}/models/{version_id}/parity")
def parity_figure(
    campaign_id: CampaignId, version_id: VersionId, request: Request, session: SessionDep
) -> JSONResponse:
    """The parity figure (plotly JSON) of one member on its held-out labels."""
    version = ModelVersionRepository(session).in_campaign(campaign_id, version_id)
    path = artifact_file(
        request, version.metrics.get("parity"), f"the parity data of model version {version_id}"
    )
    title = f"iteration {version.iteration_index} · member {version.member_index}"
    return JSONResponse(views.parity_figure(json.loads(path.read_text()), title))


@router.get("/signin")
def signin_page(
    request: Request, viewer: ViewerDep, next: Annotated[str, Query(max_length=500)] = "/"
) -> Response:
    """Sign in with an API token."""
    return render(request, viewer, "signin.html", next=_local(next), error=None)


@router.post("/signin")
def signin(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    token: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str | None, Form(max_length=400)] = None,
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the token and set the session cookie; a wrong token re-shows the form (401)."""
    check_csrf(request, viewer, csrf_token)
    found = TokenRepository(session).authenticate(token.strip())
    if found is None:
        return render(
            request,
            viewer,
            "signin.html",
            status_code=401,
            next=_local(next),
            error="token: unknown, revoked or expired (mint one with `wise-al token create`)",
        )
    response = RedirectResponse(_local(next), status_code=303)
    sign_in(response, request, session, found)
    return response


@router.post("/signout")
def signout(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    csrf_token: Annotated[str | None, Form(max_length=400)] = None,
) -> Response:
    """End the session, on the server too: its cookie signs no one in again."""
    check_csrf(request, viewer, csrf_token)
    response = RedirectResponse("/", status_code=303)
    sign_out(response, request, session)
    return response


def _local(target: str) -> str:
    """Only paths of this site are redirected to (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/static/vendor/{name}")
def vendor_file(name: str) -> FileResponse:
    """A browser library installed from npm by ``make assets``."""
    path = VENDOR.get(name)
    if path is None or not path.is_file():
        raise NotFoundError(f"{name}: not a dashboard asset, or not installed (run `make assets`)")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
