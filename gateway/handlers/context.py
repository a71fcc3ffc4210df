"""What a handler gets: the parsed request and the gateway's services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from intygsgw.interactions import Interaction
from intygsgw.service.services import Services


@dataclass
class Request:
    contract: Interaction  # the contract being answered: its name, version and namespace
    body: etree._Element  # the request element (Body's only child)
    raw: bytes  # the HTTP body exactly as received
    logical_address: str
    services: Services
    headers: Mapping[str, str] = field(default_factory=dict)
