"""The options of a fit, written once: :class:`FitOptions`.

``fit``, its dry run ``choose_strategy``, the set-up they share and the nlsq
baseline all take the same keyword arguments. They are declared here, once,
as the fields of one frozen dataclass; each of those functions takes
``**options`` and turns them into a :class:`FitOptions` with
:meth:`FitOptions.of` (an unknown keyword is an error naming the close
matches), and its ``__signature__`` is built from the fields
(:func:`signature_with`), so ``help(fastsplit.fit)`` and
``inspect.signature`` show every keyword with its default.

Adding an option is one line here: a field with its default (and a line in
``fit``'s docstring). Its check goes where it is used: ``_inputs.resolve_options``
for the settings-like ones, ``_setup.set_up`` for the data-like ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import InvalidArgumentError, InvalidTypeError

__all__ = ["FitOptions", "signature_with"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FitOptions:
    """Every keyword argument of :func:`fastsplit.fit`, with its default.

    The fields are documented in :func:`fastsplit.fit`. The values are kept
    as the caller gave them; they are checked when a fit is set up.

    Examples
    --------
    >>> from fastsplit._fit._options import FitOptions
    >>> o = FitOptions.of({"p0": {"a": 1.0}, "chunk_size": 1000}, where="fit")
    >>> o.chunk_size, o.strategy, o.changed()
    (1000, 'auto', ['p0', 'chunk_size'])
    """

    groups: Any = None
    p0: Mapping[str, Any] | None = None
    per_group: Sequence[str] | str | None = ()
    fixed: Sequence[str] | str | None = ()
    sigma: Any = None
    bounds: Mapping[str, Any] | None = None
    chunk_size: int | None = None
    strategy: str = "auto"
    backend: str = "auto"
    config: Any = None
    on_failure: str | None = None
    max_nfev: int | None = None
    absolute_sigma: bool = False
    max_step_sigma: float = 1.0
    loss: str = "linear"
    f_scale: float = 1.0
    jac: str = "2-point"
    progress: Any = None
    errors: str = "model"
    clusters: Any = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def of(cls, keywords: Mapping[str, Any], *, where: str) -> FitOptions:
        """The options from ``keywords``; an unknown name is an error naming ``where``."""
        valid = cls.names()
        unknown = [name for name in keywords if name not in valid]
        if unknown:
            name = unknown[0]
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidTypeError(
                f"{where}() got an unexpected keyword argument {name!r}.{hint} Its keyword "
                f"arguments are {', '.join(valid)}."
            )
        return cls(**keywords)

    def changed(self) -> list[str]:
        """Names given a value other than the default (an array or mapping always counts)."""
        return [
            f.name
            for f in dataclasses.fields(self)
            if not _is_default(getattr(self, f.name), f.default)
        ]

    def require_p0(self) -> Mapping[str, Any]:
        """``p0``, which has no default."""
        if self.p0 is None:
            raise InvalidArgumentError(
                "p0 is required: give the starting value of every parameter by name, e.g. "
                "p0={'slope': 1.0, 'offset': 0.0} (fastsplit.curve_fit takes a list, as scipy)."
            )
        return self.p0


def _is_default(value: object, default: object) -> bool:
    if value is default:
        return True
    plain = (str, int, float, bool, tuple, type(None))
    return isinstance(value, plain) and bool(value == default)


def signature_with(*leading: str, only: Sequence[str] | None = None) -> Callable[[F], F]:
    """Decorate ``f(leading..., **options)`` with a signature that lists every option
    (or those in ``only``).

    The leading names are positional-or-keyword; each option is keyword-only,
    with the default of its :class:`FitOptions` field.
    """

    def decorate(function: F) -> F:
        params = [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in leading
        ]
        for f in dataclasses.fields(FitOptions):
            if only is not None and f.name not in only:
                continue
            default = inspect.Parameter.empty if f.name == "p0" else f.default
            kind = inspect.Parameter.KEYWORD_ONLY
            params.append(inspect.Parameter(f.name, kind, default=default))
        returns = inspect.signature(function).return_annotation
        function.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
        return function

    return decorate
