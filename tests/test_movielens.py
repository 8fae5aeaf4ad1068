"""load_movielens: download, check, cache and read MovieLens zips, offline.

The archives are tiny fixtures built here in the real layouts (ml-latest-small's
CSV files, ml-1m's ``::`` files) and served from ``file://`` URLs or an HTTP
server on 127.0.0.1 that the test starts: nothing reaches the internet.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import personakit as pk
from personakit.errors import DatasetUnavailableError
from personakit.samples import load_movielens
from personakit.samples.movielens import ML_100K_GENRES

SMALL = {
    "ml-latest-small/ratings.csv": (
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n1,3,4.0,964981247\n2,1,2.5,1445714835\n2,6,5.0,1445714836\n"
    ),
    "ml-latest-small/movies.csv": (
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '3,"Grumpier Old Men, The (1995)",Comedy|Romance\n'
        "6,Heat (1995),Action|Crime|Thriller\n"
    ),
    "ml-latest-small/tags.csv": "userId,movieId,tag,timestamp\n2,6,heist,1445715000\n",
    "ml-latest-small/links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n",
}
ONE_M = {
    "ml-1m/ratings.dat": "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n",
    "ml-1m/movies.dat": (
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
    ),
    "ml-1m/users.dat": "1::F::1::10::48067\n2::M::56::16::70072\n",
}


def build_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("latin-1"))
    return buffer.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "site"``; yields (base url, folder)."""
    site = tmp_path / "site"
    site.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(site), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site
    finally:
        server.shutdown()
        server.server_close()


