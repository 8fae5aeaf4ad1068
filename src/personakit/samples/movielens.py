"""MovieLens ratings, downloaded once, checked against their published MD5, read with pyarrow."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import attrs

from personakit.errors import DatasetUnavailableError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ML_100K_GENRES", "MOVIELENS_MD5", "MOVIELENS_VARIANTS", "MovieLens", "load_movielens"]

logger = logging.getLogger(__name__)

#: Where GroupLens publishes the archives (``<base><variant>.zip``, and ``.zip.md5`` beside).
MOVIELENS_BASE_URL = "https://files.grouplens.org/datasets/movielens/"

#: MD5 of the frozen releases, as GroupLens publishes them in ``<variant>.zip.md5``
#: (sidecar lines ``MD5 (ml-1m.zip) = ...``, quoted verbatim by public verify scripts,
#: e.g. ``MD5 (ml-100k.zip) = 0e33842e24a9c977be4e0107933c0723``). The ``ml-latest*``
#: archives are re-issued, so for them the published sidecar is fetched instead.
MOVIELENS_MD5: dict[str, str] = {
    "ml-100k": "0e33842e24a9c977be4e0107933c0723",
    "ml-1m": "c4d9eecfca2ab87c1945afe126590906",
    "ml-10m": "ce571fd55effeba0271552578f2648bd",
    "ml-25m": "6b51fb2759a8657d3bfcbfc42b592ada",
}

_ML_CSV = ("ml-latest-small", "ml-latest", "ml-20m", "ml-25m", "ml-32m")
_ML_DAT = ("ml-1m", "ml-10m")
#: MovieLens variants :func:`load_movielens` knows the layout of.
MOVIELENS_VARIANTS: tuple[str, ...] = ("ml-100k", *_ML_DAT, *_ML_CSV)
ML_100K_GENRES = (
    "(no genres listed)", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
_DOWNLOAD_CHUNK = 1 << 20  # bytes per read while downloading and hashing
_CSV_BLOCK = 4 << 20  # bytes per pyarrow CSV block (the unit its threads parse)


@attrs.frozen(eq=False)
class MovieLens:
    """A MovieLens release as DataFrames, in the ``ml-latest-small`` CSV layout.

    Attributes:
        variant: e.g. ``"ml-latest-small"``.
        ratings: ``userId``, ``movieId`` (int64), ``rating`` (float64),
            ``timestamp`` (int64 epoch seconds): what
            :func:`personakit.rules.prep.ratings_to_interactions` takes as it is.
        movies: ``movieId``, ``title``, ``genres`` (``"Comedy|Drama"``), for
            ``pk.prep.items(movies, item="movieId", multi_value={"genres": "|"})``.
        users: ``userId``, ``gender``, ``age``, ``occupation``, ``zip`` (ml-100k,
            ml-1m), else ``None``.
        tags: ``userId``, ``movieId``, ``tag``, ``timestamp`` where the release has
            them, else ``None``.
        path: the cached zip.
    """

    variant: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame | None
    tags: pd.DataFrame | None
    path: Path


def load_movielens(
    variant: str = "ml-latest-small",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    url: str | None = None,
    md5: str | None = None,
    timeout: float = 60.0,
) -> MovieLens:
    """Download (once), check and read a MovieLens release from GroupLens.

    The zip is fetched from ``files.grouplens.org`` (or ``url``: any ``https://``,
    ``http://`` or ``file://`` address), streamed in 1 MiB chunks into a
    ``<variant>.zip.<pid>.part`` file while its MD5 is computed, checked, then renamed
    into ``cache_dir`` (default ``$PERSONAKIT_CACHE`` or ``~/.cache/personakit``, under
    ``movielens/``); the ``.part`` file is removed on any error, so only a checked
    archive is ever cached, and later calls read it without the network. Members are
    read from the zip one at a time, never the whole archive in memory; the ``::``
    ratings of ml-1m / ml-10m are parsed by pyarrow's multithreaded CSV reader (10M
    rows in about 2 s), the other ``.dat`` files decoded as Latin-1, as GroupLens
    publishes them, with titles and tags kept whole even when they hold ``:`` or
    ``::``.

    Checks: the MD5 against ``md5``, else the value pinned in :data:`MOVIELENS_MD5`
    for frozen releases, else GroupLens' published ``<zip>.md5`` sidecar when it can
    be read (a warning is logged when none is available); then the expected files
    and columns (``ratings.csv`` with ``userId,movieId,rating,timestamp``;
    ``ratings.dat`` with four ``::`` fields; ``u.data`` with four tab-separated ones).

    MovieLens is © GroupLens, for research use under its own licence (see the
    README inside the zip); it is not redistributed with personakit.

    Args:
        variant: one of :data:`MOVIELENS_VARIANTS` (``ml-latest-small``, ``ml-100k``,
            ``ml-1m``, ``ml-10m``, ``ml-20m``, ``ml-25m``, ``ml-32m``, ``ml-latest``).
        cache_dir: folder to keep the zip in.
        url: where to download from instead of GroupLens.
        md5: expected MD5 of the zip (overrides the pinned and published ones).
        timeout: seconds per network request.

    Returns:
        :class:`MovieLens` frames, in the ``ml-latest-small`` CSV layout whatever
        the release's own format.

    Raises:
        ValueError: unknown ``variant``.
        DatasetUnavailableError: no network (and nothing cached), a download cut
            short, a checksum mismatch, a zip without the expected files or
            columns, or a malformed line (the message names the file).

    Example:
        ```python
        ml = pk.samples.load_movielens("ml-latest-small")
        interactions = pk.prep.ratings_to_interactions(ml.ratings, min_rating=3.5)
        items = pk.prep.items(ml.movies, item="movieId", multi_value={"genres": "|"})
        ```
    """
    if variant not in MOVIELENS_VARIANTS:
        raise ValueError(
            f"unknown MovieLens variant {variant!r}; expected one of {list(MOVIELENS_VARIANTS)}"
        )
    source = url or f"{MOVIELENS_BASE_URL}{variant}.zip"
    folder = Path(cache_dir) if cache_dir is not None else _default_cache() / "movielens"
    path = folder / f"{variant}.zip"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _download(source, path, variant, md5, timeout)
    elif md5 is not None:
        _check_md5(_md5_of(path), md5, str(path))
    return _read_movielens(path, variant)


def _default_cache() -> Path:
    env = os.environ.get("PERSONAKIT_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "personakit"


def _unavailable(url: str, exc: BaseException) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"could not download {url} ({exc}). Without network access, download the zip "
        "elsewhere and pass url='file:///path/to/the.zip' (or put it in cache_dir).",
        url=url,
    )


def _download(source: str, path: Path, variant: str, md5: str | None, timeout: float) -> None:
    """Stream ``source`` to ``<path>.<pid>.part``, check it, then rename it to ``path``.

    The ``.part`` file is removed on every error (network, truncation, checksum,
    layout, interruption): only a checked archive is ever cached.
    """
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        found, size = _stream(source, partial, timeout)
        expected = md5 or MOVIELENS_MD5.get(variant) or _published_md5(source, timeout)
        _check_md5(found, expected, source)
        _check_layout(partial, variant, source)  # before caching: a bad zip is never kept
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("MovieLens %s cached at %s (%d bytes)", variant, path, size)


def _stream(url: str, target: Path, timeout: float) -> tuple[str, int]:
    """Copy ``url`` to ``target`` in chunks; returns (MD5 hex digest, size in bytes)."""

    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # http(s) and file:// only
            declared = response.headers.get("Content-Length")
            # read1: whatever has arrived (up to a chunk), so the file grows as data comes
            read = getattr(response, "read1", response.read)
            with target.open("wb") as out:
                while chunk := read(_DOWNLOAD_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise _unavailable(url, exc) from exc
    if declared is not None and declared.strip().isdigit() and int(declared) != size:
        raise DatasetUnavailableError(
            f"could not download {url}: the connection closed after {size:,} of "
            f"{int(declared):,} bytes (try again; nothing was cached)",
            url=url,
        )
    return digest.hexdigest(), size


def _fetch(url: str, timeout: float) -> bytes:
    """A small document (a ``.md5`` sidecar) in memory."""

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # http(s) and file:// only
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise _unavailable(url, exc) from exc


def _published_md5(url: str, timeout: float) -> str | None:
    try:
        text = _fetch(url + ".md5", timeout).decode("ascii", "replace").strip()
    except DatasetUnavailableError:
        logger.warning("no published checksum at %s.md5: checking the layout only", url)
        return None
    words = text.split()
    digest = words[-1].lower() if words else ""
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        logger.warning("unreadable checksum file at %s.md5: checking the layout only", url)
        return None
    return digest


def _md5_of(path: Path) -> str:

    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_DOWNLOAD_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_md5(found: str, expected: str | None, where: str) -> None:
    if expected is None:
        return
    if found != expected.lower():
        raise DatasetUnavailableError(
            f"{where}: MD5 {found} does not match the published {expected.lower()} "
            "(a truncated download, or a different release): not cached",
            url=where,
        )


def _members(names: Sequence[str]) -> dict[str, str]:
    """Base name -> member path, e.g. ``ratings.csv`` -> ``ml-latest-small/ratings.csv``."""
    return {name.rsplit("/", 1)[-1]: name for name in names if not name.endswith("/")}


def _layout(variant: str) -> tuple[str, str, str]:
    """(ratings file, movies file, format) of a variant."""
    if variant == "ml-100k":
        return "u.data", "u.item", "tab"
    if variant in _ML_DAT:
        return "ratings.dat", "movies.dat", "dat"
    return "ratings.csv", "movies.csv", "csv"


def _check_layout(path: Path, variant: str, where: str) -> None:

    try:
        archive = zipfile.ZipFile(path)  # reads the central directory, not the members
    except zipfile.BadZipFile as exc:
        raise DatasetUnavailableError(f"{where} is not a zip archive", url=where) from exc
    with archive:
        members = _members(archive.namelist())
        ratings, movies, fmt = _layout(variant)
        missing = [name for name in (ratings, movies) if name not in members]
        if missing:
            raise DatasetUnavailableError(
                f"{where}: no {', '.join(missing)} in the archive (found "
                f"{sorted(members)[:8]}); is it the {variant} release?",
                url=where,
            )
        with archive.open(members[ratings]) as fh:
            first = fh.readline().decode("latin-1").strip()
        if fmt == "csv":
            ok = first.split(",") == ["userId", "movieId", "rating", "timestamp"]
            want = "the header userId,movieId,rating,timestamp"
        elif fmt == "dat":
            ok = len(first.split("::")) == 4
            want = "four '::'-separated fields"
        else:
            ok = len(first.split("\t")) == 4
            want = "four tab-separated fields"
        if not ok:
            raise DatasetUnavailableError(
                f"{where}: {ratings} should start with {want}; its first line is {first[:80]!r}",
                url=where,
            )


_RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")


def _read_ratings(fh: IO[bytes], sep: str, name: str, where: str) -> pd.DataFrame:
    """A ``::``- or tab-separated ratings file, parsed by pyarrow's multithreaded CSV reader.

    ``::`` is read as the one-byte delimiter ``:`` with an empty column between two
    fields, typed ``null`` so that any stray ``:`` inside a field is an error (no
    field of a ratings line holds one); the member streams from the zip in blocks.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {
        "userId": pa.int64(),
        "movieId": pa.int64(),
        "rating": pa.float64(),
        "timestamp": pa.int64(),
    }
    if sep == "::":
        names = ["userId", "_1", "movieId", "_2", "rating", "_3", "timestamp"]
        column_types = {n: types.get(n, pa.null()) for n in names}
        delimiter = ":"
    else:
        names = list(_RATING_COLUMNS)
        column_types = types
        delimiter = sep
    try:
        table = pacsv.read_csv(
            fh,
            read_options=pacsv.ReadOptions(column_names=names, block_size=_CSV_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types=column_types),
        )
    except pa.ArrowInvalid as exc:
        detail = re.sub(r"column #(\d+)", lambda m: f"column {names[int(m[1])]!r}", str(exc))
        raise DatasetUnavailableError(
            f"{where}: {name} should hold four {sep!r}-separated numbers a line "
            f"({','.join(_RATING_COLUMNS)}): {detail}",
            url=where,
        ) from exc
    table = table.select(list(_RATING_COLUMNS))
    empty = {n: table.column(n).null_count for n in _RATING_COLUMNS if table.column(n).null_count}
    if empty:
        counts = ", ".join(f"{count:,} with an empty {n}" for n, count in empty.items())
        raise DatasetUnavailableError(f"{where}: {name} has lines {counts}", url=where)
    frame: pd.DataFrame = table.to_pandas(self_destruct=True)
    return frame


