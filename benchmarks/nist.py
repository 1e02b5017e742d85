"""NIST StRD: the 27 certified nonlinear regression problems, both certified starts.

Run from the repository root::

    python -m benchmarks.nist [--solvers fastsplit-auto fastsplit-chunked scipy-trf scipy-lm nlsq]
        [--problems Misra1a Bennett5 ...] [--markdown]

Each case is fitted from NIST's start 1 (far) and start 2 (near); the table
gives, per solver, the number of correct significant digits (the log relative
error, LRE, of the worst parameter, at most 11) of the parameters and of their
standard errors, and the solver's verdict. A case is *solved* at 4 digits in the
parameters. A *silent wrong answer* is a success with fewer than 4 digits; a
*wrong refusal* is a failure with 4 or more. The data and certified values are
NIST's files, unchanged (``tests/data/nist``); the models are written here in
``jax.numpy`` from the formulas in those files (the tests use them too).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "nist"

SOLVED_DIGITS = 4.0
"""Correct significant digits in every parameter for a case to count as solved."""


def _models(xp: Any) -> dict[str, Callable[..., Any]]:
    """NIST's formulas, ``f(x, b) -> y``, for an array module ``xp`` (numpy or jax.numpy)."""
    pi = math.pi

    def rational(num: int) -> Callable[..., Any]:
        def f(x: Any, b: Any) -> Any:
            top = sum(b[i] * x**i for i in range(num))
            bottom = 1 + sum(b[num + i] * x ** (i + 1) for i in range(len(b) - num))
            return top / bottom

        return f

    def gauss(x: Any, b: Any) -> Any:
        return (
            b[0] * xp.exp(-b[1] * x)
            + b[2] * xp.exp(-((x - b[3]) ** 2) / b[4] ** 2)
            + b[5] * xp.exp(-((x - b[6]) ** 2) / b[7] ** 2)
        )

    def lanczos(x: Any, b: Any) -> Any:
        return b[0] * xp.exp(-b[1] * x) + b[2] * xp.exp(-b[3] * x) + b[4] * xp.exp(-b[5] * x)

    def chwirut(x: Any, b: Any) -> Any:
        return xp.exp(-b[0] * x) / (b[1] + b[2] * x)

    def misra1a(x: Any, b: Any) -> Any:
        return b[0] * (1 - xp.exp(-b[1] * x))

    return {
        "Bennett5": lambda x, b: b[0] * (b[1] + x) ** (-1 / b[2]),
        "BoxBOD": misra1a,
        "Chwirut1": chwirut,
        "Chwirut2": chwirut,
        "DanWood": lambda x, b: b[0] * x ** b[1],
        "ENSO": lambda x, b: (
            b[0]
            + b[1] * xp.cos(2 * pi * x / 12)
            + b[2] * xp.sin(2 * pi * x / 12)
            + b[4] * xp.cos(2 * pi * x / b[3])
            + b[5] * xp.sin(2 * pi * x / b[3])
            + b[7] * xp.cos(2 * pi * x / b[6])
            + b[8] * xp.sin(2 * pi * x / b[6])
        ),
        "Eckerle4": lambda x, b: (b[0] / b[1]) * xp.exp(-0.5 * ((x - b[2]) / b[1]) ** 2),
        "Gauss1": gauss,
        "Gauss2": gauss,
        "Gauss3": gauss,
        "Hahn1": rational(4),
        "Kirby2": rational(3),
        "Lanczos1": lanczos,
        "Lanczos2": lanczos,
        "Lanczos3": lanczos,
        "MGH09": lambda x, b: b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3]),
        "MGH10": lambda x, b: b[0] * xp.exp(b[1] / (x + b[2])),
        "MGH17": lambda x, b: b[0] + b[1] * xp.exp(-x * b[3]) + b[2] * xp.exp(-x * b[4]),
        "Misra1a": misra1a,
        "Misra1b": lambda x, b: b[0] * (1 - (1 + b[1] * x / 2) ** (-2)),
        "Misra1c": lambda x, b: b[0] * (1 - (1 + 2 * b[1] * x) ** (-0.5)),
        "Misra1d": lambda x, b: b[0] * b[1] * x * ((1 + b[1] * x) ** (-1)),
        # Nelson's response is log(y), with two predictors.
        "Nelson": lambda x, b: b[0] - b[1] * x[0] * xp.exp(-b[2] * x[1]),
        "Rat42": lambda x, b: b[0] / (1 + xp.exp(b[1] - b[2] * x)),
        "Rat43": lambda x, b: b[0] / ((1 + xp.exp(b[1] - b[2] * x)) ** (1 / b[3])),
        "Roszman1": lambda x, b: b[0] - b[1] * x - xp.arctan(b[2] / (x - b[3])) / pi,
        "Thurber": rational(4),
    }


