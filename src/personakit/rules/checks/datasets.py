"""The checks of :func:`~personakit.rules.validate.validate` that look at a whole dataset.

Part of :mod:`personakit.rules` (pure, no I/O): Interactions (training minimums, use
cases, the event-type budget, duplicate rows, diagnostics), Action interactions
(Next-Best-Action's minimums), Items/Users/Actions (repeated ids) and ids missing from
a catalogue. The minimums are those of
https://docs.aws.amazon.com/personalize/latest/dg/limits.html.

Duplicate rows are found on a second thread while the other Interactions checks run:
each row becomes one integer key, exact when the columns' ranges allow (integer or
encoded ids and integer timestamps usually do), else a 64-bit hash of all columns (two
different rows with the same hash, odds about n²/2⁶⁵, would then be counted as
duplicates); one sort of 32-bit digests of the keys finds the rows that may repeat,
and only those are compared by their full key. Interactions with exact keys are
settled first by the sort the repeat rate needs anyway (keys led by the user and the
item: :class:`_SortedKeys`); the digests are sorted only when that finds duplicates,
to name their rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from personakit.rules.arrow import is_string
from personakit.rules.checks.columns import (
    as_array,
    bincount,
    is_integer,
    is_numeric,
    is_string_list,
    is_temporal,
    one_array,
    seconds_range,
    take_values,
    to_bools,
    to_floats,
)
from personakit.rules.checks.run import Data, Run
from personakit.rules.facts import (
    EPOCH_UNITS,
    MIN_INTERACTIONS,
    MIN_USERS_WITH_TWO,
    MIN_USERS_WITH_TWO_SHARE,
)
from personakit.rules.plots import TIME_BINS
from personakit.rules.report import Histogram
from personakit.rules.schema import DatasetType

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from personakit.rules.checks.columns import BoolArray, CodeArray, FloatArray, IntArray

__all__ = [
    "check_action_events",
    "check_duplicate_ids",
    "check_duplicate_rows",
    "check_interactions",
    "check_known_ids",
]

#: An import job takes at least 1000 records; training needs at least 1% of the users
#: with 2 or more interactions besides the 25 of :data:`~personakit.rules.facts.MIN_USERS_WITH_TWO`
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
MIN_IMPORT_RECORDS = 1000
#: A domain use case needs 1000 events of its event type
#: (https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html).
MIN_USE_CASE_EVENTS = 1000
#: (optional metadata columns incl. EVENT_TYPE/EVENT_VALUE) + distinct event types
#: (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html).
MAX_METADATA_PLUS_EVENT_TYPES = 10
#: Next-Best-Action: per action, 50 TAKEN and 50 NOT_TAKEN/VIEWED within 6 weeks
#: (https://docs.aws.amazon.com/personalize/latest/dg/native-recipe-next-best-action.html).
NBA_MIN_PER_ACTION = 50
NBA_WINDOW_S = 42 * 86_400
#: Diagnostics that earn a warning.
MANY_SINGLE_USERS = 0.5
CONCENTRATED_TOP1PCT = 0.8

_ACTION_KINDS = ("TAKEN", "NOT_TAKEN", "VIEWED")
_DRIFT_TOP = 100
#: Above this many interactions, the repeat rate and the drift diagnostics are estimated
#: from about this many rows (a share of the users; every k-th row).
_SAMPLE_ROWS = 1_000_000
_HASH_KEY = 0x9E3779B97F4A7C15
#: Bits of the table that narrows the rows sharing a 32-bit digest (:func:`_repeats`).
_DIGEST_TABLE_BITS = 22
#: Fewer keys than this are sorted on one thread (a thread costs more than it saves).
_THREADED_SORT = 100_000


def _event_counts(data: Data) -> dict[str, int]:
    codes = data.codes("EVENT_TYPE")
    if codes is None:
        return {}
    return {
        str(v): int(c)
        for v, c in zip(codes.uniques.to_pylist(), codes.counts, strict=True)
        if c > 0
    }


def _near_misses(counts: Mapping[str, int], wanted: Sequence[str]) -> str | None:
    """A hint when the data has the wanted event types in another case."""
    lower = {w.lower() for w in wanted}
    near = {k: v for k, v in counts.items() if k.lower() in lower and k not in wanted}
    if not near:
        return None
    found = ", ".join(f"{k!r} ({v:,})" for k, v in near.items())
    return f"event types are compared exactly; the data has {found}: rename them"


def _training_mask(data: Data, run: Run) -> BoolArray | None:
    """Rows a solution trains on after its event-type and event-value filters
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html)."""
    import numpy as np

    mask: BoolArray | None = None
    if run.event_types is not None:
        codes = data.codes("EVENT_TYPE")
        if codes is None:
            run.add(
                "error",
                "filter-column-missing",
                "Interactions: event_types= filters on EVENT_TYPE, which the data does not have",
                column="EVENT_TYPE",
                fix="add an EVENT_TYPE column or drop event_types=",
            )
            mask = np.zeros(data.n, dtype=bool)
        else:
            wanted = set(run.event_types)
            mask = codes.rows(codes.flags(lambda v: v in wanted))
    if run.event_value_threshold is not None:
        col = data.col("EVENT_VALUE")
        values = data.floats("EVENT_VALUE") if col is not None and is_numeric(col.type) else None
        if values is None:
            run.add(
                "error",
                "filter-column-missing",
                "Interactions: event_value_threshold= filters on EVENT_VALUE, which the data "
                "does not have as numbers",
                column="EVENT_VALUE",
                fix="add a numeric EVENT_VALUE column or drop event_value_threshold=",
            )
            above = np.zeros(data.n, dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                above = values >= run.event_value_threshold
        mask = above if mask is None else mask & above
    return mask


def _filter_text(run: Run) -> str:
    parts = []
    if run.event_types is not None:
        parts.append(f"event types {', '.join(map(repr, run.event_types))}")
    if run.event_value_threshold is not None:
        parts.append(f"EVENT_VALUE >= {run.event_value_threshold:g}")
    return f" after filtering on {' and '.join(parts)}" if parts else ""


def _check_minimums(data: Data, run: Run) -> None:
    """1000 interactions per import job and for training; 25 users and 1% with 2+
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html)."""

    n = data.n
    if n < MIN_IMPORT_RECORDS:
        run.add(
            "error",
            "min-import-records",
            f"Interactions: {n:,} records; an import job needs at least {MIN_IMPORT_RECORDS:,}",
            count=n,
            fix=f"import at least {MIN_IMPORT_RECORDS} interactions in one job",
        )
    mask = _training_mask(data, run)
    n_train = n if mask is None else int(mask.sum())
    run.stats["n_training_interactions"] = float(n_train)
    filtered = _filter_text(run)
    if n_train < MIN_INTERACTIONS:
        hint = _near_misses(_event_counts(data), run.event_types or ())
        run.add(
            "error",
            "min-interactions",
            f"Interactions: {n_train:,} interactions{filtered}; training needs at least "
            f"{MIN_INTERACTIONS:,}",
            column=data.column_of("EVENT_TYPE") if run.event_types else None,
            count=n_train,
            fix=hint or "collect more interactions, or widen the event-type/value filter",
        )
    users = data.codes("USER_ID")
    if users is None:
        return
    if mask is None:
        per_user = users.counts
    else:
        codes = users.codes[mask]
        per_user = bincount(codes, len(users.uniques))
    n_users = int((per_user > 0).sum())
    two = int((per_user >= 2).sum())
    run.stats["users_with_2plus_interactions"] = float(two)
    if two < MIN_USERS_WITH_TWO:
        run.add(
            "error",
            "min-users",
            f"Interactions: {two:,} users have 2 or more interactions{filtered}; training "
            f"needs at least {MIN_USERS_WITH_TWO}",
            column=data.column_of("USER_ID"),
            count=two,
            fix="collect more interactions per user",
        )
    if n_users and two < MIN_USERS_WITH_TWO_SHARE * n_users:
        run.add(
            "error",
            "min-users-share",
            f"Interactions: {two:,} of {n_users:,} users ({two / n_users:.2%}) have 2 or more "
            f"interactions{filtered}; training needs at least {MIN_USERS_WITH_TWO_SHARE:.0%}",
            column=data.column_of("USER_ID"),
            count=two,
            fix="drop users with a single interaction, or collect more",
        )


def _check_use_cases(data: Data, run: Run) -> None:
    """1000 events of each use case's event type
    (https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html,
    https://docs.aws.amazon.com/personalize/latest/dg/VIDEO_ON_DEMAND-use-cases.html)."""
    counts = _event_counts(data)
    for case in run.use_cases:
        if case.events is None:
            found, what = data.n, "events"
        else:
            found, what = counts.get(case.events, 0), f"{case.events!r} events"
        if found >= MIN_USE_CASE_EVENTS:
            continue
        hint = _near_misses(counts, [case.events]) if case.events else None
        run.add(
            "error",
            "use-case-minimum",
            f"Interactions: {case.name} ({case.recipe}) needs at least "
            f"{MIN_USE_CASE_EVENTS:,} {what}; found {found:,}",
            column=data.column_of("EVENT_TYPE") if case.events else None,
            count=found,
            fix=hint or "collect more events of that type",
        )


def _check_event_type_budget(data: Data, run: Run) -> None:
    """(optional metadata columns incl. EVENT_TYPE/EVENT_VALUE) + event types <= 10
    (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html)."""
    schema = data.schema
    optional = len(schema.metadata_fields) + sum(n in schema for n in ("EVENT_TYPE", "EVENT_VALUE"))
    n_types = len(_event_counts(data))
    if "EVENT_TYPE" in schema:
        run.stats["n_event_types"] = float(n_types)
    if optional + n_types > MAX_METADATA_PLUS_EVENT_TYPES:
        run.add(
            "error",
            "metadata-event-types",
            f"Interactions: {optional} optional metadata columns (EVENT_TYPE and EVENT_VALUE "
            f"included) plus {n_types} distinct event types make {optional + n_types}; "
            f"Personalize allows {MAX_METADATA_PLUS_EVENT_TYPES}",
            column=data.column_of("EVENT_TYPE"),
            count=optional + n_types,
            fix="merge rare event types, or drop metadata columns",
        )


def _user_sample(data: Data) -> IntArray | None:
    """Above :data:`_SAMPLE_ROWS` rows, the rows of every k-th user (k = ⌈n /
    _SAMPLE_ROWS⌉), in order; ``None`` below it or without a ``USER_ID``. Computed once
    per run: the duplicate scan and the repeat-rate estimate read the same rows."""
    import numpy as np

    step = math.ceil(data.n / _SAMPLE_ROWS)
    users = data.codes("USER_ID") if step > 1 else None
    if users is None:
        return None

    def rows() -> IntArray:
        chosen = np.zeros(len(users.uniques) + 1, dtype=bool)  # last slot: code -1 (null)
        chosen[np.flatnonzero(users.counts)[::step]] = True
        return np.flatnonzero(chosen[users.codes])

    return data.once("user-sample", rows)


def _hash_parts(data: Data, skip: Sequence[str] = ()) -> list[npt.NDArray[Any]]:
    """Each schema column (but the fields ``skip``) as integers for hashing (zero-copy
    where Arrow allows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    parts: list[npt.NDArray[Any]] = []
    for f in data.schema.fields:
        col = data.col(f.name)
        if col is None or f.name in skip:
            continue
        arr, t = one_array(col), col.type
        if is_temporal(t):
            arr = arr.view(pa.int32() if pat.is_date32(t) else pa.int64())
        if pat.is_integer(arr.type) or pat.is_boolean(arr.type):
            if arr.null_count or pat.is_boolean(arr.type):
                filled = pc.fill_null(pc.cast(arr, pa.int64()), pa.scalar(-(2**62) - 7))
                arr = as_array(filled)
            parts.append(np.asarray(arr.to_numpy(zero_copy_only=False)))
        elif pat.is_floating(t) or pat.is_decimal(t):
            parts.append(to_floats(col).view(np.int64))
        elif is_string(t) or is_string_list(t):
            codes = data.codes(f.name)
            if codes is not None:
                parts.append(codes.codes)
        # other types cannot be written anyway (type-mismatch)
    return parts


class _RowKeys:
    """Each row as one 64-bit key, computed for any block or set of rows on demand (the
    keys of every row are never held at once).

    Exact (no hash) when the columns' ranges multiply to less than 2**63:
    ``(a - min_a) * span_b + (b - min_b)`` and so on. Interactions of integer or encoded
    ids and integer timestamps usually fit: 100,000 users x 200,000 items x 3 years of
    seconds is about 2**61. Otherwise a 64-bit hash of the row's values.
    """

    def __init__(self, parts: Sequence[npt.NDArray[Any]]) -> None:
        self.parts = parts
        #: per part, (min, span) of the exact encoding; None: hashed
        self.ranges: list[tuple[int, int]] | None = []
        total = 1
        for part in parts:
            lo, hi = (int(part.min()), int(part.max())) if len(part) else (0, 0)
            total *= hi - lo + 1
            if total >= 2**63 or hi >= 2**63:
                self.ranges = None
                break
            self.ranges.append((lo, hi - lo + 1))

    def of(self, rows: slice | npt.NDArray[np.intp]) -> npt.NDArray[np.uint64]:
        """The keys of ``rows`` (a slice or positions)."""
        import numpy as np

        if self.ranges is not None:
            key = None
            for part, (lo, span) in zip(self.parts, self.ranges, strict=True):
                # int64 arithmetic: part - lo is in 0..span-1 (uint64 parts stay below 2**63)
                shifted = np.subtract(part[rows], lo, dtype=np.int64, casting="unsafe")
                if key is None:
                    key = shifted
                else:
                    key *= span
                    key += shifted
            assert key is not None  # parts is never empty
            out: npt.NDArray[np.uint64] = key.view(np.uint64)
            return out
        mix, shift = np.uint64(_HASH_KEY), np.uint64(29)
        h: npt.NDArray[np.uint64] | None = None
        for part in self.parts:
            values = part[rows].astype(np.int64, copy=False).view(np.uint64)
            with np.errstate(over="ignore"):
                h = values.copy() if h is None else h ^ values
                h *= mix
                h ^= h >> shift
        assert h is not None
        return h

    def digests(self, n: int) -> npt.NDArray[np.uint32]:
        """A 32-bit digest of every row's key (a multiplicative hash: the top bits of
        key times an odd constant), a block of rows at a time."""
        import numpy as np

        out = np.empty(n, dtype=np.uint32)
        block = 1 << 18
        with np.errstate(over="ignore"):
            for start in range(0, n, block):
                mixed = self.of(slice(start, start + block)) * np.uint64(_HASH_KEY)
                mixed >>= np.uint64(32)
                out[start : start + block] = mixed
        return out


def _repeats(keys: _RowKeys, n: int) -> tuple[int, list[int]]:
    """How many rows repeat an earlier row's key, and the first five such rows.

    One sort of 32-bit digests of the keys (cheaper than sorting the keys, half the
    memory): rows whose digests all differ have different keys, which settles most
    frames; otherwise only the rows sharing a digest are compared by their whole key.
    """
    import numpy as np

    digests = keys.digests(n)
    digests.sort()  # in place: the row order is rebuilt below only if digests repeat
    same = digests[1:] == digests[:-1]
    if not same.any():
        return 0, []
    shared = np.unique(digests[1:][same])
    del same, digests
    # the rows holding a shared digest: a 4 MB table of the digests' top bits narrows
    # them to a few (cheaper than a hash lookup per row), then an exact test
    digests = keys.digests(n)
    shift = np.uint32(32 - _DIGEST_TABLE_BITS)
    table = np.zeros(1 << _DIGEST_TABLE_BITS, dtype=bool)
    table[shared >> shift] = True
    block = 1 << 18
    near = np.concatenate(
        [
            start + np.flatnonzero(table[digests[start : start + block] >> shift])
            for start in range(0, n, block)
        ]
    )
    candidates = near[np.isin(digests[near], shared)]
    del digests
    # np.unique's return_index gives each key's first row (a stable sort): later rows repeat it
    _, first = np.unique(keys.of(candidates), return_index=True)
    later = np.ones(len(candidates), dtype=bool)
    later[first] = False
    repeats = candidates[later]
    return len(repeats), [int(r) for r in repeats[:5]]


class _SortedKeys:
    """Interactions rows as exact keys (:class:`_RowKeys`), sorted, with the codes of
    USER_ID and ITEM_ID as their two leading parts: ``keys // per_pair`` is then each
    row's (user, item) pair, sorted too. One sort answers both the duplicate rows
    (equal neighbours) and the repeat rate (equal neighbouring pairs)."""

    __slots__ = ("keys", "per_pair", "ranges")

    def __init__(self, keys: npt.NDArray[np.uint64], ranges: list[tuple[int, int]]) -> None:
        self.keys, self.ranges = keys, ranges
        self.per_pair = math.prod(span for _, span in ranges[2:])

    @classmethod
    def of(cls, data: Data) -> _SortedKeys | None:
        """The rows :func:`_user_sample` picks (all rows below it), once per run;
        ``None`` without USER_ID and ITEM_ID, or when the key cannot be exact."""
        users, items = data.codes("USER_ID"), data.codes("ITEM_ID")
        if users is None or items is None:
            return None

        def compute() -> _SortedKeys | None:
            import numpy as np

            parts = [users.codes, items.codes, *_hash_parts(data, ("USER_ID", "ITEM_ID"))]
            sample = _user_sample(data)
            if sample is not None:
                parts = [part[sample] for part in parts]
            row_keys = _RowKeys(parts)
            if row_keys.ranges is None:
                return None
            # cut between the users below and above the median row (codes count up
            # from the lowest, -1 for null): halves of about the same size to sort
            (user_lo, _), rest = row_keys.ranges[0], row_keys.ranges[1:]
            rows_to = np.cumsum(np.concatenate([[users.nulls], users.counts]))
            middle = int(np.searchsorted(rows_to, rows_to[-1] // 2)) - 1  # a code
            cut = (middle - user_lo) * math.prod(span for _, span in rest)
            return cls(_sorted_in_halves(row_keys.of(slice(None)), max(cut, 0)), row_keys.ranges)

        return data.once("sorted-keys", compute)

    def pairs(self) -> npt.NDArray[np.uint64]:
        """The sorted (user, item) pairs of the rows whose user and item are not null."""
        import numpy as np

        pairs = self.keys // np.uint64(self.per_pair)
        (user_lo, _), (item_lo, item_span) = self.ranges[:2]
        if user_lo < 0 or item_lo < 0:  # a code -1: null
            user, item = np.divmod(pairs, np.uint64(item_span))
            pairs = pairs[
                (user.astype(np.int64) + user_lo >= 0) & (item.astype(np.int64) + item_lo >= 0)
            ]
        return pairs


def _sorted_in_halves(keys: npt.NDArray[np.uint64], cut: int) -> npt.NDArray[np.uint64]:
    """``keys`` sorted, the keys below ``cut`` and the others each on a thread of its
    own (numpy releases the GIL while sorting): the sort is most of validate's work."""
    import numpy as np

    if len(keys) < _THREADED_SORT:
        return np.sort(keys)
    below = keys < np.uint64(cut)
    n_below = int(below.sum())
    out = np.empty_like(keys)
    out[:n_below] = keys[below]
    out[n_below:] = keys[~below]
    del below
    with ThreadPoolExecutor(1, thread_name_prefix="personakit-validate") as pool:
        upper = pool.submit(out[n_below:].sort)
        out[:n_below].sort()
        upper.result()
    return out


