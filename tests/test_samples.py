"""personakit.samples: seeded synthetic data with the structure of real logs."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp

import personakit as pk
from personakit import samples
from personakit.samples import GENRES, SyntheticData, synthetic, synthetic_movielens

DAY = 86_400


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return synthetic(seed=0)  # the defaults: 2,000 users, 1,000 items, 50,000 rows


def index(ids: pd.Series[Any]) -> npt.NDArray[np.int64]:
    """ "u17" -> 16."""
    out: npt.NDArray[np.int64] = ids.str[1:].astype(np.int64).to_numpy() - 1
    return out


def holdout_last(data: SyntheticData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each user's newest interaction (test) and everything else (history)."""
    x = data.interactions.assign(u=index(data.interactions["USER_ID"]))
    x = x.assign(i=index(x["ITEM_ID"]))
    last = x.groupby("u").tail(1)
    return x.drop(index=last.index), last


# --------------------------------------------------------------------------- reproducible, exact


def test_same_seed_gives_identical_frames_and_another_seed_does_not() -> None:
    a, b = synthetic(300, 200, 4_000, seed=7), synthetic(300, 200, 4_000, seed=7)
    c = synthetic(300, 200, 4_000, seed=8)
    for name in ("interactions", "items", "users"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.interactions.equals(c.interactions)
    assert not a.items.equals(c.items)
    ra, ma = synthetic_movielens(50, 80, 1_000, seed=3)
    rb, mb = synthetic_movielens(50, 80, 1_000, seed=3)
    rc, _ = synthetic_movielens(50, 80, 1_000, seed=4)
    pd.testing.assert_frame_equal(ra, rb)
    pd.testing.assert_frame_equal(ma, mb)
    assert not ra.equals(rc)


@pytest.mark.parametrize(
    ("n_users", "n_items", "n_interactions", "extra"),
    [
        (2_000, 1_000, 50_000, {}),
        (37, 11, 1_001, {"event_types": ("View", "AddToCart", "Purchase")}),
        (1, 1, 2, {}),
        (500, 300, 1_000, {"event_types": ("Watch",), "event_value": False}),
    ],
)
def test_sizes_are_exact_and_ids_are_prefixed_decimal_strings(
    n_users: int, n_items: int, n_interactions: int, extra: dict[str, Any]
) -> None:
    data = synthetic(n_users, n_items, n_interactions, **extra)
    assert len(data.interactions) == n_interactions
    assert data.users["USER_ID"].tolist() == [f"u{k}" for k in range(1, n_users + 1)]
    assert data.items["ITEM_ID"].tolist() == [f"i{k}" for k in range(1, n_items + 1)]
    assert set(data.interactions["USER_ID"]) <= set(data.users["USER_ID"])
    assert set(data.interactions["ITEM_ID"]) <= set(data.items["ITEM_ID"])
    expected = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]
    expected += ["EVENT_VALUE"] if extra.get("event_value", True) else []
    assert list(data.interactions.columns) == expected
    assert data.params["n_interactions"] == n_interactions


def test_every_user_gets_the_minimum_number_of_interactions(data: SyntheticData) -> None:
    per_user = data.interactions["USER_ID"].value_counts()
    assert len(per_user) == len(data.users)  # nobody is left out
    assert per_user.min() >= 2
    five = synthetic(100, 50, 600, min_user_interactions=5, seed=2)
    assert five.interactions["USER_ID"].value_counts().min() >= 5
    with pytest.raises(ValueError, match="at least n_users"):
        synthetic(100, 50, 499, min_user_interactions=5)


# --------------------------------------------------------------------------- time


