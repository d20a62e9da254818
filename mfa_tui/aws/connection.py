"""How a profile reaches STS and IAM, from mfa-tui's own reading of the AWS files.

Left to itself, botocore parses both AWS files again to find a profile's region and
endpoint, and one line it cannot read anywhere in either file fails the call ("Unable
to parse config file") -- after the MFA code was spent. mfa-tui has already read the
files with botocore's rules, where a bad line costs only itself: the STS and IAM calls
are set up from that reading (the one `list` shows), handed to botocore in the shape of
its own `full_config`, so botocore opens no file at all. The environment
(`AWS_ENDPOINT_URL_STS`, `AWS_REGION`, ...) still counts as botocore counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mfa_tui.aws import ini
from mfa_tui.aws.files import ProfileSet
from mfa_tui.aws.names import section_name

# A profile's keys that say where and how to reach AWS (botocore's names).
CONNECTION_KEYS = (
    "region",
    "endpoint_url",
    "services",
    "ca_bundle",
    "sts_regional_endpoints",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
    "ignore_configured_endpoint_urls",
)
# The one profile of the config botocore is given: connection settings only, so every
# profile that connects alike shares one botocore session.
PROFILE = "mfa-tui-connection"


@dataclass(frozen=True)
class Connection:
    """A profile's connection settings; equal for profiles that connect alike."""

    settings: tuple[tuple[str, str], ...]
    # The `[services NAME]` section the profile names: (service, ((key, value), ...)).
    services: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def full_config(self) -> dict[str, Any]:
        """What botocore's `Session.full_config` would hold for the profile `PROFILE`."""
        profile = dict(self.settings)
        services: dict[str, Any] = {}
        if self.services and "services" in profile:
            services[profile["services"]] = {name: dict(keys) for name, keys in self.services}
        return {"profiles": {PROFILE: profile}, "sso_sessions": {}, "services": services}


def connection_for(profile_set: ProfileSet, name: str) -> Connection:
    """How `name` connects, as the parsed files say (nothing set: botocore's defaults)."""
    profile = profile_set.get(name)
    values = profile.values if profile is not None else {}
    settings = tuple((k, values[k]) for k in CONNECTION_KEYS if values.get(k))
    services_name = values.get("services")
    if not services_name:
        return Connection(settings)
    return Connection(settings, _services(profile_set.config_doc, services_name))


def _services(
    config: ini.IniDocument, wanted: str
) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The `[services wanted]` section as botocore reads it (the last one of that name)."""
    found: dict[str, str] = {}
    for header, values in config.values_with_defaults().items():
        if header.startswith("services") and section_name(header, "services") == wanted:
            found = values
    return tuple(
        (service, tuple(sorted(nested.items())))
        for service, value in sorted(found.items())
        if (nested := ini.parse_nested(value)) is not None
    )
