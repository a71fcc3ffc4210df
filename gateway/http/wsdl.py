"""WSDL documents, generated from a registry entry.

All RIV-TA WSDLs have the same shape (one document/literal operation, a
header part named LogicalAddress, names derived from the contract); the
binding decides which element that header is (Basic Profile 2.1's
LogicalAddress, 2.0's WS-Addressing To). One generator serves every contract
and no WSDL file can drift from the registry.
"""

from __future__ import annotations

from lxml import etree

from intygsgw.registry import Contract

WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"


def render_wsdl(contract: Contract, endpoint_url: str, schema_base_url: str) -> bytes:
    name = contract.name
    tns = contract.wsdl_namespace
    binding_profile = contract.interaction.binding
    header = etree.QName(binding_profile.address_header)
    prefix = binding_profile.address_prefix
    request_element = etree.QName(contract.request_tag).localname
    nsmap = {"wsdl": WSDL, "soap": WSOAP, "xs": XS, "tns": tns, "tjsr": contract.namespace, prefix: header.namespace}
    W = lambda tag: f"{{{WSDL}}}{tag}"  # noqa: E731
    S = lambda tag: f"{{{WSOAP}}}{tag}"  # noqa: E731

    defs = etree.Element(W("definitions"), nsmap=nsmap, name=f"{name}Interaction", targetNamespace=tns)
    types = etree.SubElement(defs, W("types"))
    schema = etree.SubElement(types, f"{{{XS}}}schema", targetNamespace=tns)
    etree.SubElement(
        schema, f"{{{XS}}}import", namespace=contract.namespace, schemaLocation=f"{schema_base_url}/{contract.schema}"
    )
    etree.SubElement(
        schema,
        f"{{{XS}}}import",
        namespace=header.namespace,
        schemaLocation=f"{schema_base_url}/{binding_profile.address_schema}",
    )

    request = etree.SubElement(defs, W("message"), name=f"{name}Request")
    etree.SubElement(request, W("part"), name="LogicalAddress", element=f"{prefix}:{header.localname}")
    etree.SubElement(request, W("part"), name="parameters", element=f"tjsr:{request_element}")
    response = etree.SubElement(defs, W("message"), name=f"{name}Response")
    etree.SubElement(response, W("part"), name="parameters", element=f"tjsr:{name}Response")

    port_type = etree.SubElement(defs, W("portType"), name=f"{name}ResponderInterface")
    op = etree.SubElement(port_type, W("operation"), name=name)
    etree.SubElement(op, W("input"), message=f"tns:{name}Request")
    etree.SubElement(op, W("output"), message=f"tns:{name}Response")

    binding = etree.SubElement(defs, W("binding"), name=f"{name}ResponderBinding", type=f"tns:{name}ResponderInterface")
    etree.SubElement(binding, S("binding"), style="document", transport="http://schemas.xmlsoap.org/soap/http")
    bop = etree.SubElement(binding, W("operation"), name=name)
    etree.SubElement(bop, S("operation"), soapAction=contract.soap_action, style="document")
    binput = etree.SubElement(bop, W("input"))
    etree.SubElement(binput, S("header"), use="literal", message=f"tns:{name}Request", part="LogicalAddress")
    etree.SubElement(binput, S("body"), use="literal", parts="parameters")
    boutput = etree.SubElement(bop, W("output"))
    etree.SubElement(boutput, S("body"), use="literal")

    service = etree.SubElement(defs, W("service"), name=f"{name}ResponderService")
    port = etree.SubElement(service, W("port"), name=f"{name}ResponderPort", binding=f"tns:{name}ResponderBinding")
    etree.SubElement(port, S("address"), location=endpoint_url)
    return etree.tostring(defs, xml_declaration=True, encoding="UTF-8", pretty_print=True)