def _equal_neighbours(values: npt.NDArray[Any]) -> int:
    """How many of sorted ``values`` equal the one before them."""
    return int((values[1:] == values[:-1]).sum())


def check_duplicate_rows(data: Data, run: Run) -> None:
    """Rows that repeat an earlier row exactly (each copy counts as another event)."""
    stat = f"{_stat_prefix(data)}duplicate_rows"
    run.stats[stat] = 0.0
    if data.n < 2:
        return
    if data.dtype is DatasetType.INTERACTIONS:
        # most data has no duplicate: the sort the repeat rate needs anyway settles it
        # (the rows to show are then looked for only when there are some)
        ordered = _SortedKeys.of(data)
        if ordered is not None and not _equal_neighbours(ordered.keys):
            return
    parts = _hash_parts(data)
    if not parts:
        return
    sample = _user_sample(data)
    if sample is None:
        count, rows = _repeats(_RowKeys(parts), data.n)
        found = f"{count:,} rows repeat"
    else:
        # a diagnostic, not a rule: every row of a fixed share of the users, whose copies
        # are all in the sample or all out of it, so the scaled count is unbiased
        seen, rows = _repeats(_RowKeys([part[sample] for part in parts]), len(sample))
        rows = [int(sample[r]) for r in rows]
        count = round(seen * data.n / len(sample))
        found = (
            f"about {count:,} rows (estimated from all the rows of 1 in "
            f"{math.ceil(data.n / _SAMPLE_ROWS)} users) repeat"
        )
    run.stats[stat] = float(count)
    if not count:
        return
    run.add(
        "warning",
        "duplicate-rows",
        f"{data.dtype.value}: {found} an earlier row exactly; each copy counts "
        "as another interaction",
        count=count,
        rows=rows,
        values=[_row_values(data, r) for r in rows],
        fix="drop them: df.drop_duplicates()",
    )


