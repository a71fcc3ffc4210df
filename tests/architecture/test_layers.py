"""The layering ARCHITECTURE.md describes, checked on the import graph."""

from __future__ import annotations

import ast
import importlib
import inspect

from tests.architecture.imports import ROOT, cycles, graph, modules, package_graph, package_of

EDGES = graph()


def test_no_module_imports_itself_through_others():
    assert cycles(EDGES) == []


def test_no_package_imports_itself_through_others():
    assert cycles(package_graph(EDGES)) == []


def third_party_imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found - {"intygsgw", "__future__"}


def layer_imports(prefix: str) -> dict[str, set[str]]:
    return {m: t for m, t in EDGES.items() if m == prefix or m.startswith(prefix + ".")}


def test_the_domain_depends_on_nothing_but_itself_and_the_standard_library():
    allowed = ("intygsgw.domain", "intygsgw.errors")
    for module, targets in layer_imports("intygsgw.domain").items():
        outside = {t for t in targets if not t.startswith(allowed)}
        assert not outside, f"{module} imports {outside}"
        assert not third_party_imports(modules()[module]) - {
            "datetime",
            "dataclasses",
            "enum",
            "re",
            "typing",
            "hashlib",
            "functools",
            "itertools",
            "collections",
            "math",
            "bisect",
            "zoneinfo",
            # a broker event's stable id and its encoding in the outbox (intygsgw.domain.events)
            "secrets",
            "json",
        }


def test_the_service_layer_knows_no_adapter_and_no_wire_format():
    # Ports only: storage, SOAP, outbound HTTP and files are behind intygsgw.service.ports.
    forbidden_packages = (
        "intygsgw.storage",
        "intygsgw.soap",
        "intygsgw.outbound",
        "intygsgw.http",
        "intygsgw.handlers",
        "intygsgw.config",
        "intygsgw.signing",
        "intygsgw.serving",
        "intygsgw.cli",
        "intygsgw.app",
        "intygsgw.registry",
    )
    forbidden_libraries = {"sqlalchemy", "lxml", "zeep", "urllib3", "requests", "granian", "gunicorn"}
    for module, targets in layer_imports("intygsgw.service").items():
        assert not {t for t in targets if t.startswith(forbidden_packages)}, module
        assert not third_party_imports(modules()[module]) & forbidden_libraries, module


def test_storage_depends_on_the_domain_not_on_the_layers_above():
    above = (
        "intygsgw.service",
        "intygsgw.handlers",
        "intygsgw.http",
        "intygsgw.app",
        "intygsgw.serving",
        "intygsgw.cli",
        "intygsgw.outbound",
        "intygsgw.delivery",
    )
    for module, targets in layer_imports("intygsgw.storage").items():
        assert not {t for t in targets if t.startswith(above)}, module


def test_nothing_imports_the_composition_root_but_the_entry_points():
    entry = ("intygsgw.serving", "intygsgw.cli")
    importers = {m for m, targets in EDGES.items() if "intygsgw.app" in targets}
    assert {package_of(m) for m in importers} <= set(entry)


def test_serving_code_does_not_import_the_development_tools():
    # devtools and the conformance suite ship so testers have them; a running gateway must not need them.
    tools = ("intygsgw.devtools", "intygsgw.conformance")
    for module, targets in EDGES.items():
        if module.startswith((*tools, "intygsgw.cli")):
            continue  # the CLI starts the stub recipient and the suite on request
        assert not {t for t in targets if t.startswith(tools)}, module


def test_every_exception_the_gateway_defines_derives_from_gateway_error():
    from intygsgw.errors import GatewayError

    strays = []
    for name in modules():
        if name.endswith(".__main__"):
            continue  # importing it runs the command line
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException) and not issubclass(cls, GatewayError):
                strays.append(f"{name}.{cls.__name__}")
    assert strays == []


def test_the_graph_reads_the_real_tree():
    # Guards the checks above against passing on an empty graph.
    assert len(EDGES) > 80
    assert "intygsgw.storage.repository" in EDGES["intygsgw.storage.uow"]
    assert (ROOT / "gateway" / "service" / "ports.py").is_file()
