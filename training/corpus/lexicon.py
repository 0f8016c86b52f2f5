"""Slot vocabularies: invented places, people words, units, call-type strings. Every value is synthetic."""

from __future__ import annotations

import random

from divert.training.corpus.templates import pick, weighted

# Invented street names (no real city's grid). Combined with suffixes and directions.
STREET_NAMES: tuple[str, ...] = (
    "KESTREL RIDGE", "OXBOW", "MARLIN HOLLOW", "PINDER", "ASHGROVE", "QUILLFEATHER", "BRANTWOOD", "CALDER",
    "DUNMORE FARM", "ELKHORN BEND", "FALLOWMEAD", "GREYLOCK", "HAZELDENE", "IRONWEED", "JUNIPER SLOPE",
    "KILLDEER", "LARKSPUR", "MOSSBANK", "NETTLEFORD", "ORCHARD GAP", "PARRISH MILL", "QUARRY VIEW", "RUSHBROOK",
    "SALTMARSH", "TANAGER", "UPPER FERNLEY", "VALE CROSSING", "WILLOWMERE", "YARROW", "ZEPHYR", "BIRCHFIELD",
    "COPPERHEAD", "DRUMLIN", "EVERSLEY", "FOXTAIL", "GANNET", "HOLLYHOCK", "INKBERRY", "JASPERWOOD", "KNOTWEED",
    "LOCKHAVEN", "MEADOWLARK", "NORBURY", "OSPREY POINT", "PEBBLECREEK", "REDSTART", "SORREL", "THISTLEDOWN",
    "UMBER", "VERBENA", "WINTERGREEN", "ALDERBROOK", "BLUESTEM", "CRANEFORD", "DOVECOTE", "EMBERLY", "FENWICK",
    "GOLDRUSH", "HARROWGATE", "IVYBRIDGE", "MILLRACE", "STONECHAT", "TIMBERLINE", "WHISTLER", "CINDERHILL",
)
STREET_SUFFIXES: tuple[tuple[str, float], ...] = (
    ("RD", 5), ("ST", 4), ("AVE", 3), ("DR", 3), ("LN", 2), ("BLVD", 1), ("CT", 1.5), ("WAY", 1), ("PL", 0.5),
    ("CIR", 0.5), ("PKWY", 0.5), ("TRL", 0.5),
)
HIGHWAYS: tuple[str, ...] = ("HWY 9", "HWY 41", "SR 118", "SR 7", "RT 22", "RT 604", "I-86", "I-217", "CR 12", "CR 340")
DIRECTIONS: tuple[str, ...] = ("NB", "SB", "EB", "WB")
TOWNS: tuple[str, ...] = (
    "BRANTLEY TWP", "NORTH CALDER", "FENWICK", "OXBOW CITY", "MILLRACE", "LOCKHAVEN", "ASHGROVE VILLAGE", "DRUMLIN",
)