@dataclass(frozen=True)
class Case:
    """One NIST problem: data, certified values, the two starts."""

    name: str
    x: np.ndarray | tuple[np.ndarray, np.ndarray]
    y: np.ndarray
    starts: tuple[np.ndarray, np.ndarray]
    certified: np.ndarray
    certified_sd: np.ndarray
    certified_rss: float

    @property
    def n_params(self) -> int:
        return int(self.certified.size)

    def names(self) -> list[str]:
        return [f"b{i + 1}" for i in range(self.n_params)]

    def function(self, xp: Any) -> Callable[..., Any]:
        """``f(x, b)`` of this problem for array module ``xp``."""
        return _models(xp)[self.name]


_NUMBER = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"


def load(name: str) -> Case:
    """Read ``tests/data/nist/<name>.dat`` as NIST writes it."""
    lines = (DATA / f"{name}.dat").read_text().splitlines()
    starts: list[list[float]] = [[], []]
    cert: list[float] = []
    sd: list[float] = []
    rss = math.nan
    data_at = None
    for i, line in enumerate(lines):
        m = re.match(rf"\s*b\d+\s*=\s*({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})", line)
        if m:
            s1, s2, c, e = (float(v) for v in m.groups())
            starts[0].append(s1)
            starts[1].append(s2)
            cert.append(c)
            sd.append(e)
        if line.strip().startswith("Residual Sum of Squares"):
            rss = float(line.split(":")[1])
        if line.startswith("Data:") and re.search(r"\by\b", line) and "Response" not in line:
            data_at = i + 1
    assert data_at is not None, f"{name}: no data header"
    table = np.array([[float(v) for v in ln.split()] for ln in lines[data_at:] if ln.strip()])
    y = table[:, 0]
    x: np.ndarray | tuple[np.ndarray, np.ndarray] = table[:, 1]
    if name == "Nelson":
        x, y = (table[:, 1], table[:, 2]), np.log(table[:, 0])
    return Case(
        name,
        x,
        y,
        (np.array(starts[0]), np.array(starts[1])),
        np.array(cert),
        np.array(sd),
        rss,
    )


def names() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.dat"))


def digits(estimate: np.ndarray, certified: np.ndarray) -> float:
    """Correct significant digits of the worst entry (NIST's LRE), in [0, 11]."""
    estimate = np.asarray(estimate, dtype=float)
    if estimate.shape != certified.shape or not np.all(np.isfinite(estimate)):
        return 0.0
    with np.errstate(divide="ignore"):
        lre = -np.log10(np.abs(estimate - certified) / np.abs(certified))
    return float(np.clip(lre, 0.0, 11.0).min())


@dataclass
class Outcome:
    solver: str
    case: str
    start: int
    success: bool
    digits: float
    sd_digits: float
    nfev: int
    seconds: float
    message: str

    @property
    def silent_wrong(self) -> bool:
        return self.success and self.digits < SOLVED_DIGITS

    @property
    def wrong_refusal(self) -> bool:
        return not self.success and self.digits >= SOLVED_DIGITS


def fastsplit_model(case: Case) -> Callable[..., Any]:
    """The case's model as ``fastsplit.fit`` takes it: ``model(x, *, b1, b2, ...)``."""
    import jax.numpy as jnp

    f = case.function(jnp)
    names_ = case.names()

    def model(x: Any, **params: Any) -> Any:
        return f(x, [params[n] for n in names_])

    return model