def test_csv_layout_from_a_file_url_is_read_cached_and_ready_for_prep(tmp_path: Path) -> None:
    data = build_zip(SMALL)
    source = tmp_path / "ml-latest-small.zip"
    source.write_bytes(data)
    cache = tmp_path / "cache"
    ml = load_movielens(cache_dir=cache, url=source.as_uri(), md5=md5(data))
    assert list(ml.ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert ml.ratings["userId"].dtype == "int64"
    assert ml.ratings["rating"].dtype == "float64"
    assert len(ml.ratings) == 4
    assert ml.movies.set_index("movieId").loc[3, "title"] == "Grumpier Old Men, The (1995)"
    assert ml.tags is not None
    assert ml.tags.loc[0, "tag"] == "heist"
    assert ml.users is None
    assert ml.path == cache / "ml-latest-small.zip"
    assert ml.path.read_bytes() == data
    interactions = pk.prep.ratings_to_interactions(ml.ratings, min_rating=3.5)
    assert sorted(interactions["ITEM_ID"]) == [1, 3, 6]  # integer ids stay integers
    # cached: the next call needs no source at all
    source.unlink()
    again = load_movielens(cache_dir=cache, url=source.as_uri())
    assert again.ratings.equals(ml.ratings)


def test_dat_layout_over_http_is_converted_to_the_csv_layout(
    tmp_path: Path, served: tuple[str, Path]
) -> None:
    base, site = served
    data = build_zip(ONE_M)
    (site / "ml-1m.zip").write_bytes(data)
    ml = load_movielens("ml-1m", cache_dir=tmp_path, url=f"{base}/ml-1m.zip", md5=md5(data))
    assert ml.ratings.to_dict("records")[0] == {
        "userId": 1,
        "movieId": 1193,
        "rating": 5.0,
        "timestamp": 978300760,
    }
    assert list(ml.movies.columns) == ["movieId", "title", "genres"]
    assert ml.movies.set_index("movieId").loc[661, "genres"] == "Animation|Children's|Musical"
    assert ml.users is not None
    assert ml.users.set_index("userId").loc[2, "zip"] == "70072"


def test_the_published_md5_sidecar_is_checked_and_a_mismatch_is_not_cached(
    tmp_path: Path, served: tuple[str, Path]
) -> None:
    base, site = served
    data = build_zip(SMALL)
    (site / "ml-latest-small.zip").write_bytes(data)
    (site / "ml-latest-small.zip.md5").write_text(f"MD5 (ml-latest-small.zip) = {'0' * 32}\n")
    url = f"{base}/ml-latest-small.zip"
    with pytest.raises(DatasetUnavailableError, match="does not match"):
        load_movielens(cache_dir=tmp_path, url=url)
    assert not list(tmp_path.glob("*.zip"))
    (site / "ml-latest-small.zip.md5").write_text(f"MD5 (ml-latest-small.zip) = {md5(data)}\n")
    assert len(load_movielens(cache_dir=tmp_path, url=url).ratings) == 4


def test_a_frozen_release_is_checked_against_its_pinned_checksum(tmp_path: Path) -> None:
    source = tmp_path / "ml-1m.zip"
    source.write_bytes(build_zip(ONE_M))  # not the real ml-1m: the pinned MD5 rejects it
    with pytest.raises(DatasetUnavailableError, match="c4d9eecfca2ab87c1945afe126590906"):
        load_movielens("ml-1m", cache_dir=tmp_path / "cache", url=source.as_uri())


def test_offline_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ml-latest-small.zip"
    with pytest.raises(DatasetUnavailableError, match="could not download") as info:
        load_movielens(cache_dir=tmp_path, url=url, timeout=5)
    assert "file://" in str(info.value)
    assert info.value.url == url
    assert isinstance(info.value, pk.PersonakitError)


def test_an_archive_without_the_expected_files_or_columns_is_rejected(tmp_path: Path) -> None:
    no_ratings = {k: v for k, v in SMALL.items() if not k.endswith("ratings.csv")}
    bad_header = {**SMALL, "ml-latest-small/ratings.csv": "user,item\n1,2\n"}
    for files, message in ((no_ratings, "no ratings.csv"), (bad_header, "should start with")):
        source = tmp_path / "ml-latest-small.zip"
        source.write_bytes(build_zip(files))
        with pytest.raises(DatasetUnavailableError, match=message):
            load_movielens(cache_dir=tmp_path / "cache", url=source.as_uri(), md5=None)
    with pytest.raises(ValueError, match="unknown MovieLens variant"):
        load_movielens("ml-2m", cache_dir=tmp_path)


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_download_cut_short_streams_into_a_part_file_that_is_then_removed(
    tmp_path: Path,
) -> None:
    data = build_zip({**SMALL, "ml-latest-small/README.txt": "x" * 300_000})
    half = len(data) // 2
    cache = tmp_path / "cache"
    seen: list[int] = []  # size of the .part file while the server held the connection open

    class CutShort(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:half])
            self.wfile.flush()
            for _ in range(400):  # bounded wait for the client to write what it got
                parts = list(cache.glob("*.part"))
                if parts and parts[0].stat().st_size == half:
                    seen.append(half)
                    break
                time.sleep(0.025)
            self.close_connection = True  # then hang up, half-way through

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http_server(CutShort) as base:
        url = f"{base}/ml-latest-small.zip"
        with pytest.raises(DatasetUnavailableError, match="closed after") as info:
            load_movielens(cache_dir=cache, url=url, md5=md5(data))
    assert seen == [half]  # the bytes went to disk as they came, not into memory
    assert info.value.url == url
    assert list(cache.iterdir()) == []  # no .part file, no zip


def test_a_checksum_mismatch_or_a_bad_archive_leaves_no_part_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = build_zip(SMALL)
    source = tmp_path / "ml-latest-small.zip"
    for payload, expected, message in (
        (good, "0" * 32, "does not match"),
        (b"not a zip at all", None, "not a zip archive"),
    ):
        source.write_bytes(payload)
        with pytest.raises(DatasetUnavailableError, match=message):
            load_movielens(cache_dir=cache, url=source.as_uri(), md5=expected)
        assert list(cache.iterdir()) == []
    source.write_bytes(good)
    ml = load_movielens(cache_dir=cache, url=source.as_uri(), md5=md5(good))
    assert [p.name for p in cache.iterdir()] == ["ml-latest-small.zip"]
    assert len(ml.ratings) == 4
    # a cached zip is re-checked when md5= is given
    with pytest.raises(DatasetUnavailableError, match="does not match"):
        load_movielens(cache_dir=cache, url=source.as_uri(), md5="f" * 32)


