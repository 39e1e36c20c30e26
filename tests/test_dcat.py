"""The DCAT-AP / mobilityDCAT-AP export: the graph compared with values written by hand, its JSON-LD
and Turtle read back to the same graph, and the whole export validated with pyshacl against the
DCAT-AP 3 shapes and the mobilityDCAT-AP mandatory properties (tests/fixtures/shacl)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS

from itlake.catalog.dcat import catalog_graph, catalog_uri, dataset_jsonld, to_dcat, to_jsonld, to_turtle
from itlake.catalog.resources import load_catalog
from itlake.config import get_settings

SHAPES = Path(__file__).parent / "fixtures" / "shacl"
BASE = "https://data.example.org/itlake/"
EU = "http://publications.europa.eu/resource/authority/"
MOBILITY = Namespace("https://w3id.org/mobilitydcat-ap#")
SH = Namespace("http://www.w3.org/ns/shacl#")
# Plain namespaces: pytest probes module attributes, which rdflib's closed namespaces warn about.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
DAY = date(2026, 12, 7)
# From the W3C DCAT 3 vocabulary: the class hierarchy the DCAT-AP shapes' sh:class dcat:Resource
# relies on.
DCAT_CLASSES = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
dcat:Dataset rdfs:subClassOf dcat:Resource .
dcat:DataService rdfs:subClassOf dcat:Resource .
"""


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def graph(catalog) -> Graph:
    return catalog_graph(catalog, synthetic_codes={"05.01.001"}, base_uri=BASE, issued=DAY)


@pytest.fixture(scope="module")
def shapes() -> Graph:
    shapes = Graph().parse(SHAPES / "dcat-ap-SHACL.ttl")
    return shapes.parse(SHAPES / "mobilitydcat-ap-mandatory.ttl")


def validate(data: Graph, shapes: Graph):
    from pyshacl import validate as shacl

    ontology = Graph().parse(data=DCAT_CLASSES, format="turtle")
    conforms, results, text = shacl(data, shacl_graph=shapes, ont_graph=ontology, inference="rdfs")
    return conforms, results, text


def one(g: Graph, subject, predicate):
    values = list(g.objects(subject, predicate))
    assert len(values) == 1, (subject, predicate, values)
    return values[0]


