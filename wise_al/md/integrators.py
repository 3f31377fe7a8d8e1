"""ASE's Nosé–Hoover chain (NVT) and MTK (NPT) integrators, and their full state.

The state is what a checkpoint must hold for a resumed run to be the uninterrupted one:
positions and momenta, the thermostat chain's positions and momenta, and under NPT the
barostat's strain, its momentum, its chain and the reference cell the strain applies to.
ASE keeps these in private attributes; the resume test compares a resumed run with an
uninterrupted one bit for bit, so a new ASE that adds state fails that test, not a user.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms, units
from ase.md.md import MolecularDynamics
from ase.md.nose_hoover_chain import IsotropicMTKNPT, NoseHooverChainNVT

from wise_al.md.parameters import ProductionParameters

#: State attributes per integrator: ``name`` on the integrator, ``part.name`` on a part.
STATE_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    NoseHooverChainNVT: ("_q", "_p", "_thermostat._eta", "_thermostat._p_eta"),
    IsotropicMTKNPT: (
        "_q",
        "_p",
        "_eps",
        "_p_eps",
        "_cell0",
        "_volume0",
        "_thermostat._eta",
        "_thermostat._p_eta",
        "_barostat._xi",
        "_barostat._p_xi",
    ),
}


def make_integrator(atoms: Atoms, parameters: ProductionParameters) -> MolecularDynamics:
    """The deterministic integrator ``parameters`` ask for, on ``atoms`` (calculator set)."""
    common: dict[str, Any] = {
        "timestep": parameters.timestep_fs * units.fs,
        "temperature_K": parameters.temperature_K,
        "tdamp": parameters.tdamp_fs * units.fs,
        "tchain": parameters.chain_length,
    }
    if parameters.ensemble == "NVT":
        return NoseHooverChainNVT(atoms, **common)
    if not atoms.pbc.all():
        raise ValueError("NPT needs a cell periodic in all three directions")
    return IsotropicMTKNPT(
        atoms,
        pressure_au=parameters.pressure_bar * units.bar,
        pdamp=parameters.pdamp_fs * units.fs,
        pchain=parameters.chain_length,
        **common,
    )


def _owner(dynamics: MolecularDynamics, name: str) -> tuple[Any, str]:
    *path, attribute = name.split(".")
    owner: Any = dynamics
    for part in path:
        owner = getattr(owner, part)
    return owner, attribute


def integrator_state(dynamics: MolecularDynamics) -> dict[str, np.ndarray]:
    """Copies of every state variable of ``dynamics`` (see :data:`STATE_ATTRIBUTES`)."""
    state = {}
    for name in STATE_ATTRIBUTES[type(dynamics)]:
        owner, attribute = _owner(dynamics, name)
        state[name] = np.array(getattr(owner, attribute), dtype=np.float64, copy=True)
    return state


def restore_state(dynamics: MolecularDynamics, state: dict[str, np.ndarray]) -> None:
    """Put a state taken by :func:`integrator_state` back, and the atoms with it."""
    names = STATE_ATTRIBUTES[type(dynamics)]
    if set(names) != set(state):
        raise ValueError(
            f"checkpoint holds state {sorted(state)}, the integrator needs {sorted(names)}"
        )
    for name in names:
        owner, attribute = _owner(dynamics, name)
        value = state[name]
        setattr(owner, attribute, float(value) if value.ndim == 0 else value.copy())
    dynamics._update_atoms()  # type: ignore[attr-defined] # positions, momenta (and cell) from the restored variables