def test_timestamps_lie_in_the_window_and_never_before_the_items_release(
    data: SyntheticData,
) -> None:
    ts = data.interactions["TIMESTAMP"]
    assert ts.dtype == np.int64
    assert data.params["start_ts"] == 1_704_067_200  # 2024-01-01T00:00:00Z
    assert data.params["end_ts"] == 1_704_067_200 + 180 * DAY
    assert ts.min() >= data.params["start_ts"]
    assert ts.max() < data.params["end_ts"]
    assert ts.is_monotonic_increasing  # an event log, in time order
    created = data.items.set_index("ITEM_ID")["CREATION_TIMESTAMP"]
    assert created.dtype == np.int64
    first_seen = data.interactions.groupby("ITEM_ID")["TIMESTAMP"].min()
    assert (first_seen >= created[first_seen.index]).all()
    # not vacuous: about 20% of the items come out during the window and are used
    new = created[created > data.params["start_ts"]]
    assert 0.15 < len(new) / len(created) < 0.25
    assert first_seen.index.isin(new.index).sum() > 0.8 * len(new)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2023-06-01T12:00:00", 1_685_620_800),
        (1_685_620_800, 1_685_620_800),
        (pd.Timestamp("2023-06-01 14:00", tz="Europe/Berlin"), 1_685_620_800),
    ],
)
def test_start_accepts_dates_datetimes_and_epoch_seconds(start: Any, expected: int) -> None:
    data = synthetic(20, 10, 100, start=start, days=2.5)
    ts = data.interactions["TIMESTAMP"]
    assert data.params["start_ts"] == expected
    assert ts.min() >= expected
    assert ts.max() < expected + int(2.5 * DAY)


def test_users_are_active_in_sessions(data: SyntheticData) -> None:
    x = data.interactions
    gaps = x.groupby("USER_ID")["TIMESTAMP"].diff().dropna()
    assert (gaps >= 0).all()  # time never goes backwards for a user
    assert (gaps < 600).mean() > 0.6  # most events follow another within minutes
    assert (gaps > DAY).mean() > 0.05  # ... and sessions are days apart


def test_new_items_are_hot_right_after_release(data: SyntheticData) -> None:
    x = data.interactions.merge(data.items[["ITEM_ID", "CREATION_TIMESTAMP"]], on="ITEM_ID")
    new = x[x["CREATION_TIMESTAMP"] > data.params["start_ts"]]
    age = new["TIMESTAMP"] - new["CREATION_TIMESTAMP"]
    available = data.params["end_ts"] - new["CREATION_TIMESTAMP"]
    first_two_weeks = (age < 14 * DAY).mean()
    if_uniform = np.minimum(14 * DAY / available, 1.0).mean()
    assert first_two_weeks > 1.25 * if_uniform


# --------------------------------------------------------------------------- shape


def test_item_popularity_and_user_activity_are_heavy_tailed(data: SyntheticData) -> None:
    per_item = data.interactions["ITEM_ID"].value_counts().to_numpy()
    top = len(data.items) // 10
    assert per_item[:top].sum() / len(data.interactions) > 0.4
    per_user = data.interactions["USER_ID"].value_counts()
    assert per_user.max() > 10 * per_user.median()
    flat = synthetic(popularity_exponent=0.0, seed=0)
    flat_items = flat.interactions["ITEM_ID"].value_counts().to_numpy()
    assert flat_items[:top].sum() < per_item[:top].sum()


def test_genres_are_pipe_joined_names_from_the_genre_list(data: SyntheticData) -> None:
    assert data.genres == GENRES
    lists = data.items["GENRES"].str.split("|")
    assert lists.map(len).between(1, 3).all()
    assert lists.map(lambda g: len(set(g)) == len(g)).all()
    used = pd.Series([g for gs in lists for g in gs]).value_counts()
    assert set(used.index) <= set(GENRES)
    assert len(used) == len(GENRES)
    assert used.index[0] == "Drama"  # Zipf-like genre popularity, Drama first
    few = synthetic(50, 200, 500, n_genres=5)
    assert set("|".join(few.items["GENRES"]).split("|")) == set(GENRES[:5])
    many = synthetic(50, 2_000, 500, n_genres=20)
    assert many.genres[-2:] == ("Genre19", "Genre20")