def test_dataset_of_taxi_od(graph):
    od = URIRef(BASE + "dataset/05.01.001")
    assert (od, RDF.type, DCAT.Dataset) in graph
    assert set(graph.objects(od, DCTERMS.title)) == {
        Literal("出租车区县间小时OD流量 [SYNTHETIC DATA — 合成数据]", lang="zh"),
        Literal("Hourly district-to-district taxi OD flows [SYNTHETIC DATA — 合成数据]", lang="en"),
    }
    assert one(graph, od, DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
    assert one(graph, od, DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/DAILY")
    assert one(graph, od, DCAT.theme) == URIRef(EU + "data-theme/TRAN")
    assert one(graph, od, MOBILITY.mobilityTheme) == URIRef(
        "https://w3id.org/mobilitydcat-ap/mobility-theme/other"
    )
    assert one(graph, od, DCTERMS.license) == URIRef("http://spdx.org/licenses/CC-BY-4.0")
    publisher = one(graph, od, DCTERMS.publisher)
    assert publisher == URIRef(BASE + "agent/440300-JTSJZX")
    assert one(graph, publisher, FOAF.name) == Literal("深圳市交通运输局综合交通大数据中心")
    contact = one(graph, od, DCAT.contactPoint)
    assert one(graph, contact, URIRef("http://www.w3.org/2006/vcard/ns#hasEmail")) == URIRef(
        "mailto:data@itlake.example.org"
    )
    temporal = one(graph, od, DCTERMS.temporal)
    assert one(graph, temporal, DCAT.startDate) == Literal(date(2024, 1, 1), datatype=XSD.date)
    assert str(one(graph, one(graph, od, DCTERMS.spatial), DCAT.bbox)) == (
        "POLYGON((113.75 22.39, 114.63 22.39, 114.63 22.87, 113.75 22.87, 113.75 22.39))"
    )
    assert one(graph, od, DCTERMS.relation) == URIRef(BASE + "dataset/03.02.002")
    record = URIRef(BASE + "record/05.01.001")
    assert one(graph, record, FOAF.primaryTopic) == od
    assert one(graph, record, DCTERMS.modified) == Literal(DAY, datatype=XSD.date)
    assert {"synthetic data", "合成数据"} <= {str(k) for k in graph.objects(od, DCAT.keyword)}


def test_every_distribution_has_a_standard_rights_and_format(graph):
    od = URIRef(BASE + "dataset/05.01.001")
    distributions = {str(d).removeprefix(BASE) for d in graph.objects(od, DCAT.distribution)}
    assert distributions == {
        "distribution/05.01.001/parquet",
        "distribution/05.01.001/csv",
        "distribution/05.01.001/delta-sharing",
    }
    parquet = URIRef(BASE + "distribution/05.01.001/parquet")
    assert one(graph, parquet, DCAT.accessURL) == URIRef(BASE + "releases/od_taxi_hourly/")
    assert one(graph, parquet, DCTERMS.format) == URIRef(EU + "file-type/PARQUET")
    assert one(graph, parquet, DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet"
    )
    sharing = URIRef(BASE + "distribution/05.01.001/delta-sharing")
    assert one(graph, sharing, DCAT.accessURL) == URIRef(BASE + "delta-sharing/")
    assert "public.open.od_taxi_hourly" in str(one(graph, sharing, DCTERMS.description))
    assert (URIRef(BASE + "delta-sharing/"), DCAT.servesDataset, od) in graph
    other = URIRef("https://w3id.org/mobilitydcat-ap/mobility-data-standard/other")
    free = URIRef("https://w3id.org/mobilitydcat-ap/conditions-for-access-and-usage/licence-provided-free-of-charge")
    agreement = URIRef(
        "https://w3id.org/mobilitydcat-ap/conditions-for-access-and-usage/contractual-arrangement-free-of-charge"
    )
    everything = list(graph.subjects(RDF.type, DCAT.Distribution))
    # 20 entries shared by Delta Sharing only, 23 also downloaded as Parquet and CSV: 20 + 23 * 3.
    assert len(everything) == 89
    for distribution in everything:
        assert one(graph, distribution, MOBILITY.mobilityDataStandard) == other
        rights = one(graph, distribution, DCTERMS.rights)
        assert one(graph, rights, DCTERMS.type) in {free, agreement}
    # Taxi GPS is shared with agencies only, on conditions the catalogue states.
    gps = URIRef(BASE + "distribution/03.02.001/delta-sharing")
    gps_rights = one(graph, gps, DCTERMS.rights)
    assert one(graph, gps_rights, DCTERMS.type) == agreement
    assert str(one(graph, gps_rights, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))).startswith(
        "仅向经审批的政府部门共享"
    )
    assert one(graph, URIRef(BASE + "dataset/03.02.001"), DCTERMS.accessRights) == URIRef(
        EU + "access-right/NON_PUBLIC"
    )


def test_catalogue_node_and_unpublished_entries(catalog, graph):
    node = catalog_uri(graph)
    assert node == URIRef(BASE + "catalog")
    assert one(graph, node, FOAF.homepage) == URIRef(BASE + "portal/")
    published = {e.code for e in catalog.entries if e.is_published}
    datasets = {str(d).removeprefix(BASE + "dataset/") for d in graph.objects(node, DCAT.dataset)}
    assert datasets == published and len(datasets) == 43
    assert len(list(graph.objects(node, DCAT.record))) == 43
    assert one(graph, URIRef(EU + "data-theme/TRAN"), SKOS.prefLabel) == Literal("Transport", lang="en")


def test_jsonld_and_turtle_are_the_same_graph(graph):
    document = to_jsonld(graph, catalog_uri(graph))
    assert document["@id"] == BASE + "catalog" and document["@type"] == "dcat:Catalog"
    # Datasets are written in full under the catalogue, so a reader goes top-down.
    first = document["dcat:dataset"][0]
    assert first["@type"] == "dcat:Dataset" and "dcat:distribution" in first
    from_jsonld = Graph().parse(data=json.dumps(document, ensure_ascii=False), format="json-ld")
    from_turtle = Graph().parse(data=to_turtle(graph), format="turtle")
    assert len(from_jsonld) == len(graph) == len(from_turtle)
    assert isomorphic(from_jsonld, graph) and isomorphic(from_turtle, graph)


def test_base_uri_comes_from_the_settings(catalog, monkeypatch):
    monkeypatch.setenv("ITLAKE_PUBLIC_BASE_URL", "https://open.jtys.example.cn/lake")
    get_settings.cache_clear()
    try:
        document = to_dcat(catalog)
        assert document["@id"] == "https://open.jtys.example.cn/lake/catalog"
        release = dataset_jsonld(catalog, "05.01.001", synthetic=True)
        assert release["@id"] == "https://open.jtys.example.cn/lake/dataset/05.01.001"
        assert "adms:versionNotes" in release and "@graph" not in release
        monkeypatch.setenv("ITLAKE_PUBLIC_BASE_URL", "ftp://nowhere")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="ITLAKE_PUBLIC_BASE_URL must be an http"):
            get_settings()
    finally:
        monkeypatch.delenv("ITLAKE_PUBLIC_BASE_URL")
        get_settings.cache_clear()
    with pytest.raises(KeyError, match="09.09.999"):
        catalog_graph(catalog, synthetic_codes={"09.09.999"})