# Places by location type: (cad phrase, prose phrase).
PLACES: dict[str, tuple[tuple[str, str], ...]] = {
    "residence": (("RES", "the residence"), ("RESIDENCE", "the home"), ("HOUSE", "the house"), ("HOME", "the home"),
                  ("SINGLE FAMILY HOME", "a house"), ("DUPLEX", "the duplex"), ("TRAILER", "the trailer")),
    "apartment": (("APT <apt>", "apartment <apt>"), ("APT BLDG", "the apartment building"),
                  ("UNIT <apt>", "unit <apt>"), ("<floor> FLR APT", "a <floor> floor apartment")),
    "bar": (("THE SPOKE & ANCHOR BAR", "the Spoke & Anchor bar"), ("BLUE HERON TAVERN", "the Blue Heron Tavern"),
            ("BAR", "a bar"), ("LOUNGE ON <street>", "the lounge on <street>"), ("TAPROOM", "the taproom")),
    "store": (("QUIKWAY MART", "the QuikWay Mart"), ("DOLLAR STORE", "the dollar store"), ("GROCERY STORE", "the grocery store"),
              ("PHARMACY", "the pharmacy"), ("HARDWARE STORE", "the hardware store")),
    "gas_station": (("GAS STATION", "the gas station"), ("FUEL STOP ON <street>", "the fuel stop on <street>")),
    "park": (("PARK", "the park"), ("<streetname> PARK", "<streetname> Park"), ("PLAYGROUND", "the playground"),
             ("BALLFIELDS", "the ballfields")),
    "bus_stop": (("BUS STOP", "the bus stop"), ("BUS SHELTER", "the bus shelter"), ("TRANSIT CENTER", "the transit center")),
    "bridge": (("<streetname> BRIDGE", "the <streetname> bridge"), ("OVERPASS", "the overpass"),
               ("RR TRESTLE", "the railroad trestle"), ("PARKING GARAGE ROOF", "the parking garage roof")),
    "street": (("ROADWAY", "the road"), ("INTERSECTION", "the intersection"), ("SIDEWALK", "the sidewalk"),
               ("MEDIAN", "the median")),
    "school": (("HIGH SCHOOL", "the high school"), ("MIDDLE SCHOOL", "the middle school"), ("CAMPUS", "the campus")),
    "group_home": (("GROUP HOME", "the group home"), ("ADULT CARE HOME", "the adult care home"),
                   ("ASSISTED LIVING", "the assisted living facility"), ("MEMORY CARE UNIT", "the memory care unit")),
    "hospital": (("ER", "the emergency department"), ("HOSP LOBBY", "the hospital lobby"), ("CLINIC", "the clinic")),
    "motel": (("MOTEL RM <apt>", "room <apt> at the motel"), ("INN", "the inn"), ("EXTENDED STAY", "the extended-stay hotel")),
    "parking_lot": (("PARKING LOT", "the parking lot"), ("LOT BEHIND <biz>", "the lot behind <biz>"),
                    ("GARAGE LVL <floor>", "level <floor> of the parking garage")),
    "highway": (("<hwy> MM <mm>", "<hwy> near mile marker <mm>"), ("<hwy> <dir>", "<hwy>"),
                ("ON RAMP <hwy>", "the on-ramp to <hwy>")),
    "business": (("<biz>", "<biz>"), ("OFFICE BLDG", "the office building"), ("WAREHOUSE", "the warehouse"),
                 ("STRIP MALL", "the strip mall")),
    "church": (("CHURCH", "the church"), ("COMMUNITY CTR", "the community center"), ("LIBRARY", "the library")),
    "wooded": (("WOODED AREA", "the woods"), ("TRAILHEAD", "the trailhead"), ("FIELD", "a field"), ("CREEK BED", "the creek")),
}
BUSINESSES: tuple[str, ...] = (
    "PAXTON FEED & SEED", "HALVERSON AUTO", "KETTLE DINER", "BRIGHTLINE LAUNDROMAT", "MOSSBANK PLAZA",
    "ORCHARD GAP CAR WASH", "TRI-COUNTY STORAGE", "CALDER LUMBER", "NETTLEFORD BOWL", "GREYLOCK FITNESS",
)

RELATIONS_FAMILY: dict[str, tuple[str, ...]] = {
    "M": ("son", "brother", "husband", "father", "boyfriend", "grandson", "nephew", "uncle", "stepson", "roommate"),
    "F": ("daughter", "sister", "wife", "mother", "girlfriend", "granddaughter", "niece", "aunt", "stepdaughter",
          "roommate"),
}
RELATION_ABBR: dict[str, tuple[str, ...]] = {
    "boyfriend": ("BF", "BOYFRIEND"), "girlfriend": ("GF", "GIRLFRIEND"), "husband": ("HUSB", "HUSBAND"),
    "brother": ("BRO", "BROTHER"), "mother": ("MOTHER", "MOM"), "father": ("FATHER", "DAD"),
}
PROFESSIONALS: tuple[str, ...] = (
    "group home staff", "nurse", "security guard", "school counselor", "case manager", "store manager",
    "hotel clerk", "social worker", "bartender", "landlord", "property manager", "bus driver", "therapist",
)
BYSTANDERS: tuple[str, ...] = ("passerby", "neighbor", "motorist", "customer", "jogger", "coworker", "delivery driver")

# Unit identifiers: invented agency prefixes.
UNIT_PREFIXES: tuple[str, ...] = ("M", "E", "L", "R", "A", "BC", "SQ", "T", "MED", "ENG")
OFFICER_UNITS: tuple[str, ...] = ("1A", "2B", "3C", "4D", "K9", "6A", "7B", "12", "21", "33", "41", "52")


def street(rng: random.Random) -> str:
    return f"{pick(STREET_NAMES, rng)} {weighted(STREET_SUFFIXES, rng)}"