def test_funnel_reuses_the_viewed_item_and_event_values_mean_something(
    data: SyntheticData,
) -> None:
    x = data.interactions
    counts = x["EVENT_TYPE"].value_counts()
    assert list(counts.index) == ["View", "Purchase"]
    assert 0.05 < counts["Purchase"] / len(x) < 0.1  # conversion 0.1 -> about 1 in 11
    by_user = x.groupby("USER_ID")
    prev_item, prev_type = by_user["ITEM_ID"].shift(), by_user["EVENT_TYPE"].shift()
    bought = x["EVENT_TYPE"] == "Purchase"
    assert (prev_item[bought] == x["ITEM_ID"][bought]).all()
    assert (prev_type[bought] == "View").all()
    assert x["EVENT_VALUE"].dtype == np.float32
    views = x.loc[~bought, "EVENT_VALUE"]
    assert views.between(0.01, 1.0).all()
    price = data.items.set_index("ITEM_ID")["PRICE"]
    assert (x.loc[bought, "EVENT_VALUE"].to_numpy() == price[x.loc[bought, "ITEM_ID"]]).all()


def test_a_longer_funnel_chains_each_step_to_the_one_before() -> None:
    x = synthetic(300, 100, 6_000, event_types=("View", "Cart", "Buy"), conversion=0.3).interactions
    counts = x["EVENT_TYPE"].value_counts()
    assert counts["View"] > counts["Cart"] > counts["Buy"] > 0
    by_user = x.groupby("USER_ID")
    prev_item, prev_type = by_user["ITEM_ID"].shift(), by_user["EVENT_TYPE"].shift()
    for step, before in (("Cart", "View"), ("Buy", "Cart")):
        rows = x["EVENT_TYPE"] == step
        assert (prev_type[rows] == before).all()
        assert (prev_item[rows] == x["ITEM_ID"][rows]).all()


def test_users_frame_has_categorical_metadata_and_premium_users_are_more_active(
    data: SyntheticData,
) -> None:
    users = data.users
    assert list(users.columns) == ["USER_ID", "AGE_GROUP", "MEMBERSHIP"]
    assert set(users["AGE_GROUP"]) == set(samples.AGE_GROUPS)
    assert set(users["MEMBERSHIP"]) == {"free", "premium"}
    assert 0.25 < (users["MEMBERSHIP"] == "premium").mean() < 0.35
    activity = data.interactions["USER_ID"].value_counts()
    premium = users.set_index("USER_ID")["MEMBERSHIP"] == "premium"
    assert activity[premium[premium].index].mean() > 1.5 * activity[premium[~premium].index].mean()


def test_items_have_prices_and_descriptions_that_read_as_text(data: SyntheticData) -> None:
    items = data.items
    assert list(items.columns) == [
        "ITEM_ID",
        "GENRES",
        "PRICE",
        "CREATION_TIMESTAMP",
        "DESCRIPTION",
    ]
    assert items["PRICE"].dtype == np.float32
    assert (items["PRICE"] > 0).all()
    text = items["DESCRIPTION"]
    assert (text.str.len() >= 40).all()
    assert (text.str.split().map(len) >= 5).all()
    assert text.nunique() > 0.9 * len(items)
    assert not text.str.contains("|", regex=False).any()


def test_schema_infer_takes_each_frame_as_is(data: SyntheticData) -> None:
    schemas = {name: pk.Schema.infer(frame, name) for name, frame in data.frames.items()}
    for schema in schemas.values():
        assert not schema.check().errors
    kinds = {f.name: (f.type, f.categorical, f.textual) for f in schemas["items"].fields}
    assert kinds == {
        "ITEM_ID": ("string", False, False),
        "GENRES": ("string", True, False),
        "PRICE": ("float", False, False),
        "CREATION_TIMESTAMP": ("long", False, False),
        "DESCRIPTION": ("string", False, True),
    }
    inter = {f.name: f.type for f in schemas["interactions"].fields}
    assert inter == {
        "USER_ID": "string",
        "ITEM_ID": "string",
        "TIMESTAMP": "long",
        "EVENT_TYPE": "string",
        "EVENT_VALUE": "float",
    }
    assert all(f.categorical for f in schemas["users"].metadata_fields)


