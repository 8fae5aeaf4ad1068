"""The JumpStart catalog: manifest and specs from S3 (moto), ETag-revalidated cache, snapshot."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import attrs
import pytest
from botocore import UNSIGNED
from botocore.exceptions import EndpointConnectionError

from personakit.llm.jumpstart import CatalogUnavailableError, JumpStartCatalog, ModelNotFoundError
from personakit.llm.resolve import JumpStartWarning

from .conftest import BUCKET, REGION, GetLog, bucket_manifest, spec_key

FALCON = "huggingface-llm-falcon-7b-bf16"
MANIFEST = "models_manifest.json"
FALCON_KEY = spec_key(FALCON, "4.1.23")


def test_resolving_downloads_the_manifest_and_the_spec_once(s3: Any, tmp_path: Path) -> None:
    log = GetLog()
    log.hook(s3)
    catalog = JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path)
    model = catalog.resolve(FALCON, "4.*")
    assert (model.version, model.source) == ("4.1.23", "network")
    catalog.resolve(FALCON, "4.1.23", "ml.g5.4xlarge")  # same catalog: read from memory
    assert log.downloads == [MANIFEST, FALCON_KEY]
    assert log.not_modified == []
    assert (tmp_path / BUCKET / MANIFEST).exists()
    assert (tmp_path / BUCKET / FALCON_KEY).exists()


def test_a_new_catalog_revalidates_its_cache_by_etag_without_downloading(
    s3: Any, tmp_path: Path
) -> None:
    first = JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    log = GetLog()
    log.hook(s3)
    second = JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    assert second.source == "cache"
    assert attrs.evolve(second, source="network") == first
    assert log.downloads == []
    assert log.not_modified == [MANIFEST, FALCON_KEY]
    assert all(etag for _, etag, _ in log.calls)  # every GET was conditional


def test_a_changed_manifest_is_downloaded_again(s3: Any, tmp_path: Path) -> None:
    JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    rows = bucket_manifest()
    rows.append({"model_id": FALCON, "version": "4.1.24", "spec_key": FALCON_KEY})
    s3.put_object(Bucket=BUCKET, Key=MANIFEST, Body=json.dumps(rows))
    log = GetLog()
    log.hook(s3)
    catalog = JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path)
    assert catalog.versions(FALCON)[-1] == "4.1.24"
    assert log.downloads == [MANIFEST]


def test_the_default_client_reads_the_public_bucket_unsigned(s3: Any, tmp_path: Path) -> None:
    s3.put_bucket_acl(Bucket=BUCKET, ACL="public-read")
    for key in (MANIFEST, FALCON_KEY):
        s3.put_object_acl(Bucket=BUCKET, Key=key, ACL="public-read")
    catalog = JumpStartCatalog(REGION, cache_dir=tmp_path)
    assert catalog.resolve(FALCON).version == "4.1.23"
    client = catalog._client()
    assert client.meta.config.signature_version is UNSIGNED
    assert client.meta.region_name == REGION


def test_an_offline_catalog_uses_its_cache_and_sends_nothing(s3: Any, tmp_path: Path) -> None:
    JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    log = GetLog()
    log.hook(s3)
    model = JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path, offline=True).resolve(FALCON)
    assert model.source == "cache"
    assert log.calls == []


class _Down:
    """An s3 client whose network is down."""

    def get_object(self, **_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://jumpstart-cache-prod-us-east-1")


def test_without_network_a_stale_cache_is_used_with_a_warning(
    s3: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    with caplog.at_level(logging.WARNING, logger="personakit.llm.jumpstart"):
        model = JumpStartCatalog(REGION, s3=_Down(), cache_dir=tmp_path).resolve(FALCON)
    assert model.source == "cache"
    assert "using the cached copy" in caplog.text


def test_without_network_or_cache_the_packaged_snapshot_is_used(tmp_path: Path) -> None:
    catalog = JumpStartCatalog(REGION, s3=_Down(), cache_dir=tmp_path)
    with pytest.warns(JumpStartWarning, match="offline snapshot dated 2026-07-31"):
        model = catalog.resolve(FALCON, "4.*")
    assert (model.version, model.source) == ("4.1.23", "snapshot")
    assert catalog.manifest_source == "snapshot"


def test_snapshot_can_be_refused(tmp_path: Path) -> None:
    catalog = JumpStartCatalog(REGION, s3=_Down(), cache_dir=tmp_path, use_snapshot=False)
    with pytest.raises(CatalogUnavailableError, match="EndpointConnectionError"):
        catalog.resolve(FALCON)


def test_offline_environment_variable_makes_catalogs_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PERSONAKIT_JUMPSTART_OFFLINE", "1")
    catalog = JumpStartCatalog(REGION, s3=_Down(), cache_dir=tmp_path)
    assert catalog.offline
    with pytest.warns(JumpStartWarning):
        assert catalog.resolve("huggingface-textgeneration-gpt2").version == "1.5.0"


def test_unknown_model_suggests_close_ids(catalog: JumpStartCatalog) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        catalog.resolve("huggingface-llm-falcon-7b")
    assert FALCON in info.value.suggestions
    assert "did you mean" in str(info.value)


def test_unknown_version_lists_the_latest_ones(catalog: JumpStartCatalog) -> None:
    with pytest.raises(ModelNotFoundError, match=r"1\.0\.0, 4\.1\.23"):
        catalog.resolve(FALCON, "3.*")


def test_latest_and_wildcard_versions(catalog: JumpStartCatalog) -> None:
    assert catalog.versions(FALCON) == ["1.0.0", "4.1.23"]
    assert catalog.entry(FALCON).version == "4.1.23"
    assert catalog.entry(FALCON, "1.*").version == "1.0.0"
    assert catalog.entry(FALCON, "1.*").spec_key == spec_key(FALCON, "1.0.0")


def test_bucket_override_environment_variable(
    monkeypatch: pytest.MonkeyPatch, s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="my-mirror")
    s3.put_object(Bucket="my-mirror", Key=MANIFEST, Body=b"[]")
    monkeypatch.setenv("AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE", "my-mirror")
    catalog = JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path, use_snapshot=False)
    assert catalog.content_bucket == "my-mirror"
    assert catalog.manifest() == ()


def test_a_corrupt_cache_file_is_downloaded_again(s3: Any, tmp_path: Path) -> None:
    JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    (tmp_path / BUCKET / MANIFEST).write_text("{not json", "utf-8")
    log = GetLog()
    log.hook(s3)
    JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path).resolve(FALCON)
    assert log.downloads == [MANIFEST]
    assert json.loads((tmp_path / BUCKET / MANIFEST).read_text("utf-8"))


def test_default_cache_dir_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PERSONAKIT_CACHE_DIR", str(tmp_path))
    assert JumpStartCatalog(REGION).cache_dir == tmp_path / "jumpstart"


def test_gated_spec_served_from_s3_keeps_its_gate(catalog: JumpStartCatalog) -> None:
    from personakit.llm.resolve import EulaRequiredError

    with pytest.raises(EulaRequiredError):
        catalog.resolve("huggingface-llm-gemma-2b-instruct")
    model = catalog.resolve("huggingface-llm-gemma-2b-instruct", accept_eula=True)
    assert model.gated
    assert model.accept_eula
