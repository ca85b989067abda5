"""Loading ISS client credentials from AWS Secrets Manager (the ``aws`` extra: boto3).

The secret is JSON with ``client_id`` and ``client_secret``, read with the ISS account's own AWS
keys, which are passed in explicitly and never taken from the ambient AWS configuration.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import SecretStr

from jobprobe.iss_client import errors
from jobprobe.iss_client.auth import ClientCredentials


class _DropResponseBodies(logging.Filter):
    """botocore logs whole response bodies at DEBUG: that body is the secret, so drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Response body")


def load_credentials_from_aws(
    secret_name: str,
    *,
    aws_access_key_id: str,
    aws_secret_access_key: str | SecretStr,
    region_name: str,
    endpoint_url: str | None = None,
) -> ClientCredentials:
    """Read ``{"client_id": ..., "client_secret": ...}`` from the Secrets Manager secret.

    ``endpoint_url`` points at a stand-in (moto's server) in tests. Raises
    ``IssCredentialsError`` with a one-line reason that names no secret value.
    """
    try:
        import boto3
        import botocore.exceptions
    except ImportError as exc:
        raise errors.IssCredentialsError(
            "boto3 is needed to read ISS credentials from AWS: pip install 'jobprobe[aws]'"
        ) from exc
    key = (
        aws_secret_access_key.get_secret_value()
        if isinstance(aws_secret_access_key, SecretStr)
        else aws_secret_access_key
    )
    parsers_log = logging.getLogger("botocore.parsers")
    body_filter = _DropResponseBodies()
    parsers_log.addFilter(body_filter)
    try:
        session = boto3.session.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=key,
            region_name=region_name,
        )
        client = session.client("secretsmanager", endpoint_url=endpoint_url)
        answer: dict[str, Any] = client.get_secret_value(SecretId=secret_name)
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise errors.IssCredentialsError(
            f"AWS Secrets Manager refused secret {secret_name!r} ({code}): "
            "check the secret name, region and the ISS AWS keys"
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise errors.IssCredentialsError(
            f"AWS Secrets Manager unreachable for secret {secret_name!r} "
            f"({type(exc).__name__}): check the region and endpoint"
        ) from exc
    finally:
        parsers_log.removeFilter(body_filter)
    return parse_secret(answer.get("SecretString"), secret_name=secret_name)


def parse_secret(text: str | None, *, secret_name: str = "") -> ClientCredentials:
    """Credentials from the secret's JSON text; the error names the missing key, not values."""
    try:
        data = json.loads(text or "")
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("client_id") or not data.get("client_secret"):
        raise errors.IssCredentialsError(
            f"secret {secret_name!r} is not JSON with client_id and client_secret"
        )
    return ClientCredentials(
        client_id=str(data["client_id"]), client_secret=SecretStr(str(data["client_secret"]))
    )
