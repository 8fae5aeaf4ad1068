"""The heavy jobs of the local engine: dataset imports, training, batch jobs.

:class:`PersonalizeControlPlane` is the engine's control plane: the state machine of
:class:`~personakit.local.control.ControlPlane` plus :meth:`~PersonalizeControlPlane.work`,
what a job does in ``CREATE IN_PROGRESS``:

* a dataset import job reads the CSV files at its ``dataLocation`` from the S3 twin,
  checked as Personalize's import checks them (:func:`~personakit.local.data.read_csv`),
  and replaces (FULL) or extends (INCREMENTAL) the dataset's parquet snapshot;
* a solution version or a recommender checks Personalize's training minimums, runs
  the offline evaluation (:mod:`personakit.local.evaluation`, whose hyperparameter
  search the final fit reuses), trains the recipe's local algorithm
  (:mod:`personakit.local.algorithms`) on the dataset group's data and saves the model;
* a batch inference or batch segment job answers its input
  (:func:`personakit.local.batch.run_batch_job`).
"""

from __future__ import annotations

import math
import os
import shutil
import time
import zlib
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from personakit.local.batch import BATCH_KINDS, run_batch_job
from personakit.local.control import ControlPlane
from personakit.local.data import (
    ID_FIELDS,
    GroupData,
    artifact_dir,
    check_minimums,
    conform,
    dataset_file,
    dedupe_last,
    read_csv,
    schema_of,
)
from personakit.local.errors import JobFailed
from personakit.local.recipes import recipe_event_type, recipe_name
from personakit.local.s3 import S3Objects
from personakit.local.usage import batch_output_usage
from personakit.rules.facts import MIN_INTERACTIONS
from personakit.rules.schema import DatasetType

if TYPE_CHECKING:
    from personakit.local.algorithms.base import TrainingData
    from personakit.local.store import Resource

__all__ = ["PersonalizeControlPlane"]


