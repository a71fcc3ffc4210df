"""A caller of the gateway as an EHR system is one: zeep, built from the served WSDL.

Every answer that is not a fault is checked against the *published* responder
schema before the test sees it, so a test that forgets to look still proves
the wire format.
"""

from __future__ import annotations

import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin

from .published import assert_valid_answer

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
HUB_ADDRESS = "5565594230"


def endpoint_path(name: str, major: int) -> str:
    from intygsgw.interactions import ALL

    for interaction in ALL:
        if (interaction.name, interaction.major) == (name, major):
            return interaction.path
    return f"/clinicalprocess/healthcond/certificate/{name}/{major}/rivtabp21"


class GatewayClient:
    def __init__(self, base_url: str, logical_address: str = HUB_ADDRESS):
        self.base_url = base_url
        self.logical_address = logical_address
        self.history = HistoryPlugin(maxlen=1)
        self._clients: dict[tuple[str, int], zeep.Client] = {}

    def zeep_client(self, name: str, major: int) -> zeep.Client:
        # Built once per contract: reading the WSDL and its schemas costs a few hundred ms.
        if (name, major) not in self._clients:
            url = f"{self.base_url}{endpoint_path(name, major)}?wsdl"
            self._clients[(name, major)] = zeep.Client(url, plugins=[self.history])
        return self._clients[(name, major)]

    def _checked_body(self, name: str, major: int, envelope: etree._Element) -> etree._Element:
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        answer = body[0]
        if answer.tag != f"{{{SOAP_ENV}}}Fault":
            assert_valid_answer(name, major, answer)
        return answer

    def call(self, name: str, major: int, **kwargs):
        """Call ``name`` with zeep's own data binding; returns (result, raw response element)."""
        client = self.zeep_client(name, major)
        operation = getattr(client.service, name)
        result = operation(_soapheaders={"LogicalAddress": self.logical_address}, **kwargs)
        return result, self._checked_body(name, major, self.history.last_received["envelope"])

    def call_raw(self, name: str, major: int, envelope: bytes):
        """Send a prepared envelope through zeep's transport and let zeep read the reply.

        zeep's data binding loses the text of mixed-content ``delsvar``, so a
        certificate goes out as the XML an EHR system wrote.
        """
        client = self.zeep_client(name, major)
        binding = client.service._binding
        operation = binding.get(name)
        address = client.service._binding_options["address"]
        request = etree.fromstring(envelope)
        headers = {"SOAPAction": f'"{operation.soapaction}"', "Content-Type": 'text/xml; charset="utf-8"'}
        self.history.egress(request, headers, operation, client.service._binding_options)
        response = client.transport.post_xml(address, request, headers)
        raw = etree.fromstring(response.content)
        result = binding.process_reply(client, operation, response)
        return result, self._checked_body(name, major, raw)
