"""Run a built image the way ``deploy/kuberay/rayservice.yaml`` runs it, and process a recording.

    python deploy/kuberay/image_smoke.py registry.example.com/fluently:0.1.0 [--engine podman]

What a RayService does with the image, on one machine, without Kubernetes:

1. a private embedded Postgres (this virtual environment's, on 127.0.0.1), whose app and owner
   URLs are passed as the ``fluently-secrets`` Secret would pass them (``DATABASE_URL``,
   ``DATABASE_ADMIN_URL``, ``JWT_SECRET``);
2. one container of the image on the host's network, as user 1000, with the manifest's
   environment (``FLUENTLY_ENV=production``; local storage in the container instead of S3),
   running what KubeRay runs in a pod: ``ray start --head``, then ``serve deploy`` of the
   manifest's ``serveConfigV2`` (free ports instead of 6379/8265/8000, so that it runs beside
   anything else on the machine);
3. ``/readyz`` until every deployment is ready, a sign-up, an upload, and polling until the
   recording is ``processed``; the transcript is printed.

Exit 0 when the recording is processed, 1 otherwise (the container's last log lines are
printed). The container and the database are removed either way. Needs ``docker`` or
``podman`` with a daemon or runtime that can start containers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from db.embedded import EmbeddedPostgres  # noqa: E402 - after the repository is importable

MANIFEST = REPO / "deploy" / "kuberay" / "rayservice.yaml"
RECORDING = REPO / "tests" / "fixtures" / "jfk.mp3"
CONTAINER_CONFIG = "/tmp/serve_config.yaml"  # noqa: S108 - inside the container


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image")
    parser.add_argument(
        "--engine", default=None, help="docker or podman (default: whichever is found)"
    )
    parser.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        help="extra argument for `<engine> run`, repeatable (e.g. --engine-arg=--runtime=runc)",
    )
    parser.add_argument("--recording", type=Path, default=RECORDING)
    parser.add_argument("--cpus", type=int, default=2, help="Ray's --num-cpus in the container")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for each wait")
    args = parser.parse_args()
    engine = args.engine or next((e for e in ("docker", "podman") if shutil.which(e)), None)
    if engine is None:
        parser.error("neither docker nor podman is on PATH")

    with tempfile.TemporaryDirectory(prefix="fluently-image-smoke-") as scratch:
        database = EmbeddedPostgres(Path(scratch) / "pg", port=free_port())
        urls = database.start()
        name = f"fluently-smoke-{secrets.token_hex(4)}"
        config = Path(scratch) / "serve_config.yaml"
        http_port = free_port()
        config.write_text(yaml.safe_dump(serve_config(http_port), sort_keys=False))
        config.chmod(0o644)
        ray_port, dashboard_port = free_port(), free_port()
        start = (
            f"ray start --head --port={ray_port} --dashboard-port={dashboard_port} "
            f"--dashboard-host=127.0.0.1 --num-cpus={args.cpus} --disable-usage-stats "
            f"&& serve deploy {CONTAINER_CONFIG} --address http://127.0.0.1:{dashboard_port} "
            "&& sleep infinity"
        )
        env = container_env(urls.app, urls.admin, jwt_secret=secrets.token_hex(32))
        command = [
            engine, "run", "--detach", "--name", name, "--network", "host", "--shm-size", "2g",
            "--volume", f"{config}:{CONTAINER_CONFIG}:ro",
            *(f"--env={key}={value}" for key, value in env.items()),
            *args.engine_arg, args.image, "bash", "-c", start,
        ]  # fmt: skip
        ok = False
        try:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            ok = exercise(f"http://127.0.0.1:{http_port}", args.recording, args.timeout)
        except (
            subprocess.CalledProcessError,
            httpx.HTTPError,
            TimeoutError,
            RuntimeError,
        ) as error:
            print(f"failed: {error}", file=sys.stderr)
        finally:
            if not ok:
                subprocess.run([engine, "logs", "--tail", "60", name], check=False)
            subprocess.run([engine, "rm", "--force", name], check=False, capture_output=True)
            database.stop()
    return 0 if ok else 1


def serve_config(http_port: int) -> dict[str, Any]:
    """The manifest's ``serveConfigV2``, its proxy on ``http_port`` of the loopback address."""
    config: dict[str, Any] = yaml.safe_load(rayservice()["spec"]["serveConfigV2"])
    config["http_options"] = {
        **config.get("http_options", {}),
        "host": "127.0.0.1",
        "port": http_port,
    }
    return config


def container_env(app_url: str, admin_url: str, *, jwt_secret: str) -> dict[str, str]:
    """The manifest's environment, with what the ``fluently-secrets`` Secret would add; the
    recordings stay in the container (local storage) instead of S3."""
    return {
        **manifest_env(),
        "DATABASE_URL": app_url,
        "DATABASE_ADMIN_URL": admin_url,
        "JWT_SECRET": jwt_secret,
        "ACTIVE_STORAGE_SERVICE": "local",
        "ALLOWED_HOSTS": '["127.0.0.1"]',
    }


def manifest_env() -> dict[str, str]:
    """The head container's plain ``env`` entries (the Secret's come from this script)."""
    head = rayservice()["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    entries = head["containers"][0]["env"]
    return {e["name"]: str(e["value"]) for e in entries if "value" in e}


def rayservice() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return document


def exercise(url: str, recording: Path, timeout_s: float) -> bool:
    """Ready, sign up, upload, wait for ``processed``; print what came back."""
    with httpx.Client(base_url=url, timeout=60) as client:
        ready = wait(lambda: _ready(client), timeout_s, "the platform to be ready")
        print(f"ready: {json.dumps(ready)}")
        email = f"smoke-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(18)
        signup = client.post(
            "/auth/signup",
            json={"tenant_name": "Image smoke", "email": email, "password": password},
        )
        signup.raise_for_status()
        headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        with recording.open("rb") as audio:
            created = client.post(
                "/audio_recordings",
                headers=headers,
                files={"file": (recording.name, audio, "application/octet-stream")},
            )
        created.raise_for_status()
        recording_id = created.json()["recording_id"]

        def processed() -> dict[str, Any] | None:
            body: dict[str, Any] = client.get(
                f"/audio_recordings/{recording_id}", headers=headers
            ).json()
            if body["status"] == "failed":
                raise RuntimeError(f"the recording failed: {body}")
            return body if body["status"] == "processed" else None

        body = wait(processed, timeout_s, "the recording to be processed")
        transcript = client.get(
            f"/audio_recordings/{recording_id}/transcript",
            params={"format": "json"},
            headers=headers,
        ).json()
        print(f"processed: {transcript.get('text')!r}")
        return bool(body)


def _ready(client: httpx.Client) -> dict[str, Any] | None:
    try:
        answer = client.get("/readyz")
    except httpx.TransportError:
        return None
    body: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    return body or None


def wait(probe: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    sys.exit(main())
