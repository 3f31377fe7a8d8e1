"""``advance``: the next step of a campaign, decided from counts alone.

Fan-in works by asking again: every finished unit of work calls ``advance`` on a fresh
snapshot, and a phase ends once its counts say so. Commands for units that already exist
are repeated on purpose; the dispatcher keeps one task per unit, so asking twice is free.
"""

from __future__ import annotations

from wise_al.campaign_spec.campaign import CampaignSpec
from wise_al.loop.state import CampaignStatus, Command, Phase, Snapshot, Transition, Unit


def walker_count(spec: CampaignSpec) -> int:
    """Walkers explored per iteration: the replicas of every condition."""
    return sum(walker.replicas for walker in spec.system.walkers)


def _stay(snap: Snapshot, reason: str, *commands: Command) -> Transition:
    return Transition(snap.status, snap.iteration, snap.phase, tuple(commands), reason)


def _go(snap: Snapshot, phase: Phase, reason: str, *commands: Command) -> Transition:
    return Transition(snap.status, snap.iteration, phase, tuple(commands), reason)


def _end(snap: Snapshot, status: CampaignStatus, reason: str) -> Transition:
    return Transition(status, snap.iteration, Phase.DONE, (), reason)


def _explore(iteration: int, walkers: int) -> tuple[Command, ...]:
    return tuple(Command(Unit.EXPLORE, iteration, k) for k in range(walkers))


def _label(snap: Snapshot) -> tuple[Command, ...]:
    labels = tuple(Command(Unit.LABEL, snap.iteration, frame) for frame in snap.to_label)
    return labels if snap.e0s_ready else (Command(Unit.E0S, snap.iteration), *labels)


def _train(snap: Snapshot, spec: CampaignSpec) -> tuple[Command, ...]:
    size = spec.model.committee_size
    return tuple(Command(Unit.TRAIN, snap.iteration, k) for k in range(size))


def _uncalibrated(snap: Snapshot) -> str:
    """Why a committee's agreement does not count as convergence."""
    if snap.calibration_verdict == "under_dispersed":
        ratio = snap.dispersion_ratio
        times = f" ({1 / ratio:.0f}x below its true error)" if ratio else ""
        return f"the committee is under-dispersed: its deviation is far below its error{times}"
    if snap.calibration_verdict == "uncalibrated":
        return f"the committee is not calibrated: {snap.calibration_reason}"
    return "the committee's deviation was not yet checked against fresh labels"


def _targets_met(snap: Snapshot, spec: CampaignSpec) -> str:
    """Which observable targets held, as one phrase; empty unless every one of them held."""
    targets = spec.stopping.observable_targets
    if not targets or not snap.validated or snap.validation_failed:
        return ""
    measured = dict(snap.observables)
    if any(measured.get(k, float("inf")) > limit for k, limit in targets.items()):
        return ""
    return ", ".join(f"{k} {measured[k]:.3g} <= {limit:g}" for k, limit in targets.items())


def first_phase(spec: CampaignSpec) -> Phase:
    """Where iteration 0 begins: importing the initial dataset or packing cells to label,
    taking the foundation as it is (strategy ``foundation``: straight to its "training",
    which trains nothing), or exploring with the foundation."""
    if spec.model.strategy == "foundation":
        return Phase.TRAIN
    if spec.model.initial_dataset is not None or spec.model.initial_cells is not None:
        return Phase.SEED
    return Phase.EXPLORE