def address(rng: random.Random) -> str:
    number = rng.choice((rng.randrange(10, 99), rng.randrange(100, 999), rng.randrange(1000, 9999)))
    prefix = pick(("", "", "", "N ", "S ", "E ", "W "), rng)
    return f"{number} {prefix}{street(rng)}"


def phone(rng: random.Random) -> str:
    """Always a 555-01xx number (reserved for fiction)."""
    area = pick(("", "", "", "(608) ", "608-", "414-", "920 "), rng)
    return f"{area}555-01{rng.randrange(0, 100):02d}"


def unit_id(rng: random.Random) -> str:
    return f"{pick(UNIT_PREFIXES, rng)}{rng.randrange(1, 60)}"


def clock(rng: random.Random, seconds: bool = True) -> tuple[int, int, int]:
    return rng.randrange(0, 24), rng.randrange(0, 60), rng.randrange(0, 60) if seconds else 0


def date_str(rng: random.Random) -> str:
    month = rng.randrange(1, 13)
    day = rng.randrange(1, 29)
    year = pick(("2024", "2025", "2026", "2026"), rng)
    if rng.random() < 0.7:
        return f"{month}/{day}/{year}"
    return f"{month:02d}/{day:02d}/{year[2:]}"


def age_for(kind: str, rng: random.Random) -> int:
    """Ages by subject kind; 'any' follows the real profile (median ~61, 46% 65+, 8% under 18)."""
    if kind == "elder":
        return rng.randrange(66, 97)
    if kind == "teen":
        return rng.randrange(13, 19)
    if kind == "child":
        return rng.randrange(2, 13)
    if kind == "young":
        return rng.randrange(18, 36)
    if kind == "adult":
        return rng.randrange(19, 65)
    # 'any'
    x = rng.random()
    if x < 0.08:
        return rng.randrange(3, 18)
    if x < 0.30:
        return rng.randrange(18, 45)
    if x < 0.54:
        return rng.randrange(45, 65)
    if x < 0.78:
        return rng.randrange(65, 80)
    return rng.randrange(80, 99)