def test_whole_export_conforms_to_dcat_ap_and_mobilitydcat_ap(graph, shapes):
    conforms, _, text = validate(graph, shapes)
    assert conforms, text


def test_a_broken_distribution_does_not_conform(graph, shapes):
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    csv = URIRef(BASE + "distribution/05.01.001/csv")
    parquet = URIRef(BASE + "distribution/04.02.001/parquet")
    broken.remove((csv, DCAT.accessURL, None))
    broken.remove((parquet, MOBILITY.mobilityDataStandard, None))
    conforms, results, _ = validate(broken, shapes)
    assert not conforms
    found = sorted(
        (str(results.value(r, SH.focusNode)).removeprefix(BASE), str(results.value(r, SH.resultPath)))
        for r in results.subjects(RDF.type, SH.ValidationResult)
    )
    assert found == [
        ("distribution/04.02.001/parquet", str(MOBILITY.mobilityDataStandard)),
        ("distribution/05.01.001/csv", str(DCAT.accessURL)),  # the DCAT-AP shape
        ("distribution/05.01.001/csv", str(DCAT.accessURL)),  # and the mobilityDCAT-AP one
    ]
    messages = {
        str(results.value(r, SH.resultMessage)) for r in results.subjects(RDF.type, SH.ValidationResult)
    }
    assert (
        "a distribution names exactly one mobility data standard (mobilitydcatap:mobilityDataStandard)"
        in messages
    )


def test_a_release_document_conforms_on_its_own(catalog, shapes):
    document = dataset_jsonld(catalog, "05.01.001", synthetic=True)
    assert document["dct:identifier"] == "05.01.001" and "adms:versionNotes" in document
    release = Graph().parse(data=json.dumps(document, ensure_ascii=False), format="json-ld")
    assert not list(release.subjects(RDF.type, DCAT.Catalog))
    assert len(list(release.subjects(RDF.type, DCAT.Distribution))) == 3
    conforms, _, text = validate(release, shapes)
    assert conforms, text
