"""IssClient against the ISS stand-in over real HTTP on 127.0.0.1, and real boto3 to moto."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobprobe.iss_client import (
    IssAuthError,
    IssClient,
    IssCredentialsError,
    IssError,
    IssFileTooLargeError,
    IssNotFoundError,
    IssServerError,
    IssTimeoutError,
    is_transient,
)
from jobprobe.iss_client.devserver import DevServer
from tests import services

SECRET = "cs-7f3c9e1d-SUPER-SECRET-value"
AWS_SECRET_KEY = "aws-SECRET-key-5b2e8a"


@pytest.fixture
def dev() -> Iterator[DevServer]:
    server = DevServer(port=0, speed=100.0, client_secret=SECRET).start()
    try:
        yield server
    finally:
        server.stop()


def make_client(dev: DevServer, **options: object) -> IssClient:
    opts: dict[str, object] = {"timeout": 5.0, "backoff_base": 0.01, "max_retries": 4}
    opts.update(options)
    return IssClient(dev.url, dev.url, dev.token_url, dev.client_id, SECRET, **opts)  # type: ignore[arg-type]


@pytest.fixture
def client(dev: DevServer) -> Iterator[IssClient]:
    with make_client(dev) as c:
        yield c


def test_iter_jobs_follows_continuation_tokens(dev: DevServer, client: IssClient) -> None:
    jobs = list(client.iter_jobs())
    assert len(jobs) == len(dev.jobs) > 100
    assert len({j.job_id for j in jobs}) == len(jobs)
    dev.reset_stats()
    assert len(list(client.iter_jobs(page_size=25))) == len(dev.jobs)
    assert dev.stats()["api_requests"] == -(-len(dev.jobs) // 25)


def test_filters_and_limit(client: IssClient) -> None:
    page = client.list_jobs(limit=10, job_type="ISIM")
    assert page.jobs and all(j.type == "ISIM" for j in page.jobs) and page.count == len(page.jobs)
    isim_ids = {j.job_id for j in client.iter_jobs(job_type="ISIM", queue="default")}
    assert isim_ids and all(client.get_job(i).raw()["Queue"] == "default" for i in isim_ids)
    one = client.list_jobs(job_request_id="JR-100003")
    assert [j.job_id for j in one.jobs] == ["JR-100003"]
    for bad in (0, 101):
        with pytest.raises(ValueError):
            client.list_jobs(limit=bad)


def test_unknown_types_and_statuses_are_kept(client: IssClient) -> None:
    jobs = {j.job_id: j for j in client.iter_jobs()}
    odd_type = [j for j in jobs.values() if not j.is_known_type]
    odd_status = [j for j in jobs.values() if not j.is_known_status]
    assert [j.type for j in odd_type] == ["QuantumSim"]
    assert [j.status for j in odd_status] == ["quarantined"]
    detail = client.get_job(odd_type[0].job_id)
    assert detail.execution and detail.raw()["Queue"]


def test_platforms_instances_schema(client: IssClient) -> None:
    names = [p.platform_name for p in client.list_platforms()]
    assert names == ["GNR-AP", "SRF-SP", "LNL-M"]
    gnr = client.get_platform("gnr-ap-2s")
    assert gnr.platform_type == "Simics" and "AMX" in gnr.features and gnr.memory_size
    assert gnr.versions["Simics"]
    inst = client.list_instances()
    assert client.get_instance(inst[0].instance_id).platform_name == inst[0].platform_name
    assert client.get_schema("iwps", "GNR-AP")["properties"]["Threads"]["maximum"] == 128
    with pytest.raises(IssNotFoundError):
        client.get_schema("iwps", "NO-SUCH")


def test_token_is_cached_and_refreshed_once_on_401(dev: DevServer, client: IssClient) -> None:
    for _ in range(10):
        client.list_platforms()
    assert dev.stats()["token_requests"] == 1
    dev.expire_tokens()
    assert client.list_platforms()
    stats = dev.stats()
    assert stats["token_requests"] == 2 and stats["unauthorized"] == 1


def test_expire_tokens_over_admin_endpoint(dev: DevServer, client: IssClient) -> None:
    client.list_platforms()
    httpx.post(f"{dev.url}/_admin/faults", json={"kind": "expire_tokens"}).raise_for_status()
    client.list_platforms()
    stats = httpx.get(f"{dev.url}/_admin/requests").json()
    assert stats["token_requests"] == 2


def test_429_retry_after_is_honoured(dev: DevServer, client: IssClient) -> None:
    httpx.post(
        f"{dev.url}/_admin/faults", json={"kind": "429", "count": 1, "retry_after": 1}
    ).raise_for_status()
    started = time.monotonic()
    assert client.list_platforms()
    assert time.monotonic() - started >= 0.95
    assert dev.stats()["faults"] == 1


def test_429_retry_after_is_capped(dev: DevServer) -> None:
    dev.inject_fault("429", 2, retry_after=120)
    with make_client(dev, retry_after_cap=0.05) as c:
        started = time.monotonic()
        assert c.list_platforms()
        assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("kind", ["502", "503", "504"])
def test_gateway_errors_are_retried_then_succeed(
    kind: str, dev: DevServer, client: IssClient
) -> None:
    dev.inject_fault(kind, 2)
    assert client.get_job("JR-100000").job_id == "JR-100000"
    assert dev.stats()["api_requests"] == 3


def test_503_forever_gives_up_after_bounded_attempts(dev: DevServer) -> None:
    dev.inject_fault("503", 1000)
    with make_client(dev, max_retries=3) as c, pytest.raises(IssServerError) as info:
        c.list_platforms()
    assert info.value.status_code == 503 and "injected 503" in (info.value.detail or "")
    assert is_transient(info.value)
    assert dev.stats()["api_requests"] == 4


def test_slow_answer_beyond_timeout_is_a_timeout(dev: DevServer) -> None:
    dev.inject_fault("slow", 5, delay=3.0)
    with make_client(dev, timeout=0.3, max_retries=1) as c:
        started = time.monotonic()
        with pytest.raises(IssTimeoutError):
            c.list_platforms()
        assert time.monotonic() - started < 2.0


def test_bad_credentials_is_a_permanent_auth_error(dev: DevServer) -> None:
    bad = IssClient(dev.url, dev.url, dev.token_url, dev.client_id, "wrong")
    with bad, pytest.raises(IssAuthError) as info:
        bad.list_jobs()
    assert info.value.status_code == 401 and not is_transient(info.value)
    assert info.value.detail == "invalid_client"


def test_unknown_job_is_not_found(client: IssClient) -> None:
    with pytest.raises(IssNotFoundError) as info:
        client.get_job("JR-nope")
    assert info.value.status_code == 404 and "JR-nope" in (info.value.detail or "")


def finished_job(dev: DevServer, client: IssClient, job_type: str = "IWPS") -> str:
    job_id = dev.create_job(job_type=job_type)
    job = client.wait_for_job(job_id, deadline_s=10, poll_interval=0.02, until={"complete"})
    assert [s["State"] for s in job.sub_states][:2] == ["requested", "queued"]
    return job_id


def test_binary_download_is_byte_identical(
    dev: DevServer, client: IssClient, tmp_path: Path
) -> None:
    job_id = finished_job(dev, client)
    names = {f.name for f in client.list_files(job_id, "iwps").files}
    assert names == {"sim.out", "sim.summary.profile", "cpi-stack.png"}
    dest = tmp_path / "cpi.png"
    size = client.download_file(job_id, "iwps", "cpi-stack.png", dest)
    expected = dev.artifact_bytes(job_id, "cpi-stack.png")
    assert dest.read_bytes() == expected and size == len(expected)
    assert expected.startswith(b"\x89PNG\r\n\x1a\n")
    client.download_file(job_id, "iwps", "sim.out", tmp_path / "sim.out")
    assert (tmp_path / "sim.out").read_bytes() == dev.artifact_bytes(job_id, "sim.out")
    logs = [c.name for c in client.list_logs(job_id).children]
    assert "console.log" in logs
    client.download_log(job_id, "console.log", tmp_path / "console.log")
    assert b"status" in (tmp_path / "console.log").read_bytes()


def test_download_size_cap_leaves_no_file(
    dev: DevServer, client: IssClient, tmp_path: Path
) -> None:
    job_id = finished_job(dev, client, "ISIM")
    dest = tmp_path / "cpi.png"
    with pytest.raises(IssFileTooLargeError):
        client.download_file(job_id, "isim", "cpi-stack.png", dest, max_bytes=100)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IssNotFoundError):
        client.download_file(job_id, "isim", "missing.bin", dest)
    assert list(tmp_path.iterdir()) == []


def test_wait_for_job_has_a_deadline(dev: DevServer, client: IssClient) -> None:
    job_id = dev.create_job(status_path=("requested", "queued"))
    with pytest.raises(IssTimeoutError, match=job_id):
        client.wait_for_job(job_id, deadline_s=0.2, poll_interval=0.05, until={"complete"})
    failing = dev.create_job(fail=True)
    assert client.wait_for_job(failing, deadline_s=10, poll_interval=0.02).status == "error"


def test_secrets_never_leak(dev: DevServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "jobprobe.iss_client", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    tokens: list[str] = []
    texts: list[str] = []
    with make_client(dev) as c:
        c.list_platforms()
        tokens.append(c.auth.token())
        dev.expire_tokens()
        dev.inject_fault("503", 1)
        c.list_jobs(limit=3)
        tokens.append(c.auth.token())
        texts += [repr(c), str(c.auth)]
        try:
            c.get_job("JR-missing")
        except IssError as exc:
            texts += [str(exc), repr(exc), str(exc.detail)]
    with IssClient(dev.url, dev.url, dev.token_url, dev.client_id, SECRET + "x") as bad:
        try:
            bad.list_platforms()
        except IssAuthError as exc:
            texts += [str(exc), repr(exc), str(exc.detail), repr(bad)]
    assert "HTTP Request" in caplog.text  # httpx logging was on
    assert "receive_response_headers" in caplog.text  # httpcore DEBUG was on
    assert len(set(tokens)) == 2
    everything = caplog.text + "\n".join(texts)
    for secret in (SECRET, *tokens):
        assert secret not in everything


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen(
        [*cmd, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not services.port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                services.unavailable("moto_server did not start (pip install 'moto[server]')")
            time.sleep(0.05)  # polling the port with a deadline, not waiting blindly
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_credentials_from_secrets_manager(
    dev: DevServer, moto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import boto3

    aws = {
        "aws_access_key_id": "AKIAISSTEST",
        "aws_secret_access_key": AWS_SECRET_KEY,
        "region_name": "us-west-2",
    }
    sm = boto3.client("secretsmanager", endpoint_url=moto_url, **aws)
    sm.create_secret(
        Name="iss/client",
        SecretString=json.dumps({"client_id": "dev-client", "client_secret": SECRET}),
    )
    caplog.set_level(logging.DEBUG)
    with IssClient.from_aws_secret(
        dev.url, dev.url, dev.token_url, secret_name="iss/client", endpoint_url=moto_url, **aws
    ) as c:
        assert c.list_platforms()[0].platform_name == "GNR-AP"
        assert SECRET not in repr(c)
    assert "secretsmanager" in caplog.text.lower()  # botocore DEBUG logging was on
    assert SECRET not in caplog.text and AWS_SECRET_KEY not in caplog.text
    with pytest.raises(IssCredentialsError, match="ResourceNotFoundException") as info:
        IssClient.from_aws_secret(
            dev.url, dev.url, dev.token_url, secret_name="iss/none", endpoint_url=moto_url, **aws
        )
    assert AWS_SECRET_KEY not in repr(info.value)


def test_devserver_module_runs_on_loopback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobprobe.iss_client.devserver", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split()[3]
        assert httpx.get(f"{url}/v1/platforms").status_code == 401
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def test_admin_endpoints_create_jobs_and_clear_faults(dev: DevServer, client: IssClient) -> None:
    made = httpx.post(f"{dev.url}/_admin/jobs", json={"job_type": "BiosValidation"})
    job_id = made.json()["JobRequestID"]
    assert made.status_code == 201 and client.get_job(job_id).type == "BiosValidation"
    httpx.post(f"{dev.url}/_admin/faults", json={"kind": "503", "count": 50}).raise_for_status()
    httpx.delete(f"{dev.url}/_admin/faults").raise_for_status()
    assert client.list_platforms()
    bad = httpx.post(f"{dev.url}/_admin/faults", json={"kind": "418"})
    assert bad.status_code == 400