# Call-type strings per call family. Many variants, as in real CAD (about 16k distinct forms).
CALL_TYPES: dict[str, tuple[str, ...]] = {
    "medical": ("MEDICAL", "MEDICAL EMERGENCY", "MED", "SICK PERSON", "EMS", "EMS CALL", "AMBULANCE", "MEDICAL AID",
                "MEDICAL CALL", "ALS", "BLS", "RESCUE", "SQUAD RUN", "AMBULANCE REQUEST", "MEDICAL ASSIST"),
    "fall": ("FALL", "FALLS", "FALL VICTIM", "LIFT ASSIST", "FALL - 17", "17 FALLS", "FALL INJ"),
    "cardiac": ("CHEST PAIN", "CARDIAC", "10 CHEST PAIN", "CARDIAC EMERGENCY", "CHEST PAINS", "HEART PROBLEM"),
    "breathing": ("BREATHING PROBLEMS", "DIFFICULTY BREATHING", "SHORTNESS OF BREATH", "RESPIRATORY DISTRESS",
                  "06 BREATHING", "BREATHING"),
    "unconscious": ("UNCONSCIOUS/FAINTING", "UNCONSCIOUS PERSON", "UNCONSCIOUS", "PERUNCON", "31 UNCON"),
    "seizure": ("SEIZURE", "SEIZURES", "12 SEIZURES", "CONVULSIONS/SEIZURES"),
    "stroke": ("STROKE", "CVA", "STROKE/CVA", "28 STROKE"),
    "bleeding": ("HEMORRHAGE", "BLEEDING", "HEMRG", "21 HEMORRHAGE/LAC"),
    "fire": ("STRUCTURE FIRE", "FIRE", "FIRE CALL", "FIRE STRUCTURE", "RESIDENTIAL FIRE", "FSTRU", "FIRE - STRUCTURE",
             "FIRE OTHER", "FIRE APT"),
    "outside_fire": ("BRUSH FIRE", "OUTSIDE FIRE", "GRASS FIRE", "FBRUSH", "FIRE - OUTSIDE", "TRASH FIRE", "DUMPSTER FIRE"),
    "vehicle_fire": ("VEHICLE FIRE", "FVEH", "CAR FIRE", "FIRE - VEHICLE"),
    "smoke": ("SMOKE INVESTIGATION", "FSMOKE", "ODOR OF SMOKE", "SMOKE IN BLDG", "INVESTIGATION - SMOKE"),
    "traffic": ("MVA", "TRAFFIC ACCIDENT", "MOTOR VEHICLE ACCIDENT", "ACCIDENT NO INJURY", "MVC", "10-50",
                "10-50 PD", "MVA - NON INJ", "TRAFFIC HAZARD"),
    "traffic_inj": ("PI ACCIDENT", "ACCIDENT INJURY", "10-50 PI", "MVA W/ INJ", "MVAINJY", "MVC - INJURY", "ACCIDENT PI"),
    "dui": ("DUI", "POSS DUI", "RECKLESS DRIVER", "ERRATIC DRIVER", "DRUNK DRIVER", "CRIMTRAF"),
    "disabled": ("DISABLED VEHICLE", "DISVEH", "STALLED VEH", "MOTORIST ASSIST", "TRAFFIC HAZARD"),
    "alarm": ("FIRE ALARM", "ALARM - FIRE", "AUTOMATIC FIRE ALARM", "COMMERCIAL FIRE ALARM", "RESIDENTIAL FIRE ALARM",
              "ALRF", "ALARM"),
    "burg_alarm": ("BURGLAR ALARM", "ALARM - BURGLARY", "ALRBA", "ALARM AUDIBLE", "COMMERCIAL ALARM", "ALMR"),
    "med_alarm": ("MEDICAL ALARM", "ALRMED", "ALARM - MEDICAL", "LIFELINE ALARM"),
    "co_alarm": ("CO ALARM", "ALRCO", "CARBON MONOXIDE", "CO DETECTOR"),
    "panic_alarm": ("PANIC ALARM", "HOLD UP ALARM", "ALRPANS", "DURESS ALARM"),
    "hazard": ("WIRES DOWN", "GAS LEAK", "TREE DOWN", "ODOR INVESTIGATION", "HAZMAT", "FUEL SPILL", "HAZ",
               "ELECHZD", "GASLEAKO", "HAZARD"),
    "service": ("SERVICE CALL", "PUBLIC SERVICE", "INFORMATION", "UNKNOWN PROBLEM", "STANDBY", "CITASST", "LOCKOUT",
                "ANIMAL", "FOUND PROPERTY", "ASSIST", "911 HANG UP", "911OPN", "MUTUAL AID", "CIVIL"),
    "police": ("SUSPICIOUS ACTIVITY", "SUSPICIOUS PERSON", "BURGLARY", "THEFT", "LARCENY", "TRESPASS", "NOISE",
               "NOISE COMPLAINT", "VANDALISM", "DISTURBANCE", "CIVIL DISPUTE", "MISSING PERSON", "WELFARE CHECK",
               "PERSUSP", "DISORD", "FRAUD", "PARKING", "SUSP VEH", "CHECK WELFARE"),
    "violence": ("ASSAULT", "FIGHT", "DOMESTIC", "DISTURBANCE", "DVA", "DOMESTIC VIOLENCE", "WEAPONS", "SHOTS FIRED",
                 "ROBBERY", "ARMED ROBBERY", "ASSAULT W/ WEAPON", "THREATS", "PERSON W/ WEAPON", "MTLV", "FIGHT IN PROG",
                 "DISTURBANCE - WEAPON", "STABBING", "SHOOTING"),
    "behavioral": ("PSYCHIATRIC", "EDP", "MENTAL", "MNTL", "MENTAL SUBJ", "WELFARE CHECK", "CHECK WELFARE",
                   "BEHAVIORAL HEALTH", "PSYCH EMERGENCY", "CRISIS", "25 PSYCH", "UNKNOWN PROBLEM", "DISTURBANCE",
                   "MENTAL PERSON NON-VIOLENT", "EMOTIONALLY DISTURBED"),
    "suicide": ("SUICIDE", "SUICIDE ATTEMPT", "ATTEMPT SUICIDE", "SUICIDAL SUBJECT", "SUICIDAL", "SUICIDE THREAT",
                "25 PSYCH/SUICIDAL", "PSYCHIATRIC", "MNTL", "SUICIDAL PERSON"),
    "overdose": ("OVERDOSE", "OVERDOSE/POISONING", "OD", "23 OD/POISONING", "POISONING", "INGESTION", "OD - ACCIDENTAL"),
    "intox": ("INTOX", "INTOXICATED PERSON", "DRUNK", "INTOX SUBJ", "LIQUOR", "PUBLIC INTOX", "DRUGS"),
}
