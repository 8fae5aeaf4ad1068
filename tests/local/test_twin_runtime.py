"""personalize-runtime and personalize-events twins: serving, events, Put*, filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from _twin_helpers import (
    ITEMS_SCHEMA,
    Clients,
    Deployed,
    Group,
    deploy,
    interactions,
    items_frame,
    make_group,
    poll,
    put_csv,
    schema_json,
    status_of,
)

from personakit.rules.schema import DatasetType


def test_get_recommendations_for_a_user(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    d = deployed("aws-user-personalization")
    rt = clients.runtime
    recs = rt.get_recommendations(campaignArn=d.campaign_arn, userId="u1")
    assert len(recs["itemList"]) == 25  # numResults defaults to 25
    ids = [i["itemId"] for i in recs["itemList"]]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i["score"], float) for i in recs["itemList"])
    assert recs["recommendationId"].startswith("RID-")
    assert (
        len(
            rt.get_recommendations(campaignArn=d.campaign_arn, userId="u1", numResults=7)[
                "itemList"
            ]
        )
        == 7
    )
    with pytest.raises(rt.exceptions.InvalidInputException, match="userId is required"):
        rt.get_recommendations(campaignArn=d.campaign_arn)
    with pytest.raises(rt.exceptions.InvalidInputException, match="at most 500"):
        rt.get_recommendations(campaignArn=d.campaign_arn, userId="u1", numResults=501)
    with pytest.raises(rt.exceptions.InvalidInputException, match="exactly one"):
        rt.get_recommendations(userId="u1")
    with pytest.raises(rt.exceptions.InvalidInputException, match="GetPersonalizedRanking"):
        rt.get_personalized_ranking(campaignArn=d.campaign_arn, userId="u1", inputList=["i1"])
    unknown = d.campaign_arn.replace("sol-campaign", "nope")
    with pytest.raises(rt.exceptions.ResourceNotFoundException):
        rt.get_recommendations(campaignArn=unknown, userId="u1")
    # an unknown user still gets recommendations (popular fallback), like the service
    assert rt.get_recommendations(campaignArn=d.campaign_arn, userId="stranger")["itemList"]


def test_put_events_change_the_users_next_recommendations(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    d = deployed("aws-user-personalization")
    pz, rt, ev = clients.pz, clients.runtime, clients.events
    before = [
        i["itemId"]
        for i in rt.get_recommendations(campaignArn=d.campaign_arn, userId="u7")["itemList"]
    ]
    tracker = pz.create_event_tracker(name="events", datasetGroupArn=d.group.arn)
    with pytest.raises(ev.exceptions.InvalidInputException, match="not ACTIVE"):
        ev.put_events(
            trackingId=tracker["trackingId"],
            sessionId="s1",
            eventList=[
                {"eventType": "watch", "sentAt": datetime.now(timezone.utc), "itemId": "i1"}
            ],
        )
    poll(status_of(pz, "event_tracker", tracker["eventTrackerArn"]))
    # the user binges the least popular items: their tastes move
    rare = [f"i{i}" for i in range(90, 100)]
    for chunk in (rare[:5], rare[5:]):
        ev.put_events(
            trackingId=tracker["trackingId"],
            userId="u7",
            sessionId="s1",
            eventList=[
                {"eventType": "watch", "sentAt": 1_800_000_000 + k, "itemId": item}
                for k, item in enumerate(chunk)
            ],
        )
    after = [
        i["itemId"]
        for i in rt.get_recommendations(campaignArn=d.campaign_arn, userId="u7")["itemList"]
    ]
    assert after != before
    other = [
        i["itemId"]
        for i in rt.get_recommendations(campaignArn=d.campaign_arn, userId="u8")["itemList"]
    ]
    assert other != after
    with pytest.raises(ev.exceptions.InvalidInputException):
        ev.put_events(
            trackingId="not-a-tracker",
            sessionId="s",
            eventList=[{"eventType": "watch", "sentAt": 1_800_000_000}],
        )
    # the events are part of the data the next training sees
    table = clients.engine.control.group_data(d.group.arn).table(DatasetType.INTERACTIONS)
    assert len(table) == 1500 + 10


def test_an_interactions_filter_sees_each_new_event_without_reloading_the_import(
    clients: Clients,
) -> None:
    typed = schema_json(
        "Interactions",
        [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_TYPE", "type": "string"},
        ],
    )
    frame = interactions(event_types=["click", "watch"])
    d = deploy(clients, make_group(clients, frame=frame, schema=typed), "aws-popularity-count")
    pz, rt, ev = clients.pz, clients.runtime, clients.events
    seen = pz.create_filter(
        name="unseen",
        datasetGroupArn=d.group.arn,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
    )["filterArn"]
    poll(status_of(pz, "filter", seen))
    tracker = pz.create_event_tracker(name="events", datasetGroupArn=d.group.arn)
    poll(status_of(pz, "event_tracker", tracker["eventTrackerArn"]))
    control = clients.engine.control

    def shown(user: str) -> list[str]:
        items = rt.get_recommendations(campaignArn=d.campaign_arn, userId=user, filterArn=seen)
        return [i["itemId"] for i in items["itemList"]]

    imported = control.group_data(d.group.arn).bulk_table(DatasetType.INTERACTIONS)
    mine = set(frame.query("USER_ID == 'u7'")["ITEM_ID"])
    theirs = set(frame.query("USER_ID == 'u8'")["ITEM_ID"])
    first = shown("u7")
    assert first
    assert not mine & set(first)  # the imported history is excluded
    for k, item in enumerate(first[:3]):  # each event is excluded from the next request
        ev.put_events(
            trackingId=tracker["trackingId"],
            userId="u7",
            sessionId="s7",
            eventList=[{"eventType": "watch", "sentAt": 1_800_000_000 + k, "itemId": item}],
        )
        assert item not in shown("u7")
        assert item in shown("u8") or item in theirs  # another user's history is their own
    # the imported rows (and the index by user built on them) were kept across the events
    assert control.group_data(d.group.arn).bulk_table(DatasetType.INTERACTIONS) is imported
    assert len(control.group_data(d.group.arn).table(DatasetType.INTERACTIONS)) == 1500 + 3


def test_items_first_named_by_events_join_the_catalogue_read_since_the_last_request(
    clients: Clients,
) -> None:
    """The catalogue (what INCLUDE filters and batch jobs choose from) keeps the items
    events name, reading only the events after those it has read; a model's version of
    the data (capped at an older event) does not see later items."""
    from personakit.local.data import GroupData

    group = make_group(clients)
    pz, ev, control = clients.pz, clients.events, clients.engine.control
    tracker = pz.create_event_tracker(name="events", datasetGroupArn=group.arn)
    poll(status_of(pz, "event_tracker", tracker["eventTrackerArn"]))
    imported = control.group_data(group.arn).item_ids()
    assert "new-1" not in imported

    def put(item: str, k: int) -> int:
        ev.put_events(
            trackingId=tracker["trackingId"],
            userId="u7",
            sessionId="s7",
            eventList=[{"eventType": "watch", "sentAt": 1_800_000_000 + k, "itemId": item}],
        )
        return control.store.last_event_id(group.arn)

    first = put("new-1", 0)
    assert control.group_data(group.arn).item_ids() == sorted([*imported, "new-1"])
    put(imported[0], 1)  # a known item adds nothing
    put("new-2", 2)
    now = control.group_data(group.arn)
    assert now.item_ids() == sorted([*imported, "new-1", "new-2"])
    older = GroupData(control.store, group.arn, upto_event=first, bulk=now.bulk)
    assert older.item_ids() == sorted([*imported, "new-1"])
    assert control.group_data(group.arn).item_ids() == now.item_ids()


def test_put_events_properties_map_to_schema_fields(clients: Clients) -> None:
    schema = schema_json(
        "Interactions",
        [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_TYPE", "type": "string"},
            {"name": "DEVICE_KIND", "type": ["null", "string"], "categorical": True},
        ],
    )
    frame = interactions(event_types=["watch"])
    frame["DEVICE_KIND"] = "tv"
    group = make_group(clients, "ctx", frame=frame, schema=schema)
    pz, ev = clients.pz, clients.events
    tracker = pz.create_event_tracker(name="ctx", datasetGroupArn=group.arn)
    poll(status_of(pz, "event_tracker", tracker["eventTrackerArn"]))
    ev.put_events(
        trackingId=tracker["trackingId"],
        userId="u1",
        sessionId="s",
        eventList=[
            {
                "eventType": "watch",
                "sentAt": 1_800_000_000,
                "itemId": "i3",
                "properties": json.dumps({"deviceKind": "phone"}),
            }
        ],
    )
    table = clients.engine.control.group_data(group.arn).table(DatasetType.INTERACTIONS)
    last = table.slice(len(table) - 1).to_pylist()[0]
    assert last["DEVICE_KIND"] == "phone"
    assert last["USER_ID"] == "u1"
    assert last["TIMESTAMP"] == 1_800_000_000
    with pytest.raises(ev.exceptions.InvalidInputException, match="'colour'"):
        ev.put_events(
            trackingId=tracker["trackingId"],
            sessionId="s",
            eventList=[
                {
                    "eventType": "watch",
                    "sentAt": 1_800_000_000,
                    "itemId": "i3",
                    "properties": '{"colour": "red"}',
                }
            ],
        )


def _items_dataset(clients: Clients, group: Group) -> str:
    pz = clients.pz
    schema = pz.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    dataset = pz.create_dataset(
        name="items", schemaArn=schema, datasetGroupArn=group.arn, datasetType="Items"
    )["datasetArn"]
    poll(status_of(pz, "dataset", dataset))
    return str(dataset)


def test_put_items_and_users(clients: Clients, group: Group) -> None:
    ev = clients.events
    dataset = _items_dataset(clients, group)
    ev.put_items(
        datasetArn=dataset,
        items=[
            {"itemId": "i1", "properties": json.dumps({"genres": ["Comedy", "Drama"]})},
            {"itemId": "i2", "properties": json.dumps({"genres": "Horror", "numberOfRatings": 4})},
        ],
    )
    ev.put_items(
        datasetArn=dataset, items=[{"itemId": "i1", "properties": '{"genres": "Western"}'}]
    )
    table = clients.engine.control.group_data(group.arn).table(DatasetType.ITEMS)
    rows = {r["ITEM_ID"]: r for r in table.to_pylist()}
    assert rows["i1"]["GENRES"] == "Western"  # the same id replaces
    assert rows["i2"] == {"ITEM_ID": "i2", "GENRES": "Horror", "NUMBER_OF_RATINGS": 4}
    with pytest.raises(ev.exceptions.InvalidInputException, match="genres"):
        ev.put_items(datasetArn=dataset, items=[{"itemId": "i3", "properties": "{}"}])
    with pytest.raises(ev.exceptions.InvalidInputException, match="not an integer"):
        ev.put_items(
            datasetArn=dataset,
            items=[{"itemId": "i3", "properties": '{"genres": "x", "numberOfRatings": 1.5}'}],
        )
    with pytest.raises(ev.exceptions.InvalidInputException, match="not an Users dataset"):
        ev.put_users(datasetArn=dataset, users=[{"userId": "u1", "properties": "{}"}])
    with pytest.raises(ev.exceptions.ResourceNotFoundException):
        ev.put_users(
            datasetArn=group.dataset_arn.replace("INTERACTIONS", "USERS"),
            users=[{"userId": "u1"}],
        )


def test_filters_apply_to_recommendations(clients: Clients, group: Group) -> None:
    pz, s3, rt = clients.pz, clients.s3, clients.runtime
    dataset = _items_dataset(clients, group)
    catalog = items_frame()
    job = pz.create_dataset_import_job(
        jobName="items",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(s3, "items.csv", catalog)},
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "ACTIVE"
    d = deploy(clients, group, "aws-popularity-count")
    flt = pz.create_filter(
        name="genre",
        datasetGroupArn=group.arn,
        filterExpression="EXCLUDE ItemID WHERE Items.GENRES IN ($GENRES)",
    )["filterArn"]
    poll(status_of(pz, "filter", flt))
    horror = set(catalog.loc[catalog["GENRES"].str.contains("Horror"), "ITEM_ID"])
    plain = [
        i["itemId"]
        for i in rt.get_recommendations(campaignArn=d.campaign_arn, numResults=50)["itemList"]
    ]
    assert horror & set(plain)
    filtered = rt.get_recommendations(
        campaignArn=d.campaign_arn,
        numResults=50,
        filterArn=flt,
        filterValues={"GENRES": '"Horror"'},
    )["itemList"]
    assert filtered
    assert not horror & {i["itemId"] for i in filtered}
    include = pz.create_filter(
        name="only",
        datasetGroupArn=group.arn,
        filterExpression="INCLUDE ItemID WHERE Items.GENRES IN ($GENRES)",
    )["filterArn"]
    poll(status_of(pz, "filter", include))
    with pytest.raises(rt.exceptions.InvalidInputException, match="GENRES"):
        rt.get_recommendations(campaignArn=d.campaign_arn, filterArn=include)
    only = rt.get_recommendations(
        campaignArn=d.campaign_arn, filterArn=include, filterValues={"GENRES": '"Comedy"'}
    )["itemList"]
    comedy = set(catalog.loc[catalog["GENRES"] == "Comedy", "ITEM_ID"])
    assert {i["itemId"] for i in only} <= comedy
    # metadata columns need the campaign option
    with pytest.raises(rt.exceptions.InvalidInputException, match="enableMetadata"):
        rt.get_recommendations(campaignArn=d.campaign_arn, metadataColumns={"ITEMS": ["GENRES"]})
    meta = pz.create_campaign(
        name="with-meta",
        solutionVersionArn=d.version_arn,
        campaignConfig={"enableMetadataWithRecommendations": True},
    )["campaignArn"]
    poll(status_of(pz, "campaign", meta))
    with_meta = rt.get_recommendations(
        campaignArn=meta, numResults=5, metadataColumns={"ITEMS": ["GENRES"]}
    )["itemList"]
    genres = dict(zip(catalog["ITEM_ID"], catalog["GENRES"], strict=True))
    assert all(i["metadata"] == {"GENRES": genres[i["itemId"]]} for i in with_meta)


def test_related_items_and_ranking(clients: Clients, group: Group) -> None:
    rt = clients.runtime
    sims = deploy(clients, group, "aws-sims", name="sims")
    with pytest.raises(rt.exceptions.InvalidInputException, match="itemId is required"):
        rt.get_recommendations(campaignArn=sims.campaign_arn, userId="u1")
    related = rt.get_recommendations(campaignArn=sims.campaign_arn, itemId="i1", numResults=10)
    assert "i1" not in {i["itemId"] for i in related["itemList"]}
    assert len(related["itemList"]) == 10
    ranking = deploy(clients, group, "aws-personalized-ranking", name="rank")
    ranked = rt.get_personalized_ranking(
        campaignArn=ranking.campaign_arn, userId="u1", inputList=["i5", "i1", "unknown", "i2"]
    )["personalizedRanking"]
    assert sorted(i["itemId"] for i in ranked) == ["i1", "i2", "i5", "unknown"]
    assert ranked[-1] == {"itemId": "unknown"}  # unknown items come last, without a score
    with pytest.raises(rt.exceptions.InvalidInputException, match="at most 500"):
        rt.get_personalized_ranking(
            campaignArn=ranking.campaign_arn, userId="u1", inputList=[f"i{i}" for i in range(501)]
        )


def test_promotions(clients: Clients, group: Group) -> None:
    pz, s3, rt = clients.pz, clients.s3, clients.runtime
    dataset = _items_dataset(clients, group)
    catalog = items_frame()
    job = pz.create_dataset_import_job(
        jobName="items",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(s3, "i.csv", catalog)},
    )["datasetImportJobArn"]
    poll(status_of(pz, "import_job", job))
    d = deploy(clients, group, "aws-popularity-count")
    comedy = pz.create_filter(
        name="comedy",
        datasetGroupArn=group.arn,
        filterExpression='INCLUDE ItemID WHERE Items.GENRES IN ("Comedy")',
    )["filterArn"]
    poll(status_of(pz, "filter", comedy))
    recs = rt.get_recommendations(
        campaignArn=d.campaign_arn,
        numResults=10,
        promotions=[{"name": "laughs", "percentPromotedItems": 20, "filterArn": comedy}],
    )["itemList"]
    promoted = [i for i in recs if i.get("promotionName") == "laughs"]
    assert len(promoted) == 2
    funny = set(catalog.loc[catalog["GENRES"] == "Comedy", "ITEM_ID"])
    assert {i["itemId"] for i in promoted} <= funny
    assert len({i["itemId"] for i in recs}) == 10


def test_trained_users_and_items_include_put_records(clients: Clients) -> None:
    schema = schema_json(
        "Users",
        [
            {"name": "USER_ID", "type": "string"},
            {"name": "TIER", "type": "string", "categorical": True},
        ],
    )
    group = make_group(clients, "people")
    pz = clients.pz
    users_schema = pz.create_schema(name="users", schema=schema)["schemaArn"]
    users = pz.create_dataset(
        name="users", schemaArn=users_schema, datasetGroupArn=group.arn, datasetType="Users"
    )["datasetArn"]
    poll(status_of(pz, "dataset", users))
    clients.events.put_users(
        datasetArn=users, users=[{"userId": "newbie", "properties": '{"tier": "gold"}'}]
    )
    data = clients.engine.control.group_data(group.arn).training_data()
    assert "newbie" in set(data.user_ids.tolist())
    assert data.user_metadata["TIER"][list(data.user_ids).index("newbie")] == "gold"
    assert data.n_interactions == 1500
