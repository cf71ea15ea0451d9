"""Postal charges: each agency's table (zone by province pair, weight class), read from a YAML or JSON
file with the chassis `datafiles` (a bad entry names its line), and the fee split of a shipment.

Decision 45/2016/QĐ-TTg: postal charges are public (the agency publishes its table with the
carrier's tariff), and the procedure's fees may be paid to the public postal operator (art. 11): the
carrier collects them on delivery (COD) next to its charge, so a receipt shows both lines apart.

The file (one per agency, `deploy/local/postal_charges.yaml` as the example):

    agency_code: "000.00.21.H17"
    customer_code: "DN000123"                       # the agency's contract with the carrier
    sender: {name: "...", phone: "...", address_line: "...", commune_code: "20194", province_code: "48"}
    default_weight_grams: 250
    weight_classes: [250, 500, 1000, 2000, 5000]   # upper bounds, grams, ascending
    zones:                                          # by province code pair; the first match wins
      - {name: "nội tỉnh", same_province: true, prices: [16500, 19800, 25300, 33000, 49500]}
      - {name: "cận vùng", provinces: ["48", "49", "51"], prices: [22000, ...]}
      - {name: "liên vùng", prices: [27500, ...]}   # no condition: every other pair
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from onestop_chassis import datafiles
from onestop_chassis.errors import FieldViolation, InvalidArgument

from .carrier import Party

MAX_FILE_BYTES = 256 * 1024
PARTY_FIELDS = ("name", "phone", "address_line", "commune_code", "province_code")


@dataclass(frozen=True)
class Zone:
    name: str
    prices: tuple[int, ...]          # VND, one per weight class
    same_province: bool = False      # sender and receiver in one province
    provinces: frozenset[str] = frozenset()  # both ends among these provinces; empty: any pair

    def matches(self, origin: str, destination: str) -> bool:
        if self.same_province:
            return origin == destination
        return not self.provinces or (origin in self.provinces and destination in self.provinces)


@dataclass(frozen=True)
class ChargeTable:
    """One agency's postal profile: its contract with the carrier, its desk as sender, its charges."""
    agency_code: str
    customer_code: str
    sender: Party                    # the desk's address (outbound sender, inbound receiver)
    weight_classes: tuple[int, ...]  # upper bounds, grams
    zones: tuple[Zone, ...]
    default_weight_grams: int = 250

    def charge(self, origin_province: str, destination_province: str, weight_grams: int) -> int:
        """The charge in VND of a parcel of `weight_grams` (0: the default weight) between two
        province codes. Raises InvalidArgument (weight_grams) above the heaviest class, and when no
        zone matches (a table without a catch-all zone)."""
        weight = weight_grams or self.default_weight_grams
        cls = next((i for i, bound in enumerate(self.weight_classes) if weight <= bound), None)
        if cls is None:
            raise InvalidArgument.from_violations([FieldViolation(
                "weight_grams", f"is above the heaviest class of the agency's table ({self.weight_classes[-1]} g)")])
        for zone in self.zones:
            if zone.matches(origin_province, destination_province):
                return zone.prices[cls]
        raise InvalidArgument.from_violations([FieldViolation(
            "applicant.province_code",
            f"no zone of the agency's table covers {origin_province} → {destination_province}")])


def read_table(content: bytes, fmt: str = "yaml") -> ChargeTable:
    """The table in a file. Raises InvalidArgument naming every bad line ("line 7: zones[1].prices")."""
    data, lines = datafiles.parse_file(content, fmt, max_bytes=MAX_FILE_BYTES)
    r = datafiles.Reader()
    m = r.mapping(data, (), ("agency_code", "customer_code", "sender", "default_weight_grams", "weight_classes",
                             "zones"))
    sm = r.mapping(m.get("sender"), ("sender",), PARTY_FIELDS)
    sender = Party(*(r.text(sm, ("sender",), key) for key in PARTY_FIELDS))
    for key in PARTY_FIELDS:
        if not getattr(sender, key):
            r.bad(("sender", key), "is required")
    classes = tuple(r.whole({"w": w}, ("weight_classes", i), "w")
                    for i, w in enumerate(r.items(m, (), "weight_classes")))
    if not classes or list(classes) != sorted(set(classes)) or classes[0] <= 0:
        r.bad(("weight_classes",), "must be a non-empty list of ascending weights in grams")
    zones = []
    for i, z in enumerate(r.items(m, (), "zones")):
        path = ("zones", i)
        zm = r.mapping(z, path, ("name", "same_province", "provinces", "prices"))
        prices = tuple(r.whole({"p": p}, (*path, "prices", j), "p")
                       for j, p in enumerate(r.items(zm, path, "prices")))
        if len(prices) != len(classes) or any(p < 0 for p in prices):
            r.bad((*path, "prices"), f"must give one price in VND (≥ 0) per weight class ({len(classes)})")
        zones.append(Zone(r.text(zm, path, "name"), prices, r.flag(zm, path, "same_province", False),
                          frozenset(r.texts(zm, path, "provinces"))))
    if not zones:
        r.bad(("zones",), "must list at least one zone")
    table = ChargeTable(r.text(m, (), "agency_code"), r.text(m, (), "customer_code"), sender, classes,
                        tuple(zones), r.whole(m, (), "default_weight_grams", 250))
    if r.problems:
        raise InvalidArgument.from_violations([
            FieldViolation(f"line {datafiles.line_of(lines, path)}: {datafiles.label(path)}", problem)
            for path, problem in r.problems])
    return table


def read_tables(folder: Path) -> dict[str, ChargeTable]:
    """Every `*.yaml` table in `folder`, by agency code."""
    tables = {}
    for path in sorted(folder.glob("*.yaml")):
        table = read_table(path.read_bytes())
        tables[table.agency_code] = table
    return tables
