"""Sample the device models at their defaults and compare with the published figures.

Used by ``hymem devices`` (table, JSON, plot) and by tb/test_devices.py (the tolerances of
issue 3). Every "model" number here is measured on sampled devices, through the same
functions the array model uses (FeCAP windows -> transfer line -> compliance -> memristor
SET -> read at 400 mV).
"""

from __future__ import annotations

import numpy as np

from . import devices as dv
from .. import published as pub
from ..digital.engine import Geometry
from .array import HybridArray

#: Devices sampled per memristor level and FeCAPs sampled for the window (the published
#: window statistics are over 16,384 devices).
N_DEVICES = pub.FECAP_POPULATION


def level_samples(rng: np.random.Generator, n: int = N_DEVICES,
                  memristor: dv.MemristorParams | None = None,
                  fecap: dv.FecapParams | None = None,
                  transfer: dv.TransferLineParams | None = None) -> np.ndarray:
    """Conductances read after a DAC-free transfer of each code magnitude 0..7: (8, n) uS.

    For every level: RESET, then (codes 1..7) a transfer whose V_TL comes from the switched
    charge of the 7 MSB FeCAP units holding the code (each unit a sampled FeCAP with its own
    window), then a read at 400 mV with read noise.
    """
    tp = transfer or dv.TransferLineParams()
    fe = dv.FecapBank((8, tp.total_units, n), fecap, rng)
    mr = dv.MemristorBank((8, n), memristor, rng, formed=True)
    codes = np.arange(8)[:, None]
    units = np.moveaxis(dv.code_units(np.broadcast_to(codes, (8, n)), tp.units), -1, 1)  # (8,U,n)
    fe.bits[...] = units
    holds1 = fe.bits ^ fe.read_flip
    t_sw = fe.switch_times_s(Ellipsis, tp.fecap_v)
    switched = holds1 & (t_sw <= tp.pulse_s)
    i_cc = dv.transfer_compliance_ua(np.moveaxis(switched, 1, -1),
                                     np.moveaxis(fe.window_v(), 1, -1), tp)   # (8, n)
    mr.reset(None)
    mr.set_compliance((slice(1, None), slice(None)), i_cc[1:])
    return mr.read_us(None)


def _energy_per_op(rng: np.random.Generator) -> dict[str, float]:
    """Energy per device operation measured on a small array's counters."""
    geom = Geometry(lines=16)
    a = HybridArray(geom, rng=rng, woken=True)
    L = geom.lines
    # FeCAP: one row read and one full write (ones), per cell
    bits = a.fe_read_row(0)
    a.fe_write_row(0, np.ones(L, dtype=bool))
    a.fe_write_row(0, bits)
    fe_read = a.fe.energy_j["read"] / a.fe.ops["read"]
    fe_write = a.fe.energy_j["write1"] / a.fe.ops["write1"]
    mr = a.mr
    pol = np.zeros(L, dtype=bool)
    a.mr_reset(0, pol)
    a.mr_code_set(0, pol, None, np.full(L, 4))
    a.mr_read(0, pol, width_ns=100.0, adc_ns=100.0)
    out = {
        "fecap_read": fe_read,
        "fecap_write": fe_write,
        "fecap_switch_physical": float(np.median(a.fe.params.switch_energy_j(a.fe.window_v()))),
        "memristor_reset": mr.energy_j["reset"] / mr.ops["reset"],
        "memristor_set": mr.energy_j["set"] / mr.ops["set"],
        "memristor_read_100ns_level4": mr.energy_j["read"] / mr.ops["read"],
    }
    pristine = HybridArray(geom, rng=rng, formed=False, woken=True)
    pristine.mr_form(0, pol)
    out["memristor_form_pulse"] = pristine.mr.energy_j["form"] / pristine.mr.ops["form"]
    return out


#: Published counterparts of energy_per_op_j (None: not published).
PUBLISHED_ENERGY_J = {
    "fecap_read": pub.ENERGY_FECAP_WRITE_J,
    "fecap_write": pub.ENERGY_FECAP_WRITE_J,
    "fecap_switch_physical": pub.FECAP_SWITCH_ENERGY_MAX_J,
    "memristor_reset": pub.ENERGY_MEMRISTOR_WRITE_J,
    "memristor_set": pub.ENERGY_MEMRISTOR_WRITE_J,
    "memristor_read_100ns_level4": None,
    "memristor_form_pulse": None,
}


def device_figures(seed: int = 1, n: int = N_DEVICES) -> dict:
    """The figures of ``hymem devices`` (keys as in its JSON), measured with ``seed``."""
    rng = np.random.default_rng(seed)
    g = level_samples(rng, n)
    means = g.mean(axis=1)
    sig = g.std(axis=1)
    # differential levels: code c>0 programs G+ at level c, G- stays RESET; c<0 the reverse
    reset = g[0]
    perm = rng.permutation(n)
    diff = {0: (g[0] - reset[perm]).mean()}
    for c in range(1, 8):
        d = (g[c] - reset[perm]).mean()
        diff[c], diff[-c] = d, -d
    fe = dv.FecapBank((pub.FECAP_POPULATION,), None, rng)
    w = fe.window_v()
    return {
        "seed": seed,
        "devices_per_level": n,
        "memristor_level_mean_us": [round(float(x), 3) for x in means],
        "memristor_level_sigma_us": [round(float(x), 3) for x in sig],
        "transfer_level_mean_us": [round(float(diff[c]), 3) for c in range(-7, 8)],
        "fecap_window_median_mv": round(float(np.median(w)) * 1e3, 2),
        "fecap_window_min_mv": round(float(w.min()) * 1e3, 2),
        "energy_per_op_j": {k: float(f"{v:.4g}") for k, v in _energy_per_op(rng).items()},
        "_samples": g,
        "_windows": w,
    }


