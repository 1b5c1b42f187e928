"""What a procedure takes from earlier runs: the hysteresis of the same sample and device.

A physicist chains measurements: the hysteresis loop gives H_ex, H_c(soft) and the full
V_AHE swing, and the return-velocity and neuron runs that follow use them. This module finds
that run in the database (a given run id, or the latest finished hysteresis of the same
sample and device) and re-analyses it from its stored points, so the numbers are the
measured ones, never a typed-in or hidden value.
"""

from __future__ import annotations

from dataclasses import dataclass

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.hysteresis import HysteresisResult
from dwlab.procedures.base import ParameterError


@dataclass(frozen=True)
class HysteresisInput:
    run_id: int
    result: HysteresisResult

    @property
    def full_swing_uV(self) -> float:
        return abs(self.result.V_P_uV - self.result.V_AP_uV)

    @property
    def source(self) -> str:
        return f"hysteresis run {self.run_id}"


def find_hysteresis(store, sample: str, device: str, run_id: int = 0,
                    what: str = "") -> HysteresisInput | None:
    """The hysteresis run ``run_id`` (0: the latest finished one of ``sample`` on ``device``),
    analysed. None when ``run_id`` is 0 and there is none; ParameterError when ``run_id`` names
    a run that is not a usable hysteresis run, or ``store`` is None and a run was named."""
    if store is None:
        if run_id:
            raise ParameterError(f"{what}: hysteresis_run = {run_id} needs the run database "
                                 "(run with a store)")
        return None
    from dwlab.db.store import StoreError

    if run_id:
        try:
            record = store.get_run(run_id)
        except StoreError as exc:
            raise ParameterError(f"{what}: hysteresis_run = {run_id}: {exc}") from None
        if record.procedure != "hysteresis" or record.status != "finished":
            raise ParameterError(f"{what}: hysteresis_run = {run_id} is a {record.status} "
                                 f"{record.procedure} run; it must be a finished hysteresis run")
    else:
        candidates = [r.id for r in store.list_runs(procedure="hysteresis", sample=sample,
                                                    status="finished")]
        candidates = [i for i in candidates if store.get_run(i).device == device]
        if not candidates:
            return None
        run_id = candidates[-1]
    return HysteresisInput(run_id, _analyse(store, run_id, what))


def _analyse(store, run_id: int, what: str) -> HysteresisResult:
    from dwlab.api import stored_run

    procedure, df, device = stored_run(store, run_id)
    try:
        return procedure.analyze(df, device)
    except AnalysisError as exc:
        raise ParameterError(f"{what}: hysteresis run {run_id} gives no H_ex: {exc}") from None