def _row_values(data: Data, row: int) -> tuple[object, ...]:
    return tuple(data.table.slice(row, 1).to_pylist()[0].values())


def _stat_prefix(data: Data) -> str:
    return "action_" if data.dtype is DatasetType.ACTION_INTERACTIONS else ""


def _gini(sorted_counts: IntArray) -> float:
    """Gini coefficient of non-negative counts sorted ascending (0 = even, 1 = one item)."""
    import numpy as np

    n = len(sorted_counts)
    total = float(sorted_counts.sum())
    if n < 2 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * float((ranks * sorted_counts).sum()) / (n * total) - (n + 1) / n)


def _scale_step(n: int) -> int:
    """The stride of the ~100,000 rows :func:`_seconds_scale` reads."""
    return max(1, n // 100_000)


def _seconds_scale(sample: FloatArray) -> float:
    """1 for epoch seconds; 1e3/1e6/1e9 when the median looks like ms/us/ns.

    ``sample``: every :func:`_scale_step`-th value of the column.
    """
    import numpy as np

    sample = sample[np.isfinite(sample)]
    if not len(sample):
        return 1.0
    median = float(np.median(sample))
    for _, _, low, factor in EPOCH_UNITS:
        if median > low:
            return factor
    return 1.0


def _top(codes: CodeArray, n_values: int, k: int) -> set[int]:
    import numpy as np

    counts = bincount(codes, n_values)
    present = np.flatnonzero(counts)
    if len(present) > k:
        present = present[np.argsort(-counts[present], kind="stable")[:k]]
    return {int(i) for i in present}


#: Bins of the histograms a report keeps (:attr:`DataReport.histograms`), at most.
_HISTOGRAM_BINS = 40
_TIME_BINS_MAX = 150


def _log_edges(top: int) -> IntArray:
    """Whole-number edges from 1 to ``top + 1``, logarithmically spaced."""
    import numpy as np

    edges = np.round(np.geomspace(1, top + 1, _HISTOGRAM_BINS + 1)).astype(np.int64)
    return np.unique(edges)


def _binned(
    values: npt.NDArray[Any],
    edges: npt.NDArray[Any],
    *,
    uniform: bool = False,
    whole: bool = False,
) -> IntArray:
    """``np.histogram(values, bins=edges)[0]`` without sorting the values.

    np.histogram sorts the data when given edges (a second for 10M values); locating
    each value among the few edges gives the same counts: bins ``[a, b)``, the last one
    ``[a, b]``, values outside left out. With ``uniform`` (edges evenly spaced), a
    value's bin is computed by division, then moved by one where rounding put it
    beside its edges. With ``whole`` too (values and edges whole numbers below 2**53),
    the division is exact: ``floor((v - a) / w)`` of whole numbers is ``(v - a) // w``.
    """
    import numpy as np

    bins = len(edges) - 1
    width = (float(edges[-1]) - float(edges[0])) / max(bins, 1)
    if uniform and whole and bins > 0 and width.is_integer():
        where = np.floor((values - edges[0]) / width).astype(np.int64)
    elif uniform and bins > 0:
        where = np.floor((values - edges[0]) / width)
        np.clip(where, -1, bins, out=where)
        where = where.astype(np.int64)
        inner = np.clip(where, 0, bins - 1)
        where -= (where == inner) & (values < edges[inner])
        where += (where == inner) & (values >= edges[inner + 1])
    else:
        where = np.searchsorted(edges, values, side="right") - 1
    where[values == edges[-1]] = bins - 1
    inside = (where >= 0) & (where < bins)
    return np.bincount(where[inside], minlength=bins)[:bins]


def _popularity_histogram(popularity: IntArray) -> Histogram:
    """Interactions of the items by popularity rank (``popularity`` sorted ascending)."""
    import numpy as np

    edges = _log_edges(len(popularity))
    total = np.concatenate(([0.0], np.cumsum(popularity[::-1], dtype=np.float64)))
    return Histogram(edges.tolist(), (total[edges[1:] - 1] - total[edges[:-1] - 1]).tolist())


def _per_user_histogram(per_user: IntArray) -> Histogram:
    edges = _log_edges(int(per_user.max()))
    return Histogram(edges.tolist(), _binned(per_user, edges).tolist())


def _time_histogram(
    seconds: FloatArray, first: float, last: float, weight: int, *, whole: bool = False
) -> Histogram:
    """Interactions per hour, day, ... (the finest of at most 150 bins); ``seconds`` is
    every ``weight``-th row's time, so each counts ``weight`` times (``whole``: all
    whole numbers)."""
    import numpy as np

    width = next((w for w, _ in TIME_BINS if (last - first) / w <= _TIME_BINS_MAX), 0.0)
    width = width or TIME_BINS[-1][0]
    start = math.floor(first / width) * width
    n = math.floor((last - start) / width) + 1
    edges = start + width * np.arange(n + 1, dtype=np.float64)
    counts = _binned(seconds, edges, uniform=True, whole=whole) * weight
    return Histogram(edges.tolist(), counts.tolist())


def _user_stats(data: Data, run: Run) -> None:
    """The counts of users and items and the diagnostics of the users (all documented
    in docs/validation.md), with a warning when most users have one interaction."""
    import numpy as np

    stats = run.stats
    users, items = data.codes("USER_ID"), data.codes("ITEM_ID")
    if users is None or items is None:
        return
    per_user = users.counts[users.counts > 0]
    stats["n_users"] = float(len(per_user))
    stats["n_items"] = float(int((items.counts > 0).sum()))
    if len(per_user):
        stats["interactions_per_user_median"] = float(np.median(per_user))
        stats["interactions_per_user_mean"] = float(per_user.mean())
        run.histograms["interactions_per_user"] = _per_user_histogram(per_user)
        singles = int((per_user == 1).sum())
        share = singles / len(per_user)
        stats["single_interaction_user_share"] = share
        if share > MANY_SINGLE_USERS:
            run.add(
                "warning",
                "single-interaction-users",
                f"Interactions: {share:.0%} of users have a single interaction; models learn "
                "little from them",
                column=data.column_of("USER_ID"),
                count=singles,
                fix="check USER_ID is a stable id (not a session id), or collect more history",
            )


def _item_stats(data: Data, run: Run) -> None:
    """The diagnostics of the items' popularity, with a warning when it is concentrated."""
    import numpy as np

    items = data.codes("ITEM_ID")
    if items is None or data.codes("USER_ID") is None:
        return
    stats = run.stats
    popularity = np.sort(items.counts[items.counts > 0])
    if len(popularity):
        k = max(1, math.ceil(0.01 * len(popularity)))
        top = float(popularity[-k:].sum()) / float(popularity.sum())
        stats["popularity_top1pct_share"] = top
        stats["item_popularity_gini"] = _gini(popularity)
        run.histograms["item_popularity"] = _popularity_histogram(popularity)
        if top >= CONCENTRATED_TOP1PCT and len(popularity) >= 100:
            run.add(
                "warning",
                "popularity-concentrated",
                f"Interactions: the top 1% of items ({k:,}) have {top:.0%} of the interactions; "
                "recommendations will mostly be those items",
                column=data.column_of("ITEM_ID"),
                count=k,
                fix="look for bots or placeholder items; consider dropping them",
            )


def _repeat_rate(data: Data, run: Run) -> None:
    """The share of (user, item) pairs seen more than once.

    A diagnostic, not a rule: above :data:`_SAMPLE_ROWS` rows, estimated from every
    interaction of a fixed share of the users (:func:`_user_sample`; all of their
    pairs, so the estimate is unbiased), which saves a 10M-row sort.
    """
    import numpy as np

    users, items = data.codes("USER_ID"), data.codes("ITEM_ID")
    if users is None or items is None:
        return
    ordered = _SortedKeys.of(data)
    if ordered is not None:
        pairs = ordered.pairs()
    else:  # keys too wide to be exact: sort the pairs on their own
        sample = _user_sample(data)
        user_codes = users.codes if sample is None else users.codes[sample]
        item_codes = items.codes if sample is None else items.codes[sample]
        rows = np.flatnonzero((user_codes >= 0) & (item_codes >= 0))
        pairs = user_codes[rows].astype(np.uint64)
        pairs *= np.uint64(max(1, len(items.uniques)))
        pairs += item_codes[rows].astype(np.uint64)
        pairs.sort()
    if len(pairs):
        same = pairs[1:] == pairs[:-1]  # runs of equal pairs: repeated (user, item)
        repeated = int(same[:1].sum()) + int((same[1:] & ~same[:-1]).sum())
        run.stats["repeat_interaction_rate"] = repeated / (len(pairs) - int(same.sum()))


def _time_stats(data: Data, run: Run) -> None:
    """The time span, its histogram and the drift of the most popular items."""
    import numpy as np

    stats = run.stats
    items = data.codes("ITEM_ID")
    col = data.col("TIMESTAMP")
    if items is None or col is None or not (is_numeric(col.type) or is_temporal(col.type)):
        return
    step = math.ceil(data.n / _SAMPLE_ROWS)
    ends = seconds_range(col)
    if ends is not None and ends[0] > 0:
        # every value is a positive whole number (or null): the extremes are the range,
        # and only the rows the drift estimate reads are converted
        scale = 1.0
        if not is_temporal(col.type):
            scale = _seconds_scale(to_floats(col, _scale_step(data.n)))
        first, last = ends[0] / scale, ends[1] / scale
        seconds = to_floats(col, step) / scale
        ok = np.isfinite(seconds)  # nulls are NaN
        whole = scale == 1.0 and is_integer(col.type) and last < 2**53
    else:
        whole = False
        seconds = to_floats(col)
        if not is_temporal(col.type):
            seconds = seconds / _seconds_scale(seconds[:: _scale_step(len(seconds))])
        ok = np.isfinite(seconds) & (seconds > 0)
        if not ok.any():
            return
        first = float(np.min(seconds, where=ok, initial=math.inf))
        last = float(np.max(seconds, where=ok, initial=-math.inf))
        seconds, ok = seconds[::step], ok[::step]
    span = last - first
    stats["first_timestamp"] = first
    stats["last_timestamp"] = last
    stats["time_span_days"] = span / 86_400
    if span > 0:
        run.histograms["interactions_over_time"] = _time_histogram(
            seconds[ok], first, last, step, whole=whole
        )
        codes = items.codes[::step]
        early = _top(codes[ok & (seconds < first + span / 4)], len(items.uniques), _DRIFT_TOP)
        late = _top(codes[ok & (seconds >= last - span / 4)], len(items.uniques), _DRIFT_TOP)
        if early and late:
            stats["top100_jaccard_first_last_quarter"] = len(early & late) / len(early | late)


def _second_thread(data: Data, duplicates: Run, repeats: Run) -> None:
    """The second thread of :func:`check_interactions`: duplicate rows, the repeat rate."""
    import pyarrow as pa

    # ITEM_ID is encoded here while the first thread encodes USER_ID for the minimums;
    # an error is left for the diagnostics, which encode it again, to report
    with suppress(pa.ArrowException):
        data.codes("ITEM_ID")
    duplicates.guard(data, "duplicate rows", partial(check_duplicate_rows, data, duplicates))
    repeats.guard(data, "diagnostics", partial(_repeat_rate, data, repeats))


def check_interactions(data: Data, run: Run) -> None:
    """The Interactions checks: training minimums, use cases, the event-type budget,
    duplicate rows and the diagnostics in ``run.stats``."""

    run.stats["n_interactions"] = float(data.n)
    # The duplicate-row scan and the repeat rate (one sort) run on a second thread while
    # the other checks run here: numpy releases the GIL for both. Each side reports into
    # its own child run; they are merged in the order the checks are listed.
    duplicates, of_users, repeats, of_items = (run.child() for _ in range(4))
    with ThreadPoolExecutor(1, thread_name_prefix="personakit-validate") as pool:
        second = pool.submit(_second_thread, data, duplicates, repeats)
        run.guard(data, "training minimums", partial(_check_minimums, data, run))
        run.guard(data, "use cases", partial(_check_use_cases, data, run))
        run.guard(data, "event types", partial(_check_event_type_budget, data, run))
        of_users.guard(data, "diagnostics", partial(_user_stats, data, of_users))
        of_items.guard(data, "diagnostics", partial(_item_stats, data, of_items))
        of_items.guard(data, "diagnostics", partial(_time_stats, data, of_items))
        second.result()
    for child in (duplicates, of_users, repeats, of_items):
        run.merge(child)


# --------------------------------------------------------------------------- other datasets


def _action_kind(value: object) -> str | None:
    key = re.sub(r"[\s\-]+", "_", str(value).strip().upper())
    return key if key in _ACTION_KINDS else None


def check_action_events(data: Data, run: Run) -> None:
    """Event types and Next-Best-Action's per-action minimums
    (https://docs.aws.amazon.com/personalize/latest/dg/native-recipe-next-best-action.html)."""
    import numpy as np

    run.stats["n_action_interactions"] = float(data.n)
    events, actions = data.codes("EVENT_TYPE"), data.codes("ACTION_ID")
    if events is None or actions is None:
        return
    unknown = events.flags(lambda v: _action_kind(v) is None) & (events.counts > 0)
    if unknown.any():
        odd = ", ".join(repr(v) for v in events.uniques.filter(unknown).to_pylist()[:5])
        run.rows(
            "warning",
            "action-event-type",
            f"{{n}} rows have event types Next-Best-Action does not use ({odd}); it learns "
            "from Taken, Not taken and Viewed",
            data=data,
            field="EVENT_TYPE",
            mask=events.rows(unknown),
            fix="map them to TAKEN / NOT_TAKEN / VIEWED",
        )
    recent = np.ones(data.n, dtype=bool)
    seconds = data.floats("TIMESTAMP")
    if seconds is not None and np.isfinite(seconds).any():
        with np.errstate(invalid="ignore"):
            recent = seconds >= np.nanmax(seconds) - NBA_WINDOW_S
    taken = events.rows(events.flags(lambda v: _action_kind(v) == "TAKEN")) & recent
    other = events.rows(events.flags(lambda v: _action_kind(v) in ("NOT_TAKEN", "VIEWED")))
    other &= recent
    size = len(actions.uniques)
    known = actions.codes >= 0
    n_taken = bincount(actions.codes[taken & known], size)
    n_other = bincount(actions.codes[other & known], size)
    few = ((n_taken < NBA_MIN_PER_ACTION) | (n_other < NBA_MIN_PER_ACTION)) & (actions.counts > 0)
    if few.any():
        ids = actions.first_seen(few)
        run.add(
            "warning",
            "action-interactions-few",
            f"Action_Interactions: {len(ids):,} of {size:,} actions have fewer than "
            f"{NBA_MIN_PER_ACTION} TAKEN and {NBA_MIN_PER_ACTION} NOT_TAKEN/VIEWED events in "
            "the 6 weeks before the latest one; Next-Best-Action scores them 0.0",
            column=data.column_of("ACTION_ID"),
            count=len(ids),
            values=ids[:5],
            fix="collect more action interactions for those actions",
        )


def check_duplicate_ids(data: Data, id_field: str, run: Run) -> None:
    """Items/Users/Actions: the same id twice; Personalize keeps the last record
    (https://docs.aws.amazon.com/personalize/latest/dg/import-data.html)."""
    import numpy as np

    codes = data.codes(id_field)
    if codes is None:
        return
    run.stats[f"n_catalog_{data.dtype.value.lower()}"] = float(int((codes.counts > 0).sum()))
    repeated = codes.counts > 1
    if not repeated.any():
        return
    rows = np.flatnonzero(codes.rows(repeated))
    last = np.full(len(codes.uniques), -1, dtype=np.int64)
    last[codes.codes[rows]] = rows  # later rows overwrite earlier ones: the last occurrence
    replaced = rows[last[codes.codes[rows]] != rows]
    ids = codes.first_seen(repeated)
    shown = ", ".join(repr(v) for v in ids[:5]) + (" ..." if len(ids) > 5 else "")
    examples = [int(r) for r in replaced[:5]]
    run.add(
        "warning",
        "duplicate-ids",
        f"{data.dtype.value}: {len(ids):,} {id_field} values appear more than once ({shown}); "
        f"Personalize keeps only the last record of each, so {len(replaced):,} rows are lost",
        column=data.column_of(id_field),
        count=len(replaced),
        rows=examples,
        values=take_values(data.col(id_field), examples),
        fix=f"df.drop_duplicates(subset=[{data.column_of(id_field)!r}], keep='last')",
    )


def check_known_ids(source: Data, field: str, catalog: Data, kind: str, run: Run) -> None:
    """Rows whose id is not in the Items/Users/Actions frame (a warning, with the share)."""
    import pyarrow.compute as pc

    used, known = source.codes(field), catalog.codes(field)
    if used is None or known is None:
        return
    used_s, known_s = used.strings(), known.strings()
    # a dense encoding's range can hold values no row has: compare with the present ones
    used_present, known_present = used.strings(present=True), known.strings(present=True)
    if used_s is None or known_s is None or used_present is None or known_present is None:
        return
    missing = ~to_bools(pc.is_in(used_s, value_set=known_present)) & (used.counts > 0)
    total = int(used.counts.sum())
    share = int(used.counts[missing].sum()) / total if total else 0.0
    run.stats[f"{_stat_prefix(source)}unknown_{kind}_share"] = share
    if kind == "item" and source.dtype is DatasetType.INTERACTIONS:
        listed = known.counts > 0
        idle = ~to_bools(pc.is_in(known_s, value_set=used_present)) & listed
        if listed.any():
            run.stats["cold_start_item_share"] = float(idle.sum() / listed.sum())
    if not missing.any():
        return
    ids = used.first_seen(missing)
    examples = ", ".join(repr(v) for v in ids[:3])
    run.rows(
        "warning",
        f"unknown-{kind}s",
        f"{{n}} rows ({share:.1%}) have {field} values that are not in the "
        f"{catalog.dtype.value} data ({len(ids):,} ids, e.g. {examples}); they get no metadata",
        data=source,
        field=field,
        mask=used.rows(missing),
        fix=f"add them to the {catalog.dtype.value} data, or check that the id formats match",
    )