def advance(snap: Snapshot, spec: CampaignSpec) -> Transition:
    """Decide the next step of a campaign.

    Parameters
    ----------
    snap
        Counts of the campaign's current iteration.
    spec
        The campaign spec (stopping rules, review gate, committee size).

    Returns
    -------
    Transition
        The new status, iteration and phase, the units of work to run and the reason.
    """
    if snap.status != CampaignStatus.RUNNING:
        return _stay(snap, f"campaign is {snap.status}")
    stop = spec.stopping
    if snap.phase == Phase.SEED:
        packing = spec.model.initial_cells is not None
        doing = "packing and relaxing the initial cells" if packing else (
            "importing the initial dataset"
        )  # fmt: skip
        if snap.seed_failed:
            return _end(snap, CampaignStatus.FAILED, f"{doing} failed: {snap.seed_failed}")
        if not snap.seeded:
            return _stay(snap, doing, Command(Unit.PACK if packing else Unit.SEED, snap.iteration))
        if packing:
            if spec.review.gate == "required":
                waiting = f"{snap.awaiting_review} packed-cell frames wait for review"
                return _go(snap, Phase.REVIEW, waiting)
            seeded = f"{len(snap.to_label)} frames of packed cells to label"
        else:
            seeded = f"{snap.labels_done_iteration} labels imported"
        return _go(snap, Phase.LABEL, seeded, *_label(snap))
    if snap.phase == Phase.EXPLORE:
        if snap.walkers_finished < snap.walkers:
            done = f"{snap.walkers_finished}/{snap.walkers}"
            return _stay(
                snap, f"exploring: {done} walkers done", *_explore(snap.iteration, snap.walkers)
            )
        if snap.walkers_failed == snap.walkers:
            why = f" (first: {snap.walker_error[:300]})" if snap.walker_error else ""
            return _end(snap, CampaignStatus.FAILED, f"every walker of the iteration failed{why}")
        ratio = snap.accurate_ratio
        reason = "exploration done"
        if snap.has_committee and ratio is not None and ratio >= stop.accurate_ratio_target:
            share = f"{ratio:.1%} of explored frames accurate"
            if snap.explorer_broke:
                reason = f"not converged although {share}: its validation MD broke at "
                reason += snap.explorer_broke
            elif snap.calibration_verdict == "calibrated":
                return _end(
                    snap,
                    CampaignStatus.COMPLETED,
                    f"converged: {share} (target {stop.accurate_ratio_target:.0%}) by a "
                    "committee whose deviation tracks its true error",
                )
            else:
                reason = f"not converged although {share}: " + _uncalibrated(snap)
        return _go(snap, Phase.SELECT, reason, Command(Unit.SELECT, snap.iteration))
    if snap.phase == Phase.SELECT:
        if snap.selection_failed:
            return _end(snap, CampaignStatus.FAILED, f"selection failed: {snap.selection_failed}")
        if snap.selected is None:
            return _stay(snap, "selecting frames", Command(Unit.SELECT, snap.iteration))
        if snap.selected == 0:
            return _go(snap, Phase.DECIDE, "no frame selected")
        if spec.review.gate == "required":
            return _go(snap, Phase.REVIEW, f"{snap.selected} frames wait for review")
        return _go(snap, Phase.LABEL, f"{snap.selected} frames selected", *_label(snap))
    if snap.phase == Phase.REVIEW:
        if snap.awaiting_review:
            return _stay(snap, f"waiting for {snap.awaiting_review} review decisions")
        if not snap.to_label:
            return _go(snap, Phase.DECIDE, "every selected frame was rejected")
        return _go(snap, Phase.LABEL, f"{len(snap.to_label)} frames accepted", *_label(snap))
    if snap.phase == Phase.LABEL:
        if snap.e0s_failed:
            return _end(
                snap,
                CampaignStatus.FAILED,
                f"isolated-atom reference energies failed: {snap.e0s_failed}",
            )
        if snap.to_label or not snap.e0s_ready:
            return _stay(snap, f"labelling: {len(snap.to_label)} frames to go", *_label(snap))
        if snap.labels_done_iteration == 0:
            return _go(snap, Phase.DECIDE, "every label of the iteration failed")
        if snap.has_committee and not snap.calibrated:
            return _stay(
                snap,
                "calibrating the committee against the new labels",
                Command(Unit.CALIBRATE, snap.iteration),
            )
        return _go(
            snap, Phase.TRAIN, f"{snap.labels_done_iteration} new labels", *_train(snap, spec)
        )
    if snap.phase == Phase.TRAIN:
        if snap.members_failed:
            first = snap.members_failed[0]
            return _end(
                snap,
                CampaignStatus.FAILED,
                f"{len(snap.members_failed)} members failed to train, the first: {first}",
            )
        if snap.members_done < spec.model.committee_size:
            done = f"{snap.members_done}/{spec.model.committee_size}"
            return _stay(snap, f"training: {done} members done", *_train(snap, spec))
        return _go(
            snap, Phase.EVALUATE, "committee trained", Command(Unit.EVALUATE, snap.iteration)
        )
    if snap.phase == Phase.EVALUATE:
        if snap.evaluation_failed:
            return _end(snap, CampaignStatus.FAILED, f"evaluation failed: {snap.evaluation_failed}")
        if not snap.evaluated:
            return _stay(snap, "evaluating", Command(Unit.EVALUATE, snap.iteration))
        if spec.validation.enabled:
            validate = Command(Unit.VALIDATE, snap.iteration)
            return _go(snap, Phase.VALIDATE, "committee evaluated; validating", validate)
        return _go(snap, Phase.DECIDE, "committee evaluated")
    if snap.phase == Phase.VALIDATE:
        if snap.validation_failed:
            # a potential whose MD fails is a finding, not a broken campaign: go on learning
            return _go(snap, Phase.DECIDE, f"validation failed: {snap.validation_failed}")
        if not snap.validated:
            return _stay(
                snap, "validating against experiment", Command(Unit.VALIDATE, snap.iteration)
            )
        return _go(snap, Phase.DECIDE, "validated against experiment")
    if snap.phase == Phase.DECIDE:
        met = _targets_met(snap, spec)
        if met:
            return _end(snap, CampaignStatus.COMPLETED, f"validated against experiment: {met}")
        if spec.model.strategy == "foundation":
            return _end(
                snap,
                CampaignStatus.COMPLETED,
                "foundation baseline evaluated"
                + (" and validated" if spec.validation.enabled else "")
                + ": it trains nothing",
            )
        if snap.labels_total >= stop.max_labels:
            return _end(
                snap, CampaignStatus.COMPLETED, f"label budget spent: {snap.labels_total} labels"
            )
        if snap.iteration + 1 >= stop.max_iterations:
            return _end(
                snap, CampaignStatus.COMPLETED, f"reached max_iterations ({stop.max_iterations})"
            )
        following = snap.iteration + 1
        return Transition(
            snap.status,
            following,
            Phase.EXPLORE,
            _explore(following, snap.walkers),
            f"iteration {following} starts",
        )
    return _stay(snap, "campaign is done")