def _split_lines(
    text: str, columns: Sequence[str], sep: str, name: str, where: str, free: int | None
) -> list[list[str]]:
    """Fields of each non-empty line; column ``free`` (free text) may itself hold ``sep``.

    The fields before ``free`` are split from the left and those after it from the
    right, so a title such as ``"Foo: Bar:"`` followed by ``::`` stays whole.
    """
    n = len(columns)
    rows: list[list[str]] = []
    for number, raw in enumerate(text.split("\n"), 1):  # not splitlines(): U+0085 is a title byte
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line:
            continue
        if free is None:
            row = line.split(sep)
        else:
            head = line.split(sep, free)
            row = head[:-1] + head[-1].rsplit(sep, n - 1 - free) if len(head) == free + 1 else head
        if len(row) != n:
            raise DatasetUnavailableError(
                f"{where}: line {number} of {name} should have {n} {sep!r}-separated fields "
                f"({','.join(columns)}); it is {line[:80]!r}",
                url=where,
            )
        rows.append(row)
    return rows


def _read_movielens(path: Path, variant: str) -> MovieLens:

    import pandas as pd

    where = str(path)
    with zipfile.ZipFile(path) as archive:  # members stream from the file, one at a time
        members = _members(archive.namelist())

        def dat(
            name: str, columns: list[str], sep: str = "::", free: int | None = None
        ) -> pd.DataFrame | None:
            """A small Latin-1 member (movies, users, tags) as string columns."""
            if name not in members:
                return None
            with archive.open(members[name]) as fh:
                text = fh.read().decode("latin-1")  # as GroupLens publishes them
            return pd.DataFrame(
                _split_lines(text, columns, sep, name, where, free), columns=columns
            )

        def numeric(name: str, sep: str) -> pd.DataFrame:
            with archive.open(members[name]) as fh:
                return _read_ratings(fh, sep, name, where)

        ratings_name, movies_name, fmt = _layout(variant)
        ratings: pd.DataFrame
        movies: pd.DataFrame | None
        users: pd.DataFrame | None = None
        tags: pd.DataFrame | None = None
        if fmt == "csv":
            with archive.open(members[ratings_name]) as fh:
                ratings = pd.read_csv(fh)
            with archive.open(members[movies_name]) as fh:
                movies = pd.read_csv(fh)
            if "tags.csv" in members:
                with archive.open(members["tags.csv"]) as fh:
                    tags = pd.read_csv(fh)
        elif fmt == "dat":
            ratings = numeric(ratings_name, "::")
            movies = dat(movies_name, ["movieId", "title", "genres"], free=1)
            users = dat("users.dat", ["userId", "gender", "age", "occupation", "zip"])
            tags = dat("tags.dat", ["userId", "movieId", "tag", "timestamp"], free=2)
        else:
            ratings = numeric(ratings_name, "\t")
            raw = dat(
                movies_name,
                ["movieId", "title", "released", "video", "imdb", *ML_100K_GENRES],
                "|",
                free=1,
            )
            assert raw is not None
            flags = raw[list(ML_100K_GENRES)].to_numpy() == "1"
            genres = [
                "|".join(g for g, on in zip(ML_100K_GENRES, row, strict=True) if on)
                or "(no genres listed)"
                for row in flags
            ]
            movies = pd.DataFrame(
                {"movieId": raw["movieId"], "title": raw["title"], "genres": genres}
            )
            u = dat("u.user", ["userId", "age", "gender", "occupation", "zip"], "|")
            users = None if u is None else u[["userId", "gender", "age", "occupation", "zip"]]
    assert movies is not None
    ratings = ratings.astype(
        {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"}
    )
    movies = movies.astype({"movieId": "int64"})
    if users is not None:
        users = users.astype({"userId": "int64"})
    if tags is not None:
        tags = tags.astype({"userId": "int64", "movieId": "int64", "timestamp": "int64"})
    return MovieLens(variant, ratings, movies, users, tags, path)