# --------------------------------------------------------------------------- learnable


def test_held_out_interactions_fall_in_the_users_favourite_genre(data: SyntheticData) -> None:
    history, last = holdout_last(data)
    genres = data.items["GENRES"].str.split("|")
    pairs = history[["u", "i"]].assign(genre=genres.to_numpy()[history["i"]]).explode("genre")
    favourite = pairs.groupby("u")["genre"].agg(lambda s: s.value_counts().index[0])
    base_rate = pairs["genre"].value_counts() / len(history)  # share of interactions per genre
    last = last[last["u"].isin(favourite.index)]
    fav = favourite[last["u"]].to_numpy()
    hit = np.array([f in genres.iloc[i] for f, i in zip(fav, last["i"], strict=True)])
    chance = base_rate[fav].to_numpy()
    assert hit.mean() > 2 * chance.mean()  # measured: 0.59 vs 0.22 (2.7x)


def _ials(
    x: sp.csr_matrix, factors: int = 32, reg: float = 1.0, alpha: float = 5.0, iters: int = 6
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Implicit ALS (Hu, Koren, Volinsky 2008), exact batched solves: fine at 2k x 1k."""
    rng = np.random.default_rng(0)
    items = rng.normal(0.0, 0.1, (x.shape[1], factors))
    xt = x.T.tocsr()

    def solve(m: sp.csr_matrix, y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        outer = (y[:, :, None] * y[:, None, :]).reshape(len(y), -1)
        a = (y.T @ y + reg * np.eye(factors))[None] + alpha * (m @ outer).reshape(
            -1, factors, factors
        )
        out: npt.NDArray[np.float64] = np.linalg.solve(a, (1 + alpha) * (m @ y)[..., None])[..., 0]
        return out

    for _ in range(iters):
        users = solve(x, items)
        items = solve(xt, users)
    return users, items


def test_matrix_factorisation_beats_popularity_on_each_users_newest_item(
    data: SyntheticData,
) -> None:
    x = data.interactions.assign(u=index(data.interactions["USER_ID"]))
    x = x.assign(i=index(x["ITEM_ID"]))
    first = x.drop_duplicates(["u", "i"])  # each user's first contact with an item
    sizes = first.groupby("u").size()
    test = first.groupby("u").tail(1)
    test = test[test["u"].map(sizes) >= 3]
    cutoff = x["u"].map(test.set_index("u")["TIMESTAMP"]).fillna(np.inf)
    train = x[x["TIMESTAMP"] < cutoff]
    matrix = sp.csr_matrix(
        (np.ones(len(train)), (train["u"], train["i"])), shape=(len(data.users), len(data.items))
    )
    matrix.data[:] = 1.0
    users, truth = test["u"].to_numpy(), test["i"].to_numpy()

    def hit_at_10(scores: npt.NDArray[np.float64]) -> float:
        scores = np.array(scores, dtype=np.float64)
        scores[matrix[users].nonzero()] = -np.inf  # never recommend what was seen
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        return float((top == truth[:, None]).any(axis=1).mean())

    popularity = np.bincount(train["i"], minlength=len(data.items)).astype(np.float64)
    pop_hit = hit_at_10(np.tile(popularity, (len(users), 1)))
    user_f, item_f = _ials(matrix)
    mf_hit = hit_at_10(user_f[users] @ item_f.T)
    assert mf_hit > 1.5 * pop_hit  # measured: 0.23 vs 0.12


# --------------------------------------------------------------------------- MovieLens layout


def test_movielens_layout_columns_dtypes_and_values() -> None:
    ratings, movies = synthetic_movielens(200, 500, 8_000, seed=1)
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert ratings.dtypes.to_dict() == {
        "userId": np.int64,
        "movieId": np.int64,
        "rating": np.float64,
        "timestamp": np.int64,
    }
    assert len(ratings) == 8_000
    assert not ratings.duplicated(["userId", "movieId"]).any()  # one rating per pair
    assert set(ratings["rating"]) == {k / 2 for k in range(1, 11)}
    assert ratings["rating"].value_counts().index[0] == 4.0  # MovieLens' favourite rating
    assert ratings.equals(ratings.sort_values(["userId", "movieId"]))
    assert set(ratings["userId"]) == set(range(1, 201))
    assert ratings["timestamp"].between(1_262_304_000, 1_514_764_800).all()  # 2010 .. 2017
    assert list(movies.columns) == ["movieId", "title", "genres"]
    assert movies["movieId"].tolist() == list(range(1, 501))
    assert movies["movieId"].dtype == np.int64
    assert movies["title"].str.fullmatch(r"[A-Z][a-z-]+ [A-Z][a-z]+ \(\d{4}\)").all()
    assert set("|".join(movies["genres"]).split("|")) <= set(GENRES)
    assert set(ratings["movieId"]) <= set(movies["movieId"])
    schema = pk.Schema.infer(ratings, "interactions")
    assert schema.columns == {
        "userId": "USER_ID",
        "movieId": "ITEM_ID",
        "rating": "RATING",
        "timestamp": "TIMESTAMP",
    }


def test_movielens_ratings_are_higher_for_the_users_favourite_genre() -> None:
    ratings, movies = synthetic_movielens(300, 600, 15_000, seed=0)
    genres = movies.set_index("movieId")["genres"].str.split("|")
    pairs = ratings.assign(genre=genres[ratings["movieId"]].to_numpy()).explode("genre")
    counts = pairs.groupby(["userId", "genre"]).size()
    favourite = counts.groupby(level=0).idxmax().map(lambda k: k[1])
    in_fav = pairs["genre"].to_numpy() == favourite[pairs["userId"]].to_numpy()
    assert pairs["rating"][in_fav].mean() > pairs["rating"][~in_fav].mean()


# --------------------------------------------------------------------------- API manners


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_users": 0}, "n_users"),
        ({"n_items": 0}, "n_items"),
        ({"n_genres": 0}, "n_genres"),
        ({"n_interactions": 10}, "at least"),
        ({"days": 0}, "days"),
        ({"event_types": ()}, "event_types"),
        ({"event_types": "View"}, "event_types"),
        ({"event_types": ("View", "View")}, "distinct"),
        ({"conversion": 0.0}, "conversion"),
        ({"conversion": 1.5}, "conversion"),
        ({"new_items": 1.5}, "new_items"),
        ({"drift": -1.0}, "drift"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"n_users": 20, "n_items": 10, "n_interactions": 100, **kwargs}
    with pytest.raises(ValueError, match=match):
        synthetic(**args)


@pytest.mark.parametrize(
    ("n_users", "n_items", "n_ratings", "match"),
    [(10, 10, 0, "n_ratings"), (10, 10, 51, "n_ratings"), (0, 10, 5, "n_users")],
)
def test_movielens_rejects_impossible_sizes(
    n_users: int, n_items: int, n_ratings: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        synthetic_movielens(n_users, n_items, n_ratings)


def test_arrow_tables_frames_and_notebook_summary(data: SyntheticData) -> None:
    tables = data.to_arrow()
    assert set(tables) == {"interactions", "items", "users"}
    assert all(isinstance(t, pa.Table) for t in tables.values())
    assert tables["interactions"].num_rows == 50_000
    assert tables["interactions"].schema.field("TIMESTAMP").type == pa.int64()
    # string columns are Arrow-backed, not one Python object per value
    assert isinstance(data.interactions["USER_ID"].dtype, pd.StringDtype)
    assert repr(data) == "SyntheticData(interactions=50000, users=2000, items=1000, seed=0)"
    page = data._repr_html_()
    assert "<table>" in page
    assert "Purchase" in page
    assert "2024-01-01 00:00 .. 2024-06-29 00:00" in page
    assert data.summary()["top 10% items' share"] > 0.4


def test_docstring_examples_run() -> None:
    result = doctest.testmod(samples.generator, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0
