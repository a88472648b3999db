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
import asyncio
import functools
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

# After the repository is importable. The API calls are the benchmarks' (503s retried).
from benchmarks._common import JFK, signup, upload, wait_processed  # noqa: E402
from db.embedded import EmbeddedPostgres  # noqa: E402
from fluently.launcher import NotReady, free_port, log_tail, require_ready  # noqa: E402

MANIFEST = REPO / "deploy" / "kuberay" / "rayservice.yaml"
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
    parser.add_argument("--recording", type=Path, default=JFK)
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
        # In the foreground, so that a container that exits ends the wait for /readyz at once.
        command = [
            engine, "run", "--rm", "--name", name, "--network", "host", "--shm-size", "2g",
            "--volume", f"{config}:{CONTAINER_CONFIG}:ro",
            *(f"--env={key}={value}" for key, value in env.items()),
            *args.engine_arg, args.image, "bash", "-c", start,
        ]  # fmt: skip
        # Outside the scratch directory, so that the log a failure names is still there.
        log_path = Path(tempfile.gettempdir()) / f"{name}.log"
        url = f"http://127.0.0.1:{http_port}"
        ok = False
        with log_path.open("wb") as log:
            container = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            require_ready(url, container, log_path=log_path, timeout_s=args.timeout)
            ok = asyncio.run(exercise(url, args.recording, args.timeout))
            if not ok:
                print(log_tail(log_path), file=sys.stderr)
        except NotReady as error:  # its message ends with the container's log
            print(f"failed: {error}", file=sys.stderr)
        except (httpx.HTTPError, TimeoutError) as error:
            print(f"failed: {error}\n{log_tail(log_path)}", file=sys.stderr)
        finally:
            subprocess.run([engine, "rm", "--force", name], check=False, capture_output=True)
            container.wait()
            database.stop()
            if ok:
                log_path.unlink()
            else:
                print(f"the container's whole log: {log_path}", file=sys.stderr)
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
    }


def manifest_env() -> dict[str, str]:
    """The head container's plain ``env`` entries (the Secret's come from this script)."""
    head = rayservice()["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    entries = head["containers"][0]["env"]
    return {e["name"]: str(e["value"]) for e in entries if "value" in e}


@functools.cache
def rayservice() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return document


async def exercise(url: str, recording: Path, timeout_s: float) -> bool:
    """Sign up, upload, wait until the recording is done; print what came back."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        headers = await signup(client)
        recording_id = await upload(client, headers, recording)
        body = await wait_processed(client, headers, recording_id, timeout_s=timeout_s)
        if body["status"] != "processed":
            print(f"the recording failed: {body}", file=sys.stderr)
            return False
        transcript = await client.get(
            f"/audio_recordings/{recording_id}/transcript",
            params={"format": "json"},
            headers=headers,
        )
        transcript.raise_for_status()
        print(f"processed: {transcript.json().get('text')!r}")
        return True


if __name__ == "__main__":
    sys.exit(main())
