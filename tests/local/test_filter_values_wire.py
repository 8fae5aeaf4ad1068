"""filterValues over the wire: personakit encodes, the local engine decodes the same encoding.

An untrusted value bound to a placeholder reaches the engine as exactly one value: the
recommendations of an injection-looking owner are that owner's items and no one else's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _twin_helpers import Clients, Group, deploy, poll, put_csv, schema_json, status_of

import personakit as pk
from personakit.rules.filters import Filter

#: Owners of the catalog; the third looks like an injection but is one owner's name.
OWNERS = ["alice", "bob", "alice OR 1=1", "bob) OR Items.OWNER IN (alice"]
OWNED = Filter.include_items("Items.OWNER IN ($owner)")


@pytest.fixture
def served(clients: Clients, group: Group) -> tuple[str, str, dict[str, str]]:
    """A campaign over 100 items owned round-robin by OWNERS, and the OWNED filter."""
    pz = clients.pz
    schema = pz.create_schema(
        name="owned-items",
        schema=schema_json(
            "Items",
            [
                {"name": "ITEM_ID", "type": "string"},
                {"name": "OWNER", "type": "string", "categorical": True},
            ],
        ),
    )["schemaArn"]
    dataset = pz.create_dataset(
        name="items", schemaArn=schema, datasetGroupArn=group.arn, datasetType="Items"
    )["datasetArn"]
    poll(status_of(pz, "dataset", dataset))
    catalog = pd.DataFrame(
        {"ITEM_ID": [f"i{i}" for i in range(100)], "OWNER": [OWNERS[i % 4] for i in range(100)]}
    )
    job = pz.create_dataset_import_job(
        jobName="items",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(clients.s3, "owned.csv", catalog)},
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "ACTIVE"
    d = deploy(clients, group, "aws-popularity-count")
    flt = pz.create_filter(
        name="owned", datasetGroupArn=group.arn, filterExpression=OWNED.expression
    )["filterArn"]
    poll(status_of(pz, "filter", flt))
    return d.campaign_arn, flt, dict(zip(catalog["ITEM_ID"], catalog["OWNER"], strict=True))


def _owners(clients: Clients, served: tuple[str, str, dict[str, str]], values: object) -> set[str]:
    campaign, flt, owner_of = served
    items = clients.runtime.get_recommendations(
        campaignArn=campaign, numResults=100, filterArn=flt, filterValues=values
    )["itemList"]
    assert items
    return {owner_of[i["itemId"]] for i in items}


@pytest.mark.parametrize("owner", OWNERS)
def test_a_bound_value_reaches_the_engine_as_exactly_one_owner(
    clients: Clients, served: tuple[str, str, dict[str, str]], owner: str
) -> None:
    assert _owners(clients, served, OWNED.bind(owner=owner)) == {owner}


def test_a_list_binds_several_owners_and_a_look_alike_string_binds_none(
    clients: Clients, served: tuple[str, str, dict[str, str]]
) -> None:
    assert _owners(clients, served, OWNED.bind(owner=["alice", "bob"])) == {"alice", "bob"}
    # the measured injection: refused before anything is sent
    with pytest.raises(pk.ValidationError, match="filter-values-character"):
        OWNED.bind(owner='"alice","bob"')


@pytest.mark.parametrize(
    "raw",
    ['"alice\\",\\"bob"', '"alice,bob"', '"alice" "bob"', 'alice"', '"alice'],
)
def test_the_engine_refuses_what_personakit_never_sends(
    clients: Clients, served: tuple[str, str, dict[str, str]], raw: str
) -> None:
    campaign, flt, _ = served
    rt = clients.runtime
    with pytest.raises(rt.exceptions.InvalidInputException):
        rt.get_recommendations(campaignArn=campaign, filterArn=flt, filterValues={"owner": raw})


def test_the_engine_counts_distinct_fields_over_the_groups_filters(
    clients: Clients, served: tuple[str, str, dict[str, str]]
) -> None:
    # 'owned' reads Items.OWNER; 19 Users fields (no Users dataset yet) make 20 ...
    pz, group_arn = clients.pz, _group_of(clients, served[1])
    fields = [f"Users.F{i}" for i in range(18)]
    for n in range(0, 18, 9):
        pz.create_filter(
            name=f"wide-{n}",
            datasetGroupArn=group_arn,
            filterExpression=" | ".join(
                f'EXCLUDE UserID WHERE {f} IN ("x")' for f in fields[n : n + 9]
            ),
        )
    pz.create_filter(
        name="last",
        datasetGroupArn=group_arn,
        filterExpression='EXCLUDE UserID WHERE Users.F18 IN ("x")',
    )
    # ... and a 21st is refused, naming the guidelines page
    with pytest.raises(pz.exceptions.InvalidInputException) as info:
        pz.create_filter(
            name="one-more",
            datasetGroupArn=group_arn,
            filterExpression='EXCLUDE UserID WHERE Users.F19 IN ("x")',
        )
    assert "filter-expression-guidelines-requirements.html" in str(info.value)
    # a filter over fields already counted still fits
    pz.create_filter(
        name="reuse",
        datasetGroupArn=group_arn,
        filterExpression='INCLUDE ItemID WHERE Items.OWNER IN ("bob")',
    )


def _group_of(clients: Clients, filter_arn: str) -> str:
    return str(clients.pz.describe_filter(filterArn=filter_arn)["filter"]["datasetGroupArn"])


def test_a_dataset_group_checks_the_group_limit_before_create_filter(tmp_path: Path) -> None:
    with (
        pk.Session.local(tmp_path / "ws") as session,
        pk.DatasetGroup.create(session, "fields") as group,
    ):
        for n in range(0, 20, 10):
            group.filter_arn(
                " | ".join(f'EXCLUDE UserID WHERE Users.F{i} IN ("x")' for i in range(n, n + 10))
            )
        with pytest.raises(pk.ValidationError) as info:
            group.filter_arn('EXCLUDE UserID WHERE Users.F20 IN ("x")')
        assert "filter-group-too-many-fields" in {p.rule for p in info.value.problems}
        # nothing was sent: the engine holds the two filters only
        arns = session.client("personalize").list_filters(datasetGroupArn=group.arn)
        assert len(arns["Filters"]) == 2
