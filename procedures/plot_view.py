"""How a procedure's points are best looked at live, declared by the procedure itself.

Each procedure class carries one ``PLOT_VIEW``; the GUI reads it and never keeps a list of
procedure names. Pure data (no Qt), so the declaration lives beside the procedure it describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Group:
    """One value of the colour column: its colour (any Qt/pyqtgraph colour) and legend name."""

    colour: str
    label: str


@dataclass(frozen=True)
class PlotView:
    """The live view of a procedure's points.

    ``x``, ``y``: the natural axes. ``colour_by``: a column whose value picks the curve colour
    and legend entry from ``groups`` (phases of a cycle, branches of a loop). ``overlay_by``:
    a column whose groups (cycles) can be overlaid, each against time from its own start
    (Fig 3e). ``levels``: analysis summary keys drawn as horizontal lines once known
    (V_rest/V_fire). ``label_by``: (group column, value column): each group's curve is labelled
    with its value, e.g. the return-velocity runs by their Hz. ``images``: the run stores Kerr
    images, shown beside the plot.
    """

    x: str = "t_s"
    y: str = "V_uV"
    colour_by: str | None = None
    groups: dict[float, Group] = field(default_factory=dict)
    overlay_by: str | None = None
    levels: tuple[str, ...] = ()
    label_by: tuple[str, str] | None = None
    images: bool = False

    def columns_needed(self) -> set[str]:
        """Columns this view reads (a procedure's COLUMNS must hold them)."""
        needed = {self.x, self.y} | {c for c in (self.colour_by, self.overlay_by) if c}
        return needed | set(self.label_by or ())


PHASES = {0: Group("#808080", "read only"), 1: Group("#d62728", "write + read, Hx, Hz on"),
          2: Group("#1f77b4", "reset (Hx on)")}
BRANCHES = {-1: Group("#1f77b4", "Hz down"), 1: Group("#d62728", "Hz up"),
            0: Group("#b0b0b0", "preparation")}
CYCLES = PlotView(colour_by="phase", groups=PHASES, overlay_by="cycle",
                  levels=("V_rest_uV", "V_fire_uV"))
LOOPS = PlotView(x="Hz_Oe", colour_by="branch", groups=BRANCHES)


@dataclass(frozen=True)
class FitOverlay:
    """An analysis result's fitted curve over the points it was fitted to, as a result offers
    it (``fit_overlay()``) for the Runs tab: each point with its label (e.g. its Hz), the fit
    drawn as a line. Pure data, picklable (it comes back from the analysis process)."""

    title: str
    x_label: str
    y_label: str
    points: tuple[tuple[float, float, str], ...]  # (x, y, label)
    fit_x: tuple[float, ...]
    fit_y: tuple[float, ...]
    fit_label: str
    log_y: bool = False