def run_fastsplit(case: Case, start: int, *, chunked: bool, **options: Any) -> Outcome:
    import fastsplit
    from fastsplit.errors import FitFailedError

    n = case.y.size
    p0 = dict(zip(case.names(), case.starts[start - 1].tolist(), strict=True))
    model = _MODELS.setdefault(case.name, fastsplit_model(case))
    kwargs: dict[str, Any] = {"strategy": "auto"}  # an ordinary fit: no groups
    if chunked:  # several chunks, the last one short
        kwargs.update(strategy="chunked", chunk_size=max(2, n // 3 + 1))
    kwargs.update(options)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fastsplit.fit(model, case.x, case.y, p0=p0, **kwargs)
        except FitFailedError as exc:
            r = exc.result  # type: ignore[attr-defined]
    seconds = time.perf_counter() - t0
    est = np.array([r.params[k] for k in case.names()])
    err = np.array([r.errors[k] for k in case.names()])
    message = r.message if r.success else "; ".join(r.check.problems)
    return Outcome(
        "fastsplit-" + ("chunked" if chunked else "auto"),
        case.name,
        start,
        bool(r.success),
        digits(est, case.certified),
        digits(err, case.certified_sd),
        int(r.nfev),
        seconds,
        message,
    )


_MODELS: dict[str, Callable[..., Any]] = {}


def run_scipy(case: Case, start: int, method: str) -> Outcome:
    import jax
    import jax.numpy as jnp
    from scipy.optimize import least_squares

    jax.config.update("jax_enable_x64", True)
    f = case.function(jnp)
    fun = jax.jit(lambda b: f(case.x, b) - case.y)
    jac = jax.jit(jax.jacfwd(lambda b: f(case.x, b) - case.y))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = least_squares(
            lambda b: np.asarray(fun(b)),
            case.starts[start - 1],
            jac=lambda b: np.asarray(jac(b)),
            method=method,
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=10000,
        )
    dof = case.y.size - case.n_params
    jtj = r.jac.T @ r.jac
    try:
        cov = np.linalg.inv(jtj) * (2 * r.cost / dof)
        sd = np.sqrt(np.diag(cov))
    except np.linalg.LinAlgError:
        sd = np.full(case.n_params, np.nan)
    return Outcome(
        f"scipy-{method}",
        case.name,
        start,
        bool(r.success),
        digits(r.x, case.certified),
        digits(sd, case.certified_sd),
        int(r.nfev),
        time.perf_counter() - t0,
        str(r.message),
    )


def run_nlsq(case: Case, start: int) -> Outcome:
    import jax.numpy as jnp
    import nlsq

    f = case.function(jnp)

    def model(x: Any, *b: Any) -> Any:
        return f(x, list(b))

    x = np.stack(case.x) if isinstance(case.x, tuple) else case.x
    if isinstance(case.x, tuple):

        def model(x: Any, *b: Any) -> Any:
            return f((x[0], x[1]), list(b))

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = nlsq.curve_fit(model, x, case.y, p0=case.starts[start - 1])
            popt, pcov = (out.popt, out.pcov) if hasattr(out, "popt") else (out[0], out[1])
            popt, pcov = np.asarray(popt), np.asarray(pcov)
            success = bool(getattr(out, "success", True))
            message = str(getattr(out, "message", "ok"))
        except Exception as exc:  # nlsq raises RuntimeError when it does not converge
            popt = np.full(case.n_params, np.nan)
            pcov = np.full((case.n_params,) * 2, np.nan)
            success, message = False, f"{type(exc).__name__}: {exc}"[:120]
    return Outcome(
        "nlsq",
        case.name,
        start,
        success,
        digits(np.asarray(popt), case.certified),
        digits(np.sqrt(np.diag(np.asarray(pcov))), case.certified_sd),
        0,
        time.perf_counter() - t0,
        message,
    )


SOLVERS: dict[str, Callable[[Case, int], Outcome]] = {
    "fastsplit-auto": lambda c, s: run_fastsplit(c, s, chunked=False),
    "fastsplit-chunked": lambda c, s: run_fastsplit(c, s, chunked=True),
    "scipy-trf": lambda c, s: run_scipy(c, s, "trf"),
    "scipy-lm": lambda c, s: run_scipy(c, s, "lm"),
    "nlsq": run_nlsq,
}


def summary(outcomes: list[Outcome]) -> str:
    solved = sum(o.digits >= SOLVED_DIGITS for o in outcomes)
    sd_ok = sum(o.digits >= SOLVED_DIGITS and o.sd_digits >= 2 for o in outcomes)
    silent = [f"{o.case}/{o.start}" for o in outcomes if o.silent_wrong]
    refused = [f"{o.case}/{o.start}" for o in outcomes if o.wrong_refusal]
    return (
        f"{solved}/{len(outcomes)} solved (4 digits), {sd_ok} with 2-digit errors; "
        f"silent wrong: {silent or 'none'}; wrong refusals: {refused or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    parser.add_argument("--problems", nargs="+", default=names())
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--verbose", action="store_true", help="print each failure's message")
    args = parser.parse_args(argv)
    results: dict[str, list[Outcome]] = {s: [] for s in args.solvers}
    for name in args.problems:
        case = load(name)
        for start in (1, 2):
            for solver in args.solvers:
                results[solver].append(SOLVERS[solver](case, start))
    if args.markdown:
        head = "| problem / start | " + " | ".join(args.solvers) + " |"
        print(head)
        print("|---" * (len(args.solvers) + 1) + "|")
    for i in range(len(results[args.solvers[0]])):
        row = [results[s][i] for s in args.solvers]
        label = f"{row[0].case}/{row[0].start}"
        cells = [
            f"{o.digits:4.1f} ({o.sd_digits:4.1f}) {'ok' if o.success else 'NO'}"
            + (" SILENT" if o.silent_wrong else "")
            + (" REFUSED" if o.wrong_refusal else "")
            for o in row
        ]
        if args.markdown:
            print(f"| {label} | " + " | ".join(cells) + " |")
        else:
            print(f"{label:12s} " + "  ".join(f"{c:24s}" for c in cells))
        if args.verbose:
            for o in row:
                if not o.success or o.digits < SOLVED_DIGITS:
                    print(f"    {o.solver}: nfev {o.nfev}: {o.message[:300]}")
    print()
    for solver in args.solvers:
        print(f"{solver:18s} {summary(results[solver])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
