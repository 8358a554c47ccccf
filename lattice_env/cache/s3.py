"""`s3://BUCKET?endpoint=URL&region=R&profile=P`: any S3-compatible object store, through boto3 — the
AWS SDK itself, so credentials come exactly as the aws CLI takes them: AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), AWS_PROFILE or `profile=`, ~/.aws/credentials and config,
SSO, credential_process, instance roles. boto3 is heavy (a few hundred ms to import): only a cache
command or a build that misses a path imports it, never a hot command."""
from __future__ import annotations

from typing import Any, BinaryIO

from ..errors import LatticeError
from .url import Meter, Transport, Unreachable

MULTIPART = 64 << 20  # larger archives go up in parts (a single PUT tops out at 5 GB)


class S3Cache(Transport):
    def __init__(self, url: str, bucket: str, endpoint: str | None, region: str | None,
                 profile: str | None) -> None:
        self.url, self.bucket = url, bucket
        self.endpoint = (endpoint if "://" in endpoint else f"https://{endpoint}") if endpoint else None
        self.region, self.profile = region, profile
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            import botocore.config
            import botocore.exceptions

            try:
                session = boto3.session.Session(profile_name=self.profile)
            except botocore.exceptions.ProfileNotFound:
                raise LatticeError(f"cache {self.url}: no AWS profile {self.profile!r} "
                                   f"(~/.aws/config or AWS_CONFIG_FILE)") from None
            config = botocore.config.Config(
                connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                # A named endpoint is an S3-compatible server: bucket in the path, not in a host name.
                s3={"addressing_style": "path"} if self.endpoint else {},
                # Checksums only where S3 demands them: not every S3-compatible server takes the
                # trailing-checksum uploads recent SDKs send by default. Integrity is ours anyway (sha256).
                request_checksum_calculation="when_required", response_checksum_validation="when_required")
            self._client = session.client("s3", endpoint_url=self.endpoint, config=config,
                                          region_name=self.region or session.region_name or "us-east-1")
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`, its failures as one-line errors (None for a missing key)."""
        import botocore.exceptions as e

        try:
            return fn(*args, **kwargs)
        except e.ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if error.get("Code") in ("404", "NoSuchKey", "NotFound") or status == 404:
                if error.get("Code") == "NoSuchBucket":
                    raise LatticeError(f"cache {self.url}: no bucket {self.bucket}") from None
                return None
            raise LatticeError(f"cache {self.url}: {what}: {error.get('Code') or status} "
                               f"{error.get('Message') or ''}".rstrip()) from None
        except e.NoCredentialsError:
            raise LatticeError(f"cache {self.url}: no AWS credentials (set AWS_ACCESS_KEY_ID and "
                               f"AWS_SECRET_ACCESS_KEY, or a profile: AWS_PROFILE or ?profile=)") from None
        except (e.EndpointConnectionError, e.ConnectTimeoutError, e.ReadTimeoutError,
                e.ConnectionClosedError) as exc:
            raise Unreachable(f"cache {self.url} is unreachable ({exc})") from None
        except e.BotoCoreError as exc:
            raise LatticeError(f"cache {self.url}: {what}: {exc}") from None

    def get(self, key: str, limit: int) -> bytes | None:
        response = self._call(key, self.client.get_object, Bucket=self.bucket, Key=key)
        if response is None:
            return None
        if response.get("ContentLength", 0) > limit:
            response["Body"].close()
            raise LatticeError(f"cache {self.url}: {key} is larger than {limit} bytes")
        return self._call(key, response["Body"].read)

    def exists(self, key: str) -> bool:
        return self._call(key, self.client.head_object, Bucket=self.bucket, Key=key) is not None

    def open(self, key: str) -> BinaryIO | None:
        response = self._call(key, self.client.get_object, Bucket=self.bucket, Key=key)
        return None if response is None else _Body(self, key, response["Body"])

    def upload(self, key: str, src: BinaryIO, size: int, meter: Meter) -> None:
        from boto3.s3.transfer import TransferConfig

        self._call(key, self.client.upload_fileobj, src, self.bucket, key, Callback=meter,
                   Config=TransferConfig(multipart_threshold=MULTIPART, multipart_chunksize=MULTIPART))

    def list(self, prefix: str = "") -> list[tuple[str, float]]:
        found = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in self._call("list", list, pages) or []:
            for item in page.get("Contents", []):
                found.append((item["Key"], item["LastModified"].timestamp()))
        return found

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object, Bucket=self.bucket, Key=key)


class _Body:
    """An object's body, its read errors as one-line errors."""

    def __init__(self, cache: S3Cache, key: str, body: Any) -> None:
        self.cache, self.key, self.body = cache, key, body

    def read(self, n: int = -1) -> bytes:
        return self.cache._call(self.key, self.body.read, n if n >= 0 else None)

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
