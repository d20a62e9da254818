"""The test STS world itself: moto behind a proxy that fails a code once, as AWS would."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from mfa_tui.aws.files import load_profiles
from tests.tui.sts_world import Faults, fault_proxy, moto_server, seed_account


def test_proxy_fails_one_code_then_forwards(aws_dir: Path) -> None:
    faults = Faults(invalid_code_once=True)
    with moto_server() as url, fault_proxy(url, faults) as proxy:
        info = seed_account(url, aws_dir)
        user = load_profiles().profiles["test-user"].values
        sts = boto3.client(
            "sts",
            endpoint_url=proxy,
            region_name="us-east-1",
            aws_access_key_id=user["aws_access_key_id"],
            aws_secret_access_key=user["aws_secret_access_key"],
        )
        with pytest.raises(ClientError) as caught:
            sts.get_session_token(SerialNumber=info["serial"], TokenCode="111111")
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert "invalid MFA one time pass code" in caught.value.response["Error"]["Message"]
        token = sts.get_session_token(SerialNumber=info["serial"], TokenCode="222222")
        assert token["Credentials"]["SessionToken"]
        assert faults.actions == ["GetSessionToken", "GetSessionToken"]
