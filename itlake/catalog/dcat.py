"""The published part of the catalogue as DCAT-AP 3 / mobilityDCAT-AP metadata, for harvesters.

The catalogue is built as an RDF graph (rdflib) and written as JSON-LD or Turtle:

    from itlake.catalog.resources import load_catalog
    from itlake.catalog.dcat import catalog_graph, to_jsonld, to_turtle
    graph = catalog_graph(load_catalog())
    to_turtle(graph)                       # text/turtle
    to_jsonld(graph, catalog_uri(graph))   # a JSON-LD document, nested from the catalogue down

One dcat:Dataset per entry that is open or shared, each with a catalogue record, a distribution
per sharing method, and the mobilityDCAT-AP mandatory properties: a mobility theme, a mobility data
standard and a rights statement with its conditions for access and usage on every distribution.
URIs start at the public base URL (ITLAKE_PUBLIC_BASE_URL, see itlake.config). Terms from
controlled vocabularies are typed and labelled in the graph itself, so that it validates against
the DCAT-AP SHACL shapes without fetching the vocabularies. Pure Python (rdflib).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, deque
from datetime import UTC, date, datetime
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from itlake.catalog.contracts import Bilingual
from itlake.catalog.resources import SHARE_BY_TYPE, Catalog, CatalogEntry
from itlake.config import get_settings

ADMS = Namespace("http://www.w3.org/ns/adms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
MOBILITY = Namespace("https://w3id.org/mobilitydcat-ap#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
SPDX = "http://spdx.org/licenses/"
MOBILITY_VOCABULARY = "https://w3id.org/mobilitydcat-ap/"
DELTA_SHARING_PROTOCOL = "https://github.com/delta-io/delta-sharing/blob/main/PROTOCOL.md"
SYNTHETIC_MARK = "SYNTHETIC DATA — 合成数据"

CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "adms": str(ADMS),
    "mobilitydcatap": str(MOBILITY),
    "gsp": str(GSP),
    "rdfs": str(RDFS),
    "skos": str(SKOS),
    "xsd": str(XSD),
}

# update_cycle -> the EU frequency authority table, with its English label.
FREQUENCY = {
    "realtime": ("UPDATE_CONT", "continuously updated"),
    "5min": ("5MIN", "every five minutes"),
    "hourly": ("HOURLY", "hourly"),
    "daily": ("DAILY", "daily"),
    "weekly": ("WEEKLY", "weekly"),
    "monthly": ("MONTHLY", "monthly"),
    "yearly": ("ANNUAL", "annual"),
}
# open.level -> the EU access-right authority table.
ACCESS_RIGHTS = {"open": "PUBLIC", "conditional": "RESTRICTED", "closed": "NON_PUBLIC"}
LANGUAGES = {"ZHO": "Chinese", "ENG": "English"}
# By "class.item"; top-level themes of the mobilityDCAT-AP mobility-theme vocabulary.
MOBILITY_THEME = {
    "01.01": "static-road-network-data",
    "01.02": "static-road-network-data",
    "01.03": "public-transport-scheduled-transport",
    "01.04": "filling-and-charging-stations",
    "02.01": "freight-and-logistics",
    "03.01": "public-transport-scheduled-transport",
    "03.02": "public-transport-non-scheduled-transport",
    "03.03": "public-transport-non-scheduled-transport",
    "03.04": "sharing-and-hiring-services",
    "04.01": "freight-and-logistics",
    "04.02": "freight-and-logistics",
    "04.03": "freight-and-logistics",
    "05.02": "real-time-traffic-data",
}
# Every distribution is a table in the lake's own contract (Parquet, CSV, Delta Sharing), not
# the feed's format as published (a GTFS zip, a GBFS feed): its standard is "other", and
# dct:conformsTo on the dataset names the contract.
MOBILITY_DATA_STANDARD = "other"
# Conditions for access and usage (mobilityDCAT-AP vocabulary), from the opening to the public.
CONDITIONS = {
    "open": ("licence-provided-free-of-charge", "licence provided, free of charge"),
    "conditional": ("contractual-arrangement-free-of-charge", "contractual arrangement, free of charge"),
    "closed": ("contractual-arrangement-free-of-charge", "contractual arrangement, free of charge"),
}
# Each release folder offers these files: (id suffix, title, EU file type, IANA media type).
DOWNLOADS = (
    ("parquet", "Parquet download", "PARQUET", "application/vnd.apache.parquet"),
    ("csv", "CSV download (UTF-8)", "CSV", "text/csv"),
)
CATALOG_TITLE = Bilingual(zh="综合交通大数据资源目录", en="Integrated transport data resource catalogue")
CATALOG_DESCRIPTION = Bilingual(
    zh="综合交通大数据中心已共享或开放的数据资源。",
    en="Data resources shared or opened by the integrated transport big-data centre.",
)
SYNTHETIC_NOTE = Bilingual(
    zh="演示用合成数据，不是真实观测。", en="Synthetic demo data, not real observations."
)


def _lang(text: Bilingual, suffix: str = "") -> list[Literal]:
    return [Literal(text.zh + suffix, lang="zh"), Literal(text.en + suffix, lang="en")]


def _bbox_wkt(bbox: tuple[float, float, float, float]) -> str:
    w, s, e, n = bbox
    return f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"


class _Builder:
    """Adds the triples of one export to a graph; vocabulary terms are typed and labelled once."""

    def __init__(self, catalog: Catalog, base: str, synthetic: set[str], issued: date):
        self.g = Graph()
        for prefix, uri in CONTEXT.items():
            self.g.bind(prefix, uri)
        self.catalog, self.base, self.synthetic, self.issued = catalog, base, synthetic, issued

    def uri(self, path: str) -> URIRef:
        return URIRef(self.base + path)

    def add(self, subject, predicate, *objects) -> None:
        for obj in objects:
            self.g.add((subject, predicate, obj))

    def term(self, iri: str, kind: URIRef, label: str | None = None, scheme: str | None = None) -> URIRef:
        """A term of a controlled vocabulary, typed with the class the DCAT-AP range asks for."""
        node = URIRef(iri)
        self.add(node, RDF.type, kind)
        if label is not None:
            self.add(node, SKOS.prefLabel, Literal(label, lang="en"))
        if scheme is not None:
            self.add(node, SKOS.inScheme, URIRef(scheme))
        return node

    def concept(self, iri: str, label: str, scheme: str) -> URIRef:
        return self.term(iri, SKOS.Concept, label, scheme)

    def languages(self) -> list[URIRef]:
        return [
            self.term(EU + f"language/{code}", DCTERMS.LinguisticSystem, label)
            for code, label in LANGUAGES.items()
        ]

    def agent(self, name: str, code: str) -> URIRef:
        node = self.uri(f"agent/{code}")
        self.add(node, RDF.type, FOAF.Agent)
        self.add(node, FOAF.name, Literal(name))
        self.add(node, DCTERMS.identifier, Literal(code))
        return node

    def location(self, node, name: str, bbox) -> None:
        self.add(node, RDF.type, DCTERMS.Location)
        self.add(node, SKOS.prefLabel, Literal(name))
        self.add(node, DCAT.bbox, Literal(_bbox_wkt(bbox), datatype=GSP.wktLiteral))

    def licence(self, licence: str):
        if licence.startswith(("http://", "https://")):
            node = URIRef(licence)
        elif re.fullmatch(r"[A-Za-z0-9.+-]+", licence):
            node = URIRef(SPDX + licence)
        else:
            node = BNode("licence-" + hashlib.sha256(licence.encode()).hexdigest()[:16])
            self.add(node, RDFS.label, Literal(licence))
        self.add(node, RDF.type, DCTERMS.LicenseDocument)
        return node

    def rights(self, entry: CatalogEntry, suffix: str) -> BNode:
        """The rights statement of one distribution: conditions for access and usage, and the
        catalogue's own conditions where it states any."""
        node = BNode(f"rights-{entry.code}-{suffix}")
        slug, label = CONDITIONS[entry.open.level]
        scheme = MOBILITY_VOCABULARY + "conditions-for-access-and-usage"
        self.add(node, RDF.type, DCTERMS.RightsStatement)
        self.add(node, DCTERMS.type, self.concept(f"{scheme}/{slug}", label, scheme))
        for text in (entry.sharing.conditions, entry.open.conditions):
            if text:
                self.add(node, RDFS.label, Literal(text))
        return node

    def distribution(
        self,
        entry: CatalogEntry,
        dataset: URIRef,
        suffix: str,
        title: str,
        access: str,
        file_type: str,
        media_type: str | None = None,
    ) -> URIRef:
        node = self.uri(f"distribution/{entry.code}/{suffix}")
        self.add(dataset, DCAT.distribution, node)
        self.add(node, RDF.type, DCAT.Distribution)
        self.add(node, DCTERMS.title, Literal(title, lang="en"))
        self.add(node, DCAT.accessURL, URIRef(access))
        self.add(node, DCTERMS.format, self.term(EU + f"file-type/{file_type}", DCTERMS.MediaTypeOrExtent))
        if media_type is not None:
            self.add(node, DCAT.mediaType, self.term(IANA + media_type, DCTERMS.MediaType))
        self.add(node, DCTERMS.license, self.licence(entry.licence))
        self.add(node, DCTERMS.rights, self.rights(entry, suffix))
        scheme = MOBILITY_VOCABULARY + "mobility-data-standard"
        standard = self.term(f"{scheme}/{MOBILITY_DATA_STANDARD}", MOBILITY.MobilityDataStandard)
        self.add(node, MOBILITY.mobilityDataStandard, standard)
        return node

    def delta_sharing_service(self) -> URIRef:
        node = self.uri("delta-sharing/")
        if (node, RDF.type, DCAT.DataService) not in self.g:
            self.add(node, RDF.type, DCAT.DataService)
            self.add(node, DCTERMS.title, Literal("Delta Sharing endpoint", lang="en"))
            self.add(node, DCAT.endpointURL, node)
            protocol = self.term(DELTA_SHARING_PROTOCOL, DCTERMS.Standard)
            self.add(protocol, DCTERMS.title, Literal("Delta Sharing protocol", lang="en"))
            self.add(node, DCTERMS.conformsTo, protocol)
        return node

    def distributions(self, entry: CatalogEntry, dataset: URIRef) -> None:
        for method in entry.sharing.method:
            if method == "download":
                release = self.base + f"releases/{entry.name}/"
                for suffix, title, file_type, media_type in DOWNLOADS:
                    self.distribution(entry, dataset, suffix, title, release, file_type, media_type)
            elif method == "api":
                self.distribution(
                    entry, dataset, "api", "API", self.base + f"api/{entry.name}", "JSON", "application/json"
                )
            else:
                service = self.delta_sharing_service()
                node = self.distribution(
                    entry, dataset, "delta-sharing", "Delta Sharing endpoint", str(service), "PARQUET"
                )
                share = SHARE_BY_TYPE[entry.sharing.type]
                tables = ", ".join(f"{share}.{entry.layer}.{name}" for name in entry.schema)
                self.add(
                    node,
                    DCTERMS.description,
                    Literal(
                        f"Delta Sharing tables {tables}; a bearer token per recipient, with an expiry",
                        lang="en",
                    ),
                )
                self.add(node, DCAT.accessService, service)
                self.add(service, DCAT.servesDataset, dataset)

    def dataset(self, entry: CatalogEntry, catalog_node: URIRef, publisher: URIRef) -> URIRef:
        synthetic = entry.code in self.synthetic
        suffix = f" [{SYNTHETIC_MARK}]" if synthetic else ""
        node = self.uri(f"dataset/{entry.code}")
        self.add(catalog_node, DCAT.dataset, node)
        self.add(node, RDF.type, DCAT.Dataset)
        self.add(node, DCTERMS.identifier, Literal(entry.code))
        self.add(node, DCTERMS.title, *_lang(entry.title, suffix))
        self.add(node, DCTERMS.description, *_lang(entry.abstract))
        self.add(node, DCTERMS.publisher, self.agent(entry.provider.name, entry.provider.code))
        self.add(node, DCAT.theme, self.concept(EU + "data-theme/TRAN", "Transport", EU + "data-theme"))
        theme = MOBILITY_THEME.get(f"{entry.class_}.{entry.item}", "other")
        scheme = MOBILITY_VOCABULARY + "mobility-theme"
        self.add(
            node, MOBILITY.mobilityTheme, self.concept(f"{scheme}/{theme}", theme.replace("-", " "), scheme)
        )
        code, label = FREQUENCY[entry.update_cycle]
        self.add(
            node, DCTERMS.accrualPeriodicity, self.term(EU + f"frequency/{code}", DCTERMS.Frequency, label)
        )
        rights = EU + f"access-right/{ACCESS_RIGHTS[entry.open.level]}"
        self.add(node, DCTERMS.accessRights, self.term(rights, DCTERMS.RightsStatement))
        self.add(node, DCTERMS.license, self.licence(entry.licence))
        self.add(node, DCTERMS.language, *self.languages())
        spatial = BNode(f"spatial-{entry.code}")
        self.location(spatial, entry.spatial_coverage.name, entry.spatial_coverage.bbox)
        self.add(node, DCTERMS.spatial, spatial)
        temporal = BNode(f"temporal-{entry.code}")
        self.add(temporal, RDF.type, DCTERMS.PeriodOfTime)
        self.add(temporal, DCAT.startDate, Literal(entry.temporal_coverage.start, datatype=XSD.date))
        if entry.temporal_coverage.end is not None:
            self.add(temporal, DCAT.endDate, Literal(entry.temporal_coverage.end, datatype=XSD.date))
        self.add(node, DCTERMS.temporal, temporal)
        contact = BNode(f"contact-{entry.code}")
        self.add(contact, RDF.type, VCARD.Kind)
        self.add(contact, VCARD.fn, Literal(entry.contact.name))
        self.add(contact, VCARD.hasEmail, URIRef(f"mailto:{entry.contact.email}"))
        self.add(node, DCAT.contactPoint, contact)
        for name in entry.schema:
            contract = self.term(self.base + f"schemas/{name}", DCTERMS.Standard)
            self.add(contract, DCTERMS.title, Literal(f"itlake data contract {name}", lang="en"))
            self.add(node, DCTERMS.conformsTo, contract)
        keywords: list[Literal] = []
        if synthetic:
            keywords += [Literal("synthetic data", lang="en"), Literal("合成数据", lang="zh")]
            self.add(node, ADMS.versionNotes, *_lang(SYNTHETIC_NOTE))
        cls = self.catalog.classes.get(entry.class_)
        if cls is not None:
            keywords += _lang(cls.name)
            if entry.item in {i.code for i in cls.items}:
                keywords += _lang(cls.item(entry.item).name)
        self.add(node, DCAT.keyword, *keywords)
        for code in entry.related:
            self.add(node, DCTERMS.relation, self.uri(f"dataset/{code}"))
        self.distributions(entry, node)
        record = self.uri(f"record/{entry.code}")
        self.add(catalog_node, DCAT.record, record)
        self.add(record, RDF.type, DCAT.CatalogRecord)
        self.add(record, FOAF.primaryTopic, node)
        # The catalogue keeps no history of its entries: a record is dated by the export.
        self.add(record, DCTERMS.created, Literal(self.issued, datatype=XSD.date))
        self.add(record, DCTERMS.modified, Literal(self.issued, datatype=XSD.date))
        self.add(record, DCTERMS.language, *self.languages())
        return node

    def build(self) -> Graph:
        published = [e for e in self.catalog.entries if e.is_published]
        node = self.uri("catalog")
        self.add(node, RDF.type, DCAT.Catalog)
        self.add(node, DCTERMS.title, *_lang(CATALOG_TITLE))
        self.add(node, DCTERMS.description, *_lang(CATALOG_DESCRIPTION))
        self.add(node, DCTERMS.language, *self.languages())
        self.add(node, DCTERMS.modified, Literal(self.issued, datatype=XSD.date))
        self.add(node, FOAF.homepage, self.term(self.base + "portal/", FOAF.Document))
        taxonomy = self.term(EU + "data-theme", SKOS.ConceptScheme)
        self.add(taxonomy, DCTERMS.title, Literal("Data theme", lang="en"))
        self.add(node, DCAT.themeTaxonomy, taxonomy)
        providers = Counter(e.provider for e in published) or Counter(
            e.provider for e in self.catalog.entries
        )
        main = providers.most_common(1)[0][0]
        publisher = self.agent(main.name, main.code)
        self.add(node, DCTERMS.publisher, publisher)
        if published:
            boxes = [e.spatial_coverage.bbox for e in published]
            area = (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
            names = Counter(e.spatial_coverage.name for e in published)
            spatial = BNode("spatial-catalog")
            self.location(spatial, names.most_common(1)[0][0], area)
            self.add(node, DCTERMS.spatial, spatial)
        for entry in published:
            self.dataset(entry, node, publisher)
        return self.g


def catalog_graph(
    catalog: Catalog,
    *,
    synthetic_codes: set[str] | frozenset[str] = frozenset(),
    base_uri: str | None = None,
    issued: date | None = None,
) -> Graph:
    """The published part of the catalogue as an RDF graph.

    Closed, unshared entries stay out. Access rights follow the opening to the public: open ->
    PUBLIC, conditional -> RESTRICTED, closed (shared with agencies only) -> NON_PUBLIC. Entries in
    `synthetic_codes` carry the mark "SYNTHETIC DATA — 合成数据" in their titles and keywords.
    `base_uri` defaults to the public base URL of the settings, `issued` (the date of the
    catalogue records) to today in UTC.
    """
    base = base_uri or get_settings().public_base_url
    if not base.endswith("/"):
        base += "/"
    unknown = set(synthetic_codes) - {e.code for e in catalog.entries}
    if unknown:
        raise KeyError(f"synthetic_codes names codes that are not in the catalogue: {sorted(unknown)}")
    day = issued or datetime.now(UTC).date()
    return _Builder(catalog, base, set(synthetic_codes), day).build()


def catalog_uri(graph: Graph) -> URIRef:
    """The one dcat:Catalog of an export."""
    return next(graph.subjects(RDF.type, DCAT.Catalog))


def to_turtle(graph: Graph) -> str:
    return graph.serialize(format="turtle")


def _references(node: dict) -> list[tuple[str, str]]:
    """(property, @id) of every node reference in a flat JSON-LD node."""
    out = []
    for key, values in node.items():
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, dict) and set(value) == {"@id"}:
                out.append((key, value["@id"]))
    return out


