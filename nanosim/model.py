"""The tilted-wall collective-coordinate model: a wall's position q, its in-plane magnetisation
angle phi and the tilt chi of its surface, under field, damping-like SOT, DMI and heat.

The equations follow from a Lagrangian with a Rayleigh dissipation function for a straight,
tilted Neel/Bloch profile (Boulle et al., PRL 111, 217203 (2013)); the SOT enters as the
damping-like effective field (pi/2) H_SL cos(phi), which acts like an easy-axis field
(Thiaville et al., EPL 100, 57002 (2012); Emori et al., Nat. Mater. 12, 611 (2013)). With
psi = phi - chi the angle of the wall moment to the wall normal and c = cos(chi):

    alpha c dq/dt / Delta - dphi/dt = gamma0 H_q
    dq/dt / Delta + (alpha / c) dphi/dt = -(gamma0 / c) Gamma
    H_q   = -H_z(q) + H_pin(q) + (pi/2) H_SL cos(phi) + h_q       (forward = +)
    Gamma = (pi/2) H_DMI sin(psi) + h_phi

so  dq/dt   = gamma0 Delta (alpha H_q - Gamma) / (c (1 + alpha^2))
    dphi/dt = -gamma0 (H_q + alpha Gamma) / (1 + alpha^2)

Sign convention (fixed here; the analytic limits in the tests decide it): the wall bounds a
-z domain behind it (the pinned region) and a +z domain ahead (the ROI's ground state under
+H_ex); forward motion grows the -z domain, so a +z field pushes it back and positive J on a
Neel wall (phi = 0) pushes it forward. The steady SOT state then has the forward cutoff
(pi/2) H_SL and the DMI-limited velocity (pi/2) gamma0 Delta H_DMI; a field alone gives
gamma0 Delta H / alpha below the Walker field (pi/2) alpha H_DMI.

The tilt: the wall energy per strip cross-section is sigma(psi) / cos(chi) with
sigma(psi) = 4 sqrt(A K_eff) - pi D cos(psi), and its drag is alpha Ms w^2 / (6 gamma_e Delta
c^3). In a 64 nm strip the tilt relaxes in under a picosecond, far faster than phi turns, so it
is advanced by a locally linearised exact (Ornstein-Uhlenbeck) step: relax toward the
equilibrium of the present phi, plus its thermal spread. This is how one fixed step integrates
the stiff tilt, the precessing phi and the wall, at 0 K and at 300 K.

Heat: Brown's thermal field on the wall volume 2 Delta w t / c, independent on q and phi (the
fluctuation-dissipation theorem gives these two coordinates equal variances), integrated with
the stochastic Heun scheme (Stratonovich, as for the LLG equation).

The wall stays in the strip: the ROI's far end is a hard stop, near which a forward pinning
field H_end_pin acts over the last pin_width (the one calibrated constant); at the ROI's start
the -1000 Oe region holds it. (A steep opposing field at the end would not do: in this model
any field above the Walker field makes a stopped wall precess, flip its chirality and bounce.) The kernels are compiled with numba: a wall needs ~10^6 steps of
1 ps for a slow precessional return, which numpy cannot do per step in reasonable time
(benchmarks/bench_nanosim.py measures both).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dwlab.nanosim.parameters import GAMMA0, K_B, MU0, Strip

# the material/geometry constants a kernel needs, in this order (see ``constants``)
_FIELDS = ("alpha", "delta", "half_pi_hdmi", "pi_d", "sigma0", "tilt_drag", "area", "Ms",
           "roi_start", "roi_end", "pin_start", "H_end_pin", "H_pinned", "sl_per_J")


def constants(strip: Strip) -> np.ndarray:
    """The strip as the flat float array the compiled kernels take."""
    delta = strip.delta
    gamma_e = GAMMA0 / MU0
    values = {
        "alpha": strip.alpha, "delta": delta, "half_pi_hdmi": np.pi / 2 * strip.H_DMI,
        "pi_d": np.pi * strip.D, "sigma0": strip.sigma0,
        "tilt_drag": strip.alpha * strip.Ms * strip.width**2 / (6 * gamma_e * delta),
        "area": strip.width * strip.thickness, "Ms": strip.Ms,
        "roi_start": strip.roi_start, "roi_end": strip.roi_end,
        "pin_start": strip.roi_end - strip.pin_width, "H_end_pin": strip.H_end_pin,
        "H_pinned": strip.H_pinned, "sl_per_J": strip.H_SL(1.0),
    }
    return np.array([values[f] for f in _FIELDS])


@njit(cache=True)
def _smooth_step(x, width):
    return 0.5 * (1.0 + math.tanh(x / width))


@njit(cache=True)
def _rates(c, q, phi, chi, H_ex, J, h_q, h_phi):
    """(dq/dt, dphi/dt) of one wall; c is ``constants(strip)``."""
    alpha, delta, half_pi_hdmi = c[0], c[1], c[2]
    H_z = c[12] + (H_ex - c[12]) * _smooth_step(q - c[8], delta)
    H_pin = c[11] * _smooth_step(q - c[10], delta / 2)
    H_q = -H_z + H_pin + 0.5 * math.pi * c[13] * J * math.cos(phi) + h_q
    gamma = half_pi_hdmi * math.sin(phi - chi) + h_phi
    norm = GAMMA0 / (1.0 + alpha * alpha)
    qdot = norm * delta * (alpha * H_q - gamma) / math.cos(chi)
    phidot = -norm * (H_q + alpha * gamma)
    return qdot, phidot


@njit(cache=True)
def _relax_tilt(c, phi, chi, dt, T):
    """chi after dt of its (much faster) linearised relaxation, with its thermal spread."""
    pi_d, sigma0, tilt_drag, area = c[3], c[4], c[5], c[6]
    psi = phi - chi
    sigma = sigma0 - pi_d * math.cos(psi)
    d_sigma = pi_d * math.sin(psi)
    dd_sigma = pi_d * math.cos(psi)
    cs, sn = math.cos(chi), math.sin(chi)
    g = sigma * sn / cs**2 - d_sigma / cs                      # dE/dchi per area
    g2 = -2 * d_sigma * sn / cs**2 + sigma * (1 + sn * sn) / cs**3 + dd_sigma / cs
    tau = tilt_drag / cs**3 / g2
    decay = math.exp(-dt / tau)
    chi = chi - (1.0 - decay) * g / g2
    if T > 0:
        chi += math.sqrt(K_B * T / (g2 * area) * (1.0 - decay * decay)) * np.random.standard_normal()
    return min(max(chi, -1.3), 1.3)


@njit(cache=True)
def _held_phi(c, phi, chi, dt):
    """phi after dt for a wall held at the strip's end: with q fixed only the phi equation
    remains, dphi/dt = -(gamma0 / alpha) (pi/2) H_DMI sin(psi), solved exactly
    (tan(psi/2) decays as exp(-k t)); its sub-picosecond rate is too stiff for the step."""
    k = GAMMA0 * c[2] / c[0]
    psi = math.atan2(math.sin(phi - chi), math.cos(phi - chi))
    return chi + 2.0 * math.atan(math.tan(0.5 * psi) * math.exp(-k * dt))


@njit(cache=True)
def _step(c, q, phi, chi, H_ex, J, dt, T):
    """One stochastic-Heun step of (q, phi), then the tilt; returns the new (q, phi, chi).

    The ROI's far end is a hard stop: a wall pressed against it stays (the stop supplies the
    reaction force) and only its angle relaxes; a wall pulled away leaves it freely.
    """
    h_q = h_phi = 0.0
    if T > 0:
        volume = 2 * c[1] * c[6] / math.cos(chi)
        sig = math.sqrt(2 * c[0] * K_B * T / (GAMMA0 * MU0 * c[7] * volume * dt))
        h_q = sig * np.random.standard_normal()
        h_phi = sig * np.random.standard_normal()
    k1q, k1p = _rates(c, q, phi, chi, H_ex, J, h_q, h_phi)
    if q >= c[9] and k1q >= 0.0:
        return c[9], _held_phi(c, phi, chi, dt), _relax_tilt(c, phi, chi, dt, T)
    k2q, k2p = _rates(c, min(q + dt * k1q, c[9]), phi + dt * k1p, chi, H_ex, J, h_q, h_phi)
    q = min(q + 0.5 * dt * (k1q + k2q), c[9])
    phi = phi + 0.5 * dt * (k1p + k2p)
    return q, phi, _relax_tilt(c, phi, chi, dt, T)


# ---- one integrate-then-reset cycle per lane (the H_ex scan, Fig 1d-f) -----------------------
# result columns of ``forward_and_back``
CYCLE_COLUMNS = ("t_fwd10", "t_fwd90", "t_reach", "chi_off", "phi_off", "max_frac",
                 "t_ret90", "t_ret10", "final_frac")


@njit(cache=True, parallel=True)
def forward_and_back(c, H_ex, J, T, seeds, dt, t_on_max, t_off_max, record_every, trace):
    """For each lane: SOT at J until the wall reaches the ROI's end (or t_on_max), then no
    current for up to t_off_max or until the wall is back within 10 % of the start.

    Returns an (n_lanes, len(CYCLE_COLUMNS)) array: crossing times in s from the start
    (NaN if never), the tilt and phi when the current went off, the furthest and the last ROI
    fraction. A wall that never reached the end is not followed further (nothing to reset).
    ``trace`` (n_lanes, n_samples, 3) receives (q, phi, chi) every ``record_every`` steps.
    """
    n = H_ex.shape[0]
    out = np.full((n, 9), np.nan)
    length = c[9] - c[8]
    n_on, n_off = int(t_on_max / dt), int(t_off_max / dt)
    for lane in prange(n):  # lanes are independent; each seeds its own thread's generator
        np.random.seed(seeds[lane])
        q, phi, chi = c[8], 0.0, 0.0
        max_frac, frac = 0.0, 0.0
        forward, i, last = True, 0, n_on
        while i < last:
            q, phi, chi = _step(c, q, phi, chi, H_ex[lane], J if forward else 0.0, dt, T)
            if i % record_every == 0 and i // record_every < trace.shape[1]:
                k = i // record_every
                trace[lane, k, 0], trace[lane, k, 1], trace[lane, k, 2] = q, phi, chi
            i += 1
            t = i * dt
            frac = (q - c[8]) / length
            max_frac = max(max_frac, frac)
            if forward:
                if math.isnan(out[lane, 0]) and frac >= 0.1:
                    out[lane, 0] = t
                if math.isnan(out[lane, 1]) and frac >= 0.9:
                    out[lane, 1] = t
                if frac >= 0.98:
                    out[lane, 2] = t
                if frac >= 0.98 or i == last:
                    out[lane, 3], out[lane, 4] = chi, phi
                    if math.isnan(out[lane, 2]):
                        break
                    forward, last = False, i + n_off
            else:
                if math.isnan(out[lane, 6]) and frac <= 0.9:
                    out[lane, 6] = t
                if frac <= 0.1:
                    out[lane, 7] = t
                    break
        out[lane, 5] = max_frac
        out[lane, 8] = frac
    return out


# ---- the LIF pulse sequence (Fig 1g) ----------------------------------------------------------
@njit(cache=True)
def pulse_sequence(c, H_ex, J, T, seed, dt, t_on, t_leak, t_reset, max_pulses, record_every,
                   trace):
    """Pulses of J for t_on separated by t_leak without current, until the wall reaches the
    ROI's end (it fires), then t_reset without current.

    ``trace`` (n_samples, 4) receives (t, q, phi, chi) every ``record_every`` steps (the
    analysis reads integration and leak per pulse from it). Returns (pulses applied,
    fired (1/0)).
    """
    np.random.seed(seed)
    length = c[9] - c[8]
    q, phi, chi = c[8], 0.0, 0.0
    n_on, n_leak, n_reset = int(t_on / dt), int(t_leak / dt), int(t_reset / dt)
    step = 0
    fired = 0
    pulses = 0
    for _ in range(max_pulses):
        pulses += 1
        for phase in range(2):
            current = J if phase == 0 else 0.0
            n = n_on if phase == 0 else n_leak
            for _ in range(n):
                q, phi, chi = _step(c, q, phi, chi, H_ex, current, dt, T)
                if step % record_every == 0 and step // record_every < trace.shape[0]:
                    k = step // record_every
                    trace[k, 0], trace[k, 1], trace[k, 2], trace[k, 3] = step * dt, q, phi, chi
                step += 1
                if (q - c[8]) / length >= 0.98:
                    fired = 1
                    break
            if fired:
                break
        if fired:
            break
    if fired:
        for _ in range(n_reset):
            q, phi, chi = _step(c, q, phi, chi, H_ex, 0.0, dt, T)
            if step % record_every == 0 and step // record_every < trace.shape[0]:
                k = step // record_every
                trace[k, 0], trace[k, 1], trace[k, 2], trace[k, 3] = step * dt, q, phi, chi
            step += 1
    return pulses, fired
