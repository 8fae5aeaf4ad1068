"""Batch recommendations with themes against AWS's wiring: the exact request, by Stubber.

``batch_recommend(..., themes="TITLE")`` sends ``batchInferenceJobMode="THEME_GENERATION"``
and ``themeGenerationConfig.fieldsForThemeGeneration.itemName``, validated against
botocore's model, and reads the output format the guide shows
(https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html).
"""

from __future__ import annotations

import json
from typing import Any

from _env import Env
from _lifecycle import (
    BUCKET,
    ROLE,
    SV,
    TAGS,
    A,
    expect_group,
    expect_teardown,
    expect_train,
)

from personakit.personalize.group import DatasetGroup

JOB = f"{A}:batch-inference-job/nightly"
PREFIX = "personakit/batch/nightly/"


def test_themes_send_theme_generation_and_read_the_themed_output(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_train(
        s,
        recipe="arn:aws:personalize:::recipe/aws-similar-items",
        solution_statuses=("ACTIVE",),
        version_statuses=("ACTIVE",),
    )
    s.ok(
        "create_batch_inference_job",
        {
            "jobName": "nightly",
            "solutionVersionArn": SV,
            "numResults": 3,
            "jobInput": {"s3DataSource": {"path": f"s3://{BUCKET}/{PREFIX}input/"}},
            "jobOutput": {"s3DataDestination": {"path": f"s3://{BUCKET}/{PREFIX}output/"}},
            "roleArn": ROLE,
            "tags": TAGS,
            "batchInferenceJobMode": "THEME_GENERATION",
            "themeGenerationConfig": {"fieldsForThemeGeneration": {"itemName": "TITLE"}},
        },
        {"batchInferenceJobArn": JOB},
    )
    s.ok(
        "describe_batch_inference_job",
        {"batchInferenceJobArn": JOB},
        {"batchInferenceJob": {"batchInferenceJobArn": JOB, "status": "ACTIVE"}},
    )
    expect_teardown(s, ["group", "train"])
    lines: list[dict[str, Any]] = [
        {
            "input": {"itemId": "40"},
            "output": {
                "recommendedItems": ["36", "50", "44"],
                "theme": "Movies with a strong female lead",
                "itemsThemeRelevanceScores": [0.19994527, 0.183059963, 0.17478035],
            },
        },
        {"input": {"itemId": "43"}, "error": "Theme generation failed"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    env.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}output/input.json.out", Body=body)
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        solution = group.train("similar-items", name="movies-up")
        frame = solution.batch_recommend(["40", "43"], n=3, themes="TITLE", job_name="nightly")
    assert frame.to_dict("records") == [
        {
            "item_id": "40",
            "item_ids": ["36", "50", "44"],
            "theme": "Movies with a strong female lead",
            "theme_scores": [0.19994527, 0.183059963, 0.17478035],
            "error": None,
        },
        {
            "item_id": "43",
            "item_ids": [],
            "theme": None,
            "theme_scores": [],
            "error": "Theme generation failed",
        },
    ]
    env.verify()
