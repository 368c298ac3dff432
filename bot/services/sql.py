"""Portable SQL pieces for figures computed in the database (PostgreSQL and SQLite).

- ``epoch_ms(ts)``: a timestamp as milliseconds since 1970 (a float).
- ``percentiles(...)``: percentile_cont over groups using window functions and
  integer arithmetic only, so it runs the same on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import Float, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class epoch_ms(FunctionElement):
    """Milliseconds since the Unix epoch of a UTC timestamp column."""

    type = Float()
    inherit_cache = True
    name = "epoch_ms"


@compiles(epoch_ms)
def _epoch_ms_default(element, compiler, **kw):
    (arg,) = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM {compiler.process(arg, **kw)}) * 1000.0)"


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element, compiler, **kw):
    (arg,) = list(element.clauses)
    # julianday() of our stored 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text; 2440587.5 is 1970-01-01.
    return f"((julianday({compiler.process(arg, **kw)}) - 2440587.5) * 86400000.0)"


def elapsed_ms(later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    return epoch_ms(later) - epoch_ms(earlier)


@dataclass(frozen=True)
class PercentileSpec:
    label: str
    p: float


def percentile_columns(value: ColumnElement, group_by: list[ColumnElement], specs: list[PercentileSpec], where=None,
                       name: str = "percentiles"):
    """A subquery with ``group_by`` columns and one column per spec: the linear-interpolated
    percentile (PostgreSQL's percentile_cont) of ``value`` within each group.

    Rows where ``value`` is NULL are ignored. Position (0-based) of percentile p in a
    group of n sorted values is p * (n - 1); with p = a/b that is the integer
    quotient (a*(n-1)) // b plus the fraction ((a*(n-1)) % b) / b.
    """
    ordered = select(
        *group_by,
        value.label("v"),
        func.row_number().over(partition_by=group_by or None, order_by=value).label("rn"),
        func.count().over(partition_by=group_by or None).label("n"),
    )
    ordered = ordered.where(value.is_not(None))
    if where is not None:
        ordered = ordered.where(where)
    ranked = ordered.subquery(f"{name}_ranked")
    keys = [ranked.c[col.key] for col in group_by]
    columns = []
    for spec in specs:
        frac = Fraction(spec.p).limit_denominator(1000)
        num, den = frac.numerator, frac.denominator
        steps = literal(num) * (ranked.c.n - 1)
        lower_rn = steps // literal(den) + 1
        weight = (steps % literal(den)) * 1.0 / den
        v_lo = func.max(case((ranked.c.rn == lower_rn, ranked.c.v)))
        v_hi = func.max(case((ranked.c.rn == lower_rn + 1, ranked.c.v)))
        w = func.max(case((ranked.c.rn == lower_rn, weight)))
        columns.append((v_lo + w * (func.coalesce(v_hi, v_lo) - v_lo)).label(spec.label))
    return select(*keys, *columns).group_by(*keys).subquery(name)