def to_jsonld(graph: Graph, root: URIRef) -> dict[str, Any]:
    """The graph as one JSON-LD tree from `root`: each node is written in full at its reference
    nearest the root (breadth first), and by its @id elsewhere, so a harvester reads the catalogue
    top-down: datasets under the catalogue, distributions under their dataset."""
    flat = json.loads(graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True))
    nodes = {node["@id"]: node for node in flat.get("@graph", [flat])}
    references = Counter(target for node in nodes.values() for _, target in _references(node))
    owner: dict[str, tuple[str, str]] = {}  # node -> (node, property) it is written under
    queue = deque([str(root)])
    seen = {str(root)}
    while queue:
        current = queue.popleft()
        for key, target in _references(nodes[current]):
            if target in nodes and target not in seen:
                seen.add(target)
                owner[target] = (current, key)
                queue.append(target)

    def nest(node_id: str) -> dict:
        out: dict[str, Any] = {}
        for key, values in nodes[node_id].items():
            if key == "@id" and values.startswith("_:") and references[values] <= 1:
                continue  # a blank node written in place needs no name
            if isinstance(values, list):
                out[key] = [expand(node_id, key, v) for v in values]
            else:
                out[key] = expand(node_id, key, values)
        return out

    def expand(parent: str, key: str, value):
        if isinstance(value, dict) and set(value) == {"@id"} and owner.get(value["@id"]) == (parent, key):
            return nest(value["@id"])
        return value

    tree = nest(str(root))
    rest = [nest(node_id) for node_id in nodes if node_id not in seen]
    if rest:
        return {"@context": CONTEXT, "@graph": [tree, *rest]}
    return {"@context": CONTEXT, **tree}


