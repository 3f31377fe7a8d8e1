"""Step 1: frames in the trust window, and every physically flagged frame."""

from __future__ import annotations

from wise_al.selection.base import Candidate, Decision


def window_or_flagged(
    candidates: list[Candidate], trust_lo_eV_per_A: float, trust_hi_eV_per_A: float
) -> tuple[list[Candidate], list[Decision]]:
    """Keep candidates in ``[trust_lo, trust_hi)`` or urgent; reject the rest with reasons.

    Frames above ``trust_hi`` are usually unphysical and worthless to label, unless a flag
    explains what went wrong or they lead into a break: those show the model's blind spots
    and are kept (as are onset frames the committee calls accurate: it is wrong there).
    """
    kept, rejected = [], []
    for c in candidates:
        score = c.max_deviation_eV_per_A
        if c.urgent or trust_lo_eV_per_A <= score < trust_hi_eV_per_A:
            kept.append(c)
        elif score < trust_lo_eV_per_A:
            rejected.append(
                Decision(
                    c.index,
                    False,
                    f"accurate: max deviation {score:.3f} < trust_lo {trust_lo_eV_per_A:g} eV/Å",
                )
            )
        else:
            rejected.append(
                Decision(
                    c.index,
                    False,
                    f"failed: max deviation {score:.3f} "
                    f">= trust_hi {trust_hi_eV_per_A:g} eV/Å, no physics flag",
                )
            )
    return kept, rejected
