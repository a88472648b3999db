"""The Kubernetes deployment agrees with the repository: ``deploy/kuberay/`` and ``Dockerfile``.

No cluster and no Docker here: these read the files an operator applies and check what would
otherwise surface only on a cluster — a stale ``serveConfigV2``, a secret that is not there, an
environment variable the platform never reads, replicas that cannot be placed, an image that is
not the one built.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from fluently.settings import AuthSettings, Environment, Settings, StorageService, UploadSettings
from tests.support import pinned_versions

REPO = Path(__file__).resolve().parents[1]
KUBERAY = REPO / "deploy" / "kuberay"
SERVE_CONFIG = REPO / "serve_config.yaml"
DOCKERFILE = REPO / "Dockerfile"
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS", "RAY_USAGE_STATS_ENABLED"}
"""Environment the containers set for Ray and Serve's proxies rather than for the platform."""


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


generate = _load_module(KUBERAY / "generate.py", "kuberay_generate")


@pytest.fixture(scope="module")
def rayservice() -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((KUBERAY / "rayservice.yaml").read_text())
    return manifest


@pytest.fixture(scope="module")
def serve_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(SERVE_CONFIG.read_text())
    return config


@pytest.fixture(scope="module")
def cluster_serve_config(rayservice: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(rayservice["spec"]["serveConfigV2"])
    return config


@pytest.fixture(scope="module")
def example_secret() -> dict[str, Any]:
    secret: dict[str, Any] = yaml.safe_load((KUBERAY / "secrets.example.yaml").read_text())
    return secret


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


def _deployments(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for app in config["applications"] for d in app["deployments"]}


def _containers(rayservice: dict[str, Any]) -> Iterator[dict[str, Any]]:
    cluster = rayservice["spec"]["rayClusterConfig"]
    yield from cluster["headGroupSpec"]["template"]["spec"]["containers"]
    for group in cluster["workerGroupSpecs"]:
        yield from group["template"]["spec"]["containers"]


def _port(container: dict[str, Any], name: str) -> int:
    port: int = next(p["containerPort"] for p in container["ports"] if p["name"] == name)
    return port


class TestServeConfigV2:
    def test_is_what_the_script_generates_from_serve_config(
        self, rayservice: dict[str, Any]
    ) -> None:
        manifest = (KUBERAY / "rayservice.yaml").read_text()
        assert rayservice["spec"]["serveConfigV2"] == generate.render(SERVE_CONFIG.read_text())
        assert generate.rewrite(manifest, SERVE_CONFIG.read_text()) == manifest, (
            "run `python deploy/kuberay/generate.py`"
        )

    def test_an_edit_to_serve_config_makes_the_manifest_stale(self) -> None:
        manifest = (KUBERAY / "rayservice.yaml").read_text()
        edited = SERVE_CONFIG.read_text().replace("beam_size: 5", "beam_size: 4")
        rewritten = generate.rewrite(manifest, edited)
        assert rewritten != manifest
        cluster = yaml.safe_load(yaml.safe_load(rewritten)["spec"]["serveConfigV2"])
        assert _deployments(cluster)["LocalTranscriber"]["user_config"]["beam_size"] == 4
        assert generate.rewrite(rewritten, edited) == rewritten
        # The hand-written rest of the manifest, comments included, is left as it was.
        after = rewritten.split("rayClusterConfig:", 1)[1]
        assert after == manifest.split("rayClusterConfig:", 1)[1]

    def test_serve_accepts_it(self, cluster_serve_config: dict[str, Any]) -> None:
        from ray.serve.schema import ServeDeploySchema

        ServeDeploySchema.model_validate(cluster_serve_config)

    def test_every_deployment_keeps_its_options(
        self, serve_config: dict[str, Any], cluster_serve_config: dict[str, Any]
    ) -> None:
        local, cluster = _deployments(serve_config), _deployments(cluster_serve_config)
        assert cluster.keys() == local.keys()
        for name, deployment in local.items():
            for key in ("user_config", "ray_actor_options", "max_ongoing_requests"):
                assert cluster[name].get(key) == deployment.get(key), (name, key)
        for local_app, cluster_app in zip(
            serve_config["applications"], cluster_serve_config["applications"], strict=True
        ):
            for key in ("name", "import_path", "route_prefix", "args", "logging_config"):
                assert cluster_app.get(key) == local_app.get(key), key

    def test_serve_listens_on_the_pods_serve_port_and_trusts_no_forwarded_headers(
        self, rayservice: dict[str, Any], cluster_serve_config: dict[str, Any]
    ) -> None:
        http = cluster_serve_config["http_options"]
        assert http["host"] == "0.0.0.0"  # noqa: S104 - reached through the pod's address
        assert cluster_serve_config["proxy_location"] == "EveryNode"
        controller_env = cluster_serve_config["controller_options"]["runtime_env"]["env_vars"]
        assert controller_env["FORWARDED_ALLOW_IPS"] == ""
        for container in _containers(rayservice):
            assert _port(container, "serve") == http["port"]
            env = {e["name"]: e for e in container["env"]}
            assert env["FORWARDED_ALLOW_IPS"]["value"] == ""


class TestClusterResources:
    def test_every_replica_fits_on_the_workers(
        self, rayservice: dict[str, Any], cluster_serve_config: dict[str, Any]
    ) -> None:
        cluster = rayservice["spec"]["rayClusterConfig"]
        assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
        (group,) = cluster["workerGroupSpecs"]
        (container,) = group["template"]["spec"]["containers"]
        cpus_per_worker = Decimal(container["resources"]["limits"]["cpu"])
        assert container["resources"]["requests"] == container["resources"]["limits"]
        needed = Decimal(0)
        for name, deployment in _deployments(cluster_serve_config).items():
            cpus = Decimal(str(deployment["ray_actor_options"]["num_cpus"]))
            assert cpus <= cpus_per_worker, name
            autoscaling = deployment.get("autoscaling_config")
            replicas = autoscaling["max_replicas"] if autoscaling else deployment["num_replicas"]
            needed += cpus * replicas
        assert needed <= cpus_per_worker * group["maxReplicas"]
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


class TestSecretsAndEnvironment:
    def test_every_secret_referenced_is_in_the_example(
        self, rayservice: dict[str, Any], example_secret: dict[str, Any]
    ) -> None:
        required = set()
        for container in _containers(rayservice):
            for entry in container["env"]:
                if "valueFrom" not in entry:
                    continue
                ref = entry["valueFrom"]["secretKeyRef"]
                assert ref["name"] == example_secret["metadata"]["name"]
                assert ref["key"] in example_secret["stringData"], ref["key"]
                if not ref.get("optional", False):
                    required.add(ref["key"])
        assert required == {"DATABASE_URL", "JWT_SECRET"}

    def test_head_and_workers_share_one_environment(self, rayservice: dict[str, Any]) -> None:
        head, *workers = _containers(rayservice)
        assert workers
        assert all(worker["env"] == head["env"] for worker in workers)

    def test_every_variable_is_one_the_platform_reads(self, rayservice: dict[str, Any]) -> None:
        names = {alias for field in Settings.model_fields.values() if (alias := field.alias)}
        for group, field in Settings.model_fields.items():
            if isinstance(field.default, BaseModel):
                names |= {f"{group}__{name}".upper() for name in type(field.default).model_fields}
        head = next(_containers(rayservice))
        assert {e["name"] for e in head["env"]} - NOT_SETTINGS <= names

    def test_the_platform_reads_the_cluster_environment(
        self,
        rayservice: dict[str, Any],
        example_secret: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        head = next(_containers(rayservice))
        for entry in head["env"]:
            if "valueFrom" in entry:
                value = example_secret["stringData"][entry["valueFrom"]["secretKeyRef"]["key"]]
            else:
                value = entry["value"]
            monkeypatch.setenv(entry["name"], value)
        with pytest.raises(ValidationError, match="JWT_SECRET must be at least 32 characters"):
            Settings()
        monkeypatch.setenv("JWT_SECRET", "0" * 64)
        settings = Settings()
        assert settings.environment is Environment.production
        assert settings.active_storage_service is StorageService.s3
        assert settings.s3.bucket == "fluently-audio"
        assert settings.s3.access_key_id is not None
        assert settings.database_url is not None
        assert settings.database_url.get_secret_value().startswith("postgresql+psycopg://")
        assert settings.trusted_proxies
        assert "127.0.0.1" in settings.allowed_hosts


class TestImage:
    def test_head_and_workers_run_the_image_the_readme_builds(
        self, rayservice: dict[str, Any]
    ) -> None:
        images = {container["image"] for container in _containers(rayservice)}
        assert len(images) == 1
        (image,) = images
        version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
        assert image.endswith(f"/fluently:{version}")
        readme = (REPO / "README.md").read_text()
        assert f"docker build -t {image} ." in readme
        assert f"docker build -t {image} ." in DOCKERFILE.read_text()

    def test_the_image_has_the_ray_the_cluster_names(
        self, rayservice: dict[str, Any], dockerfile: str
    ) -> None:
        ray_version = re.search(r"^ARG RAY_VERSION=(\S+)$", dockerfile, re.MULTILINE)
        assert ray_version is not None
        assert rayservice["spec"]["rayClusterConfig"]["rayVersion"] == ray_version[1]
        assert '"ray[serve]==${RAY_VERSION}"' in dockerfile
        # The image installs the versions the suite passed with: that Ray among them.
        assert "-c /src/constraints.txt" in dockerfile
        assert pinned_versions()["ray"] == ray_version[1]

    def test_python_311_and_node_20_with_the_console_where_the_platform_looks(
        self, dockerfile: str
    ) -> None:
        bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
        assert bases[0].startswith("node:20")
        assert bases[-1].startswith("python:3.11-slim")
        assert "npm ci" in dockerfile and "npm run build" in dockerfile
        copied = re.search(r"^COPY --from=console /web/dist (\S+)$", dockerfile, re.MULTILINE)
        console_dir = re.search(r"FLUENTLY_CONSOLE_DIR=(\S+)", dockerfile)
        assert copied is not None and console_dir is not None
        assert copied[1] == console_dir[1]

    def test_runs_as_a_numeric_non_root_user(
        self, rayservice: dict[str, Any], dockerfile: str
    ) -> None:
        users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
        assert users
        uid = users[-1].split(":")[0]
        assert uid.isdigit() and int(uid) != 0
        cluster = rayservice["spec"]["rayClusterConfig"]
        pods = [cluster["headGroupSpec"]] + cluster["workerGroupSpecs"]
        assert all(pod["template"]["spec"]["securityContext"]["runAsNonRoot"] for pod in pods)

    def test_everything_it_copies_is_in_the_build_context(self, dockerfile: str) -> None:
        allowed = {
            line[1:]
            for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.startswith("!")
        }
        assert "*" in (REPO / ".dockerignore").read_text().splitlines()
        for line in dockerfile.splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                sources = line.split()[1:-1]
                for source in sources:
                    top = source.split("/")[0]
                    assert top in allowed, source
                    assert (REPO / source).exists(), source


class TestRunningAtScale:
    def test_the_ingress_example_reaches_the_serve_service(
        self, rayservice: dict[str, Any], cluster_serve_config: dict[str, Any]
    ) -> None:
        ingress = yaml.safe_load((KUBERAY / "ingress.example.yaml").read_text())
        (rule,) = ingress["spec"]["rules"]
        (path,) = rule["http"]["paths"]
        service = path["backend"]["service"]
        assert service["name"] == f"{rayservice['metadata']['name']}-serve-svc"
        assert service["port"]["number"] == cluster_serve_config["http_options"]["port"]
        body = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        assert int(body.removesuffix("m")) * 1024 * 1024 > UploadSettings().max_bytes

    def test_the_readme_load_benchmark_command_parses(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        readme = (REPO / "README.md").read_text()
        (command,) = [
            line.strip()
            for line in readme.splitlines()
            if line.strip().startswith("ray job submit") and "benchmarks/load.py" in line
        ]
        words = shlex.split(command)
        assert "--working-dir" in words
        python, script, *args = words[words.index("--") + 1 :]
        assert (python, script) == ("python", "benchmarks/load.py")
        monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
        load = _load_module(REPO / script, "benchmark_load")
        monkeypatch.setattr(sys, "argv", [script, *args])
        parsed = load.parse_args()
        assert parsed.url == "http://127.0.0.1:8000"
        # Every tenant it signs up comes from 127.0.0.1: stay within the per-address limit.
        assert parsed.clients + parsed.warmup <= AuthSettings().signup_limit_per_ip


class TestImageSmoke:
    """``deploy/kuberay/image_smoke.py`` runs a built image as the RayService would: it must
    deploy the manifest's application and environment, not a variant of its own."""

    smoke = _load_module(KUBERAY / "image_smoke.py", "kuberay_image_smoke")

    def test_deploys_the_manifests_applications_with_only_the_proxy_moved(
        self, cluster_serve_config: dict[str, Any]
    ) -> None:
        config = self.smoke.serve_config(48_123)
        assert config["http_options"] == {
            **cluster_serve_config["http_options"],
            "host": "127.0.0.1",
            "port": 48_123,
        }
        assert {k: v for k, v in config.items() if k != "http_options"} == {
            k: v for k, v in cluster_serve_config.items() if k != "http_options"
        }

    def test_passes_the_manifests_environment_and_every_required_secret(
        self, rayservice: dict[str, Any]
    ) -> None:
        env = self.smoke.container_env("postgresql://app", "postgresql://owner", jwt_secret="j")
        head = next(_containers(rayservice))
        for entry in head["env"]:
            if "value" in entry and entry["name"] not in {
                "ACTIVE_STORAGE_SERVICE",
                "ALLOWED_HOSTS",
            }:
                assert env[entry["name"]] == entry["value"], entry["name"]
        assert env["FLUENTLY_ENV"] == "production"
        assert (env["DATABASE_URL"], env["JWT_SECRET"]) == ("postgresql://app", "j")