class PersonalizeControlPlane(ControlPlane):
    """The engine's control plane, with the work of Personalize's jobs."""

    def work(self, res: Resource) -> dict[str, Any] | None:
        if res.kind == "dataset-import-job":
            self._run_import(res)
            return None
        if res.kind in BATCH_KINDS:
            run_batch_job(self, res)
            self.finish(res.arn, "ACTIVE", body=batch_output_usage(self.store, res))
            return None
        if res.kind == "solution-version":
            return self._train_version(res)
        return self._train_recommender(res)

    # imports ----------------------------------------------------------------
    def _run_import(self, job: Resource) -> None:
        dataset = self.store.get(str(job.parent))
        if dataset is None:
            self.finish(job.arn, "CREATE FAILED", reason="The dataset no longer exists.")
            return
        uri = str(job.body["dataSource"]["dataLocation"])
        try:
            schema = schema_of(self.store, dataset)
            sources = self._sources(uri)
            tables = [read_csv(path, schema, f"s3://{b}/{k}") for b, k, path in sources]
            imported = sum(path.stat().st_size for _, _, path in sources)
        except JobFailed as exc:
            self.finish(job.arn, "CREATE FAILED", reason=str(exc))
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        new = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        dtype = DatasetType.parse(dataset.body["datasetType"])
        incremental = job.body.get("importMode") == "INCREMENTAL"
        folder = artifact_dir(self.store, dataset)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"data-{job.body['_id']}.parquet"
        for _ in range(5):
            dataset = self.store.get(dataset.arn)
            if dataset is None:
                self.finish(job.arn, "CREATE FAILED", reason="The dataset was deleted.")
                return
            schema = schema_of(self.store, dataset)
            previous = dataset_file(self.store, dataset)
            merged = conform(new, schema)
            if incremental and previous is not None and previous.exists():
                merged = pa.concat_tables([conform(pq.read_table(previous), schema), merged])
            if dtype in ID_FIELDS:
                merged = dedupe_last(merged, ID_FIELDS[dtype])
            tmp = self.store.tmp_path(final)
            pq.write_table(merged, tmp)
            os.replace(tmp, final)
            expected = (dataset.body.get("_data") or {}).get("file")

            def commit(
                _: Resource,
                arn: str = dataset.arn,
                expected: Any = expected,
                rows: int = len(merged),
            ) -> bool:
                current = self.store.get(arn)
                if current is None or (current.body.get("_data") or {}).get("file") != expected:
                    return False
                current.body["_data"] = {"file": final.name, "rows": rows}
                current.updated = time.time()
                self.store.save(current)
                return True

            if self.finish(job.arn, "ACTIVE", also=commit, body={"_bytes": imported}):
                if previous is not None and previous != final:
                    with suppress(OSError):
                        previous.unlink()
                return
            fresh = self.store.get(job.arn)
            if fresh is None or fresh.status != "CREATE IN_PROGRESS":
                with suppress(OSError):
                    final.unlink()
                return
        self.finish(job.arn, "CREATE FAILED", reason="Concurrent imports kept replacing the data.")

    def _sources(self, uri: str) -> list[tuple[str, str, Path]]:
        objects = S3Objects(self.store)
        bucket, _, key = uri[len("s3://") :].partition("/")
        if objects.bucket(bucket) is None:
            raise JobFailed(f"Invalid Data location. The bucket {bucket} does not exist.")
        if key and not key.endswith("/"):
            row = objects.get(bucket, key)
            if row is None:
                raise JobFailed(f"Invalid Data location. No file exists at {uri}.")
            return [(bucket, key, objects.path_of(row))]
        rows = [
            r
            for r in objects.keys(bucket, key)
            if r["key"].lower().endswith(".csv") and "/" not in r["key"][len(key) :]
        ]
        if not rows:
            raise JobFailed(f"Invalid Data location. No CSV files found in {uri}.")
        return [(bucket, r["key"], objects.path_of(r)) for r in rows]

    # training ---------------------------------------------------------------
    def _hyperparameters(self, body: Mapping[str, Any]) -> dict[str, str]:
        config = body.get("solutionConfig") or {}
        hyper = {str(k): str(v) for k, v in (config.get("algorithmHyperParameters") or {}).items()}
        if body.get("performHPO") and "hpo" not in hyper:
            hyper["hpo"] = "true"
        return hyper

    def _train_version(self, version: Resource) -> dict[str, Any]:
        from personakit.local import algorithms  # numpy/scipy: loaded when a job trains

        started = time.time()
        body = version.body
        group = str(body["datasetGroupArn"])
        recipe = recipe_name(str(body["recipeArn"]))
        cutoff = self.store.last_event_id(group)
        config = body.get("solutionConfig") or {}
        threshold = config.get("eventValueThreshold")
        event_type = body.get("eventType") or None
        data = GroupData(self.store, group, upto_event=cutoff).training_data(
            event_type=event_type,
            event_value_threshold=float(threshold) if threshold not in (None, "") else None,
        )
        check_minimums(
            data,
            event_type=event_type or (f"value >= {threshold}" if threshold else None),
        )
        hyper = self._hyperparameters(body)
        seed = zlib.crc32(str(body["solutionArn"]).encode()) & 0x7FFFFFFF
        self.check_running(version.arn)
        # one hyperparameter search per version: the metrics run tunes on its training
        # users, the final fit reuses the outcome
        metrics, tuned = self._evaluate(recipe, data, hyper, seed)
        self.check_running(version.arn)
        model = algorithms.train(recipe, data, hyper, seed=seed, tuned=tuned)
        self.check_running(version.arn)
        self._save_model(version, model)
        changes: dict[str, Any] = {"_metrics": metrics, "_cutoff": cutoff}
        if body.get("performHPO"):
            effective = getattr(model, "hyperparameters", None)
            if isinstance(effective, Mapping):
                changes["tunedHPOParams"] = {
                    "algorithmHyperParameters": {str(k): str(v) for k, v in effective.items()}
                }
        changes["trainingHours"] = round((time.time() - started) / 3600.0, 6)
        return changes

    def _train_recommender(self, rec: Resource) -> dict[str, Any]:
        import numpy as np

        from personakit.local import algorithms  # numpy/scipy: loaded when a job trains

        group = str(rec.body["datasetGroupArn"])
        recipe = recipe_name(str(rec.body["recipeArn"]))
        cutoff = self.store.last_event_id(group)
        data = GroupData(self.store, group, upto_event=cutoff).training_data()
        wanted = recipe_event_type(recipe)
        if wanted:
            types = (
                np.asarray(data.event_types).astype(str)
                if data.event_types is not None
                else np.zeros(0, dtype=str)
            )
            count = int((types == wanted).sum()) or int(
                (np.char.lower(types) == wanted.lower()).sum()
            )
            if count < MIN_INTERACTIONS:
                raise JobFailed(
                    f"Dataset has fewer than {MIN_INTERACTIONS} interactions after filtering by "
                    f"event type: {wanted}"
                )
        check_minimums(data, event_type=None, domain=True)
        seed = zlib.crc32(rec.arn.encode()) & 0x7FFFFFFF
        self.check_running(rec.arn)
        metrics, tuned = self._evaluate(recipe, data, {}, seed)
        self.check_running(rec.arn)
        model = algorithms.train(recipe, data, {}, seed=seed, tuned=tuned)
        self.check_running(rec.arn)
        self._save_model(rec, model)
        return {"modelMetrics": metrics, "_cutoff": cutoff}

    @staticmethod
    def _evaluate(
        recipe: str, data: TrainingData, hyper: Mapping[str, str], seed: int
    ) -> tuple[dict[str, float], dict[str, Any]]:
        """The metrics run: (metrics, the tuned hyperparameters the final fit reuses)."""
        from personakit.local.evaluation import evaluate_and_tune  # numpy: on first training

        result = evaluate_and_tune(recipe, data, hyper, seed=seed)
        metrics = {str(k): float(v) for k, v in result.metrics.items() if math.isfinite(float(v))}
        return metrics, result.tuned

    def _save_model(self, res: Resource, model: Any) -> None:
        final = artifact_dir(self.store, res)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.store.tmp_path(final)
        tmp.mkdir(parents=True)
        try:
            model.save(tmp)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
