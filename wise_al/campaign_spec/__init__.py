"""Campaign specs: pydantic models (``extra="forbid"``, versioned), YAML/JSON loading."""

from wise_al.campaign_spec.campaign import SCHEMA_VERSION, CampaignSpec
from wise_al.campaign_spec.io import (
    dump_spec,
    load_spec,
    parse_spec,
    parse_spec_text,
    spec_json_schema,
)

__all__ = [
    "SCHEMA_VERSION",
    "CampaignSpec",
    "dump_spec",
    "load_spec",
    "parse_spec",
    "parse_spec_text",
    "spec_json_schema",
]