def to_dcat(
    catalog: Catalog,
    *,
    synthetic_codes: set[str] | frozenset[str] = frozenset(),
    base_uri: str | None = None,
) -> dict[str, Any]:
    """The published part of the catalogue as one DCAT-AP / mobilityDCAT-AP JSON-LD document."""
    graph = catalog_graph(catalog, synthetic_codes=synthetic_codes, base_uri=base_uri)
    return to_jsonld(graph, catalog_uri(graph))


def dataset_jsonld(catalog: Catalog, code: str, *, synthetic: bool = False) -> dict[str, Any]:
    """The JSON-LD of one dataset (its distributions, record and vocabulary terms included), as a
    release folder carries it."""
    graph = catalog_graph(catalog, synthetic_codes={code} if synthetic else set())
    root = URIRef(get_settings().public_base_url + f"dataset/{code}")
    if (root, RDF.type, DCAT.Dataset) not in graph:
        raise KeyError(f"{code} is not a published dataset of the catalogue")
    catalog_node = catalog_uri(graph)
    others = {d for d in graph.subjects(RDF.type, DCAT.Dataset) if d != root}
    kept = Graph()
    for prefix, uri in CONTEXT.items():
        kept.bind(prefix, uri)
    seen, todo = set(), [root]
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for triple in graph.triples((subject, None, None)):
            if triple[1] == DCAT.servesDataset and triple[2] in others:
                continue
            kept.add(triple)
            if (
                isinstance(triple[2], URIRef | BNode)
                and triple[2] not in others
                and triple[2] != catalog_node
            ):
                todo.append(triple[2])
    return to_jsonld(kept, root)