def test_titles_and_tags_with_colons_and_latin1_characters_survive(tmp_path: Path) -> None:
    files = {
        "ml-10m/ratings.dat": "1::1::3.5::1100000000\r\n2::3::5::1100000001\r\n\r\n",
        "ml-10m/movies.dat": (
            "1::Star Wars: Episode IV - A New Hope (1977)::Action|Sci-Fi\n"
            "2::Who Framed Roger Rabbit?:::Comedy\n"  # a title ending in ':' before '::'
            "3::Caf\xe9 \x85 \xbfQu\xe9? 2:: The Sequel (2001)::Comedy|Drama\n"
        ),
        "ml-10m/tags.dat": "1::1::see also: Empire:: Jedi::1100000002\n",
    }
    data = build_zip(files)
    source = tmp_path / "ml-10m.zip"
    source.write_bytes(data)
    ml = load_movielens("ml-10m", cache_dir=tmp_path / "cache", url=source.as_uri(), md5=md5(data))
    assert ml.movies["title"].tolist() == [
        "Star Wars: Episode IV - A New Hope (1977)",
        "Who Framed Roger Rabbit?:",
        "Café \x85 ¿Qué? 2:: The Sequel (2001)",  # U+0085 is Latin-1 0x85, not a line break
    ]
    assert ml.movies["genres"].tolist() == ["Action|Sci-Fi", "Comedy", "Comedy|Drama"]
    assert ml.ratings["rating"].tolist() == [3.5, 5.0]
    assert ml.ratings["timestamp"].tolist() == [1100000000, 1100000001]
    assert ml.tags is not None
    assert ml.tags.to_dict("records") == [
        {"userId": 1, "movieId": 1, "tag": "see also: Empire:: Jedi", "timestamp": 1100000002}
    ]
    assert ml.users is None


def test_a_malformed_ratings_line_is_reported_with_the_file_and_the_problem(
    tmp_path: Path,
) -> None:
    cases = {
        "3::1193:5::4::978300760": "got 8: 3::1193:5::4::978300760",  # a stray ':'
        "3::1193::5::978300760::7": "got 9: 3::1193::5::978300760::7",  # a fifth field
        "3::1193::x::978300760": "column 'rating'.*invalid value 'x'",
        "3::1193::::978300760": "1 with an empty rating",
    }
    for bad, message in cases.items():
        files = {**ONE_M, "ml-1m/ratings.dat": ONE_M["ml-1m/ratings.dat"] + bad + "\n"}
        data = build_zip(files)
        source = tmp_path / "ml-1m.zip"
        source.write_bytes(data)
        with pytest.raises(DatasetUnavailableError, match=message) as info:
            load_movielens("ml-1m", cache_dir=tmp_path / bad, url=source.as_uri(), md5=md5(data))
        assert "ratings.dat" in str(info.value)


def test_ml_100k_tab_and_pipe_files_are_converted_to_the_csv_layout(tmp_path: Path) -> None:
    flags = ["0"] * len(ML_100K_GENRES)
    flags[ML_100K_GENRES.index("Animation")] = flags[ML_100K_GENRES.index("Comedy")] = "1"
    none = ["0"] * len(ML_100K_GENRES)
    files = {
        "ml-100k/u.data": "196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
        "ml-100k/u.item": (
            f"242|Toy Story (1995)|01-Jan-1995||http://x|{'|'.join(flags)}\n"
            f"302|L\xe9on (1994)|01-Jan-1994||http://y|{'|'.join(none)}\n"
        ),
        "ml-100k/u.user": "196|49|M|writer|55105\n186|39|F|executive|00000\n",
    }
    data = build_zip(files)
    source = tmp_path / "ml-100k.zip"
    source.write_bytes(data)
    ml = load_movielens("ml-100k", cache_dir=tmp_path / "c", url=source.as_uri(), md5=md5(data))
    assert ml.ratings.to_dict("records")[1] == {
        "userId": 186,
        "movieId": 302,
        "rating": 3.0,
        "timestamp": 891717742,
    }
    assert ml.ratings.dtypes.astype(str).tolist() == ["int64", "int64", "float64", "int64"]
    assert ml.movies.to_dict("records") == [
        {"movieId": 242, "title": "Toy Story (1995)", "genres": "Animation|Comedy"},
        {"movieId": 302, "title": "Léon (1994)", "genres": "(no genres listed)"},
    ]
    assert ml.users is not None
    assert list(ml.users.columns) == ["userId", "gender", "age", "occupation", "zip"]
    assert ml.users.set_index("userId").loc[186, "zip"] == "00000"