def public(fig: dict) -> dict:
    """The JSON-able part of :func:`device_figures`."""
    return {k: v for k, v in fig.items() if not k.startswith("_")}


def format_table(fig: dict) -> str:
    lv = pub.MEMRISTOR_LEVEL_MEAN_US
    lines = [f"hymem device models at their defaults (seed {fig['seed']}, "
             f"{fig['devices_per_level']} devices per level)", "",
             "memristor levels after a DAC-free transfer (read at 400 mV)",
             f"{'code':>5} {'mean uS':>9} {'published':>10} {'sigma uS':>9} {'published':>10}"]
    for c in range(8):
        lines.append(f"{c:>5} {fig['memristor_level_mean_us'][c]:>9.2f} {lv[c]:>10.1f} "
                     f"{fig['memristor_level_sigma_us'][c]:>9.2f} "
                     f"{'':>10}")
    avg = float(np.mean(fig["memristor_level_sigma_us"]))
    lines.append(f"{'avg':>5} {'':>9} {'':>10} {avg:>9.2f} {pub.MEMRISTOR_LEVEL_SIGMA_US:>10.1f}")
    lines += ["", "differential transfer levels G+ - G- (15 codes; published: 15 distinct levels)",
              "  " + " ".join(f"{c:+d}:{v:.1f}" for c, v in zip(range(-7, 8),
                                                            fig["transfer_level_mean_us"]))]
    t = fig["transfer_level_mean_us"]
    mono = all(b > a for a, b in zip(t, t[1:]))
    lines.append(f"  monotonic and distinct: {'yes' if mono else 'NO'}")
    lines += ["", "FeCAP memory window over 16,384 devices (woken, nominal)",
              f"{'':>10} {'model mV':>9} {'published':>10}",
              f"{'median':>10} {fig['fecap_window_median_mv']:>9.1f} "
              f"{pub.FECAP_WINDOW_MEDIAN_V * 1e3:>10.0f}",
              f"{'worst':>10} {fig['fecap_window_min_mv']:>9.1f} "
              f"{pub.FECAP_WINDOW_WORST_V * 1e3:>10.0f}",
              "", "energy per device operation",
              f"{'operation':<30} {'model J':>10} {'published J':>12}"]
    for k, v in fig["energy_per_op_j"].items():
        p = PUBLISHED_ENERGY_J.get(k)
        ptxt = "-" if p is None else (f"<{p:.3g}" if k == "fecap_switch_physical" else f"{p:.3g}")
        lines.append(f"{k:<30} {v:>10.3g} {ptxt:>12}")
    return "\n".join(lines)


def plot(fig: dict, path, fmt: str | None = None) -> None:
    """Level distributions, differential levels and the FeCAP window histogram, saved to
    ``path`` (a file name or a binary file) in format ``fmt`` (default: from the name, else PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = fig["_samples"]
    f, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    bins = np.linspace(0, 140, 141)
    for c in range(8):
        ax[0].hist(g[c], bins=bins, histtype="step", label=f"code {c}")
        ax[0].axvline(pub.MEMRISTOR_LEVEL_MEAN_US[c], color="k", lw=0.5, ls=":")
    ax[0].set(xlabel="conductance (uS)", ylabel="devices",
              title="memristor levels after transfer (dotted: published means)")
    ax[0].legend(fontsize=7)
    codes = np.arange(-7, 8)
    ax[1].plot(codes, fig["transfer_level_mean_us"], "o-", label="model")
    lv = np.asarray(pub.MEMRISTOR_LEVEL_MEAN_US)
    pubd = np.sign(codes) * (lv[np.abs(codes)] - lv[0])
    ax[1].plot(codes, pubd, "k:", label="published level means")
    ax[1].set(xlabel="transfer code", ylabel="G+ - G- (uS)", title="15 differential levels")
    ax[1].legend()
    ax[2].hist(fig["_windows"] * 1e3, bins=80)
    ax[2].axvline(pub.FECAP_WINDOW_MEDIAN_V * 1e3, color="k", ls=":", label="published median")
    ax[2].axvline(pub.FECAP_WINDOW_WORST_V * 1e3, color="r", ls=":", label="published worst")
    ax[2].set(xlabel="memory window (mV)", ylabel="FeCAPs", title="FeCAP window, 16,384 devices")
    ax[2].legend()
    f.tight_layout()
    f.savefig(path, dpi=110, format=fmt)
    plt.close(f)
