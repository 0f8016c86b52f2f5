"""Scenario family definitions: bases x variants.

A base fixes the kind of call (who, where, what happens); a variant adds label-changing facts (a weapon, a
negation, a substance, an injury, a history mention, a shared-word hard negative). Each (base, variant) is one
family, and one `group` for the splits. Bases marked `holdout` feed only the challenge set.
"""

from __future__ import annotations

from divert.training.corpus.scenario import Family, derive_hard_case

Slots = tuple[tuple[str, ...], ...]
FAMILIES: list[Family] = []

FAM = ("third_party_family",)
BYST = ("third_party_bystander",)
PROF = ("third_party_professional",)
SELF = ("self",)
ALARM = ("alarm_or_system",)
OFC = ("officer",)


def base(name: str, call_family: str, call_types: tuple[str, ...], core: Slots,
         variants: dict[str, Slots] | None = None, *, optional: tuple[tuple[str, float], ...] = (),
         callers: tuple[str, ...] = FAM, subject: str = "any", sex: str = "", places: tuple[str, ...] = ("residence",),
         bh: bool = False, victims: tuple[str, ...] = ("rp",), weight: float = 1.0, holdout: bool = False) -> None:
    for vname, extra in (variants or {"plain": ()}).items():
        full_core = core + extra
        fam = Family(id=f"{name}.{vname}", base=name, call_family=call_family, call_types=call_types, core=full_core,
                     optional=optional, callers=callers, subject=subject, sex=sex, places=places, bh=bh,
                     victims=victims, weight=weight, holdout=holdout)
        fam = Family(**{**fam.__dict__, "hard_case": derive_hard_case(full_core, fam.labels())})
        fam.check()
        FAMILIES.append(fam)


NOWEAP: Slots = (("v_neg",),)
KNIFE: Slots = (("v_knife",),)
GUN: Slots = (("v_gun",),)
UNKW: Slots = (("v_uncertain",),)
GUNSH: Slots = (("v_gunshouse",),)
ETOH: Slots = (("s_etoh",),)
NEGETOH: Slots = (("s_neg",),)
NOSI: Slots = (("si_neg",),)
HXSI: Slots = (("si_hx",),)
HXBH: Slots = (("b_hx",),)
HXSUB: Slots = (("s_hx",),)
CRISIS_OPT = (("b_crisis_req", 0.25),)
BH_PLACES = ("residence", "apartment", "residence", "apartment", "motel", "street", "parking_lot")

# ======================================================================== behavioural (mental state)
base("bh_psychosis_home", "behavioral", ("behavioral",), (("b_psychosis",), ("b_offmeds", "b_paranoid", "b_psychosis")),
     {"plain": (), "noweap": NOWEAP, "knife": KNIFE, "unkweap": UNKW, "gunshouse": GUNSH, "meth": (("s_meth", "s_drugs"),),
      "nosi": NOSI},
     optional=(*CRISIS_OPT, ("b_hx", 0.3)), places=BH_PLACES, subject="adult", victims=("rp", "family"))
base("bh_erratic_street", "behavioral", ("behavioral", "police"), (("b_erratic", "b_naked"),),
     {"plain": (), "noweap": NOWEAP, "meth": (("s_meth", "s_drugs"),), "armed": (("v_knife", "v_blunt"),),
      "combative": (("v_combative", "v_assault"),), "etoh": ETOH, "unkweap": UNKW},
     callers=BYST + PROF + BYST, places=("street", "bus_stop", "store", "parking_lot", "gas_station", "park"),
     subject="adult", victims=("stranger", "staff"))
base("bh_paranoid_neighbor", "behavioral", ("behavioral", "police"), (("b_paranoid",),),
     {"plain": (), "gun": GUN, "threats": (("v_threats",),), "noweap": NOWEAP, "unkweap": UNKW},
     callers=FAM + BYST + SELF, places=("residence", "apartment"), victims=("neighbor",), subject="adult")
base("bh_panic", "behavioral", ("behavioral", "medical"), (("b_panic",),),
     {"plain": (), "chestpain": (("m_cp",),), "breathing": (("m_diffbreath",),), "nosi": NOSI},
     callers=SELF + SELF + FAM, places=("residence", "apartment", "store", "school", "business"), subject="young")
base("bh_dementia", "behavioral", ("behavioral", "police", "medical"), (("b_dementia_wander", "b_confused"),),
     {"plain": (), "combative": (("v_combative",),), "fellbleeding": (("m_headinj",),), "noinj": (("m_noinj",),)},
     callers=FAM + PROF, places=("residence", "group_home", "street", "store"), subject="elder", victims=("staff", "family"))
base("bh_depressed_welfare", "behavioral", ("behavioral",), (("b_depressed",), ("b_welfare_mental", "b_depressed")),
     {"plain": (), "nosi": NOSI, "etoh": ETOH, "gunshouse": GUNSH, "notviolent": (("v_notviolent",),)},
     optional=CRISIS_OPT, callers=FAM + PROF, places=BH_PLACES, subject="adult")
base("bh_manic", "behavioral", ("behavioral",), (("b_manic",),),
     {"plain": (), "noweap": NOWEAP, "threats": (("v_threats",),)},
     optional=(("b_hx", 0.5),), places=BH_PLACES, subject="young", victims=("family",))
base("bh_barricade", "behavioral", ("behavioral", "police"), (("b_barricade",), ("b_depressed", "b_erratic")),
     {"plain": (), "knife": KNIFE, "gun": GUN, "unkweap": UNKW},
     places=("residence", "apartment"), subject="young")
base("bh_ptsd", "behavioral", ("behavioral",), (("b_ptsd",),),
     {"plain": (), "gunshouse": GUNSH, "noweap": NOWEAP}, callers=FAM + SELF, sex="M", subject="adult", holdout=True)
base("bh_grouphome", "behavioral", ("behavioral", "violence"), (("b_confused", "b_erratic", "b_psychosis"),),
     {"combative": (("v_combative",),), "calm_notviolent": (("v_notviolent",),),
      "staffhurt": (("v_combative",), ("m_headinj", "m_bleed"))},
     callers=PROF, places=("group_home", "hospital"), subject="adult", victims=("staff",))
base("bh_youth_school", "behavioral", ("behavioral",), (("b_depressed", "b_erratic", "b_panic"),),
     {"plain": (), "si": (("si_ideation",),), "knife": KNIFE},
     callers=PROF, places=("school",), subject="teen")
base("bh_intox_public", "behavioral", ("intox", "behavioral"), (("s_etoh",),),
     {"plain": (), "hardwake": (("m_hardwake",),), "unresp": (("m_unresp",),), "combative": (("v_combative",),),
      "talking": (("m_cb",),)},
     callers=BYST + PROF, places=("bus_stop", "street", "store", "park", "gas_station"), bh=True, subject="adult",
     victims=("staff", "stranger"))
base("bh_meth_psychosis", "behavioral", ("behavioral", "intox", "police"), (("s_meth",), ("b_paranoid", "b_psychosis", "b_erratic")),
     {"plain": (), "blunt": (("v_blunt",),), "unkweap": UNKW, "combative": (("v_combative",),), "seizure": (("m_seizure",),)},
     callers=FAM + BYST, places=BH_PLACES, subject="young", victims=("family", "stranger"))
base("bh_od_opioid", "behavioral", ("overdose",), (("s_od_opioid",),),
     {"unresp": (("m_unresp", "m_overdose_resp", "m_notbreathing"),), "narcan_awake": (("s_narcan",), ("m_cb",)),
      "narcan_hardwake": (("s_narcan",), ("m_hardwake",))},
     callers=FAM + BYST + PROF, places=("residence", "apartment", "motel", "parking_lot", "store"), bh=True, subject="young")
base("bh_od_pills", "behavioral", ("overdose",), (("s_pills",),),
     {"hardwake": (("m_hardwake",),), "awake": (("m_cb",),), "seizure": (("m_seizure",),), "nosi": NOSI},
     callers=FAM + PROF, places=("residence", "apartment"), bh=True, subject="any")
base("bh_huffing", "behavioral", ("overdose", "intox"), (("s_huffing",),),
     {"plain": (), "unresp": (("m_unresp",),)}, callers=FAM, subject="teen", bh=True, holdout=True)
base("bh_intox_family_threat", "behavioral", ("behavioral", "violence"), (("s_etoh", "s_drugs"), ("v_threats", "v_assault")),
     {"plain": (), "knife": KNIFE}, callers=FAM, bh=True, subject="young", victims=("family",), holdout=True)
base("bh_psych_stab_family", "behavioral", ("violence", "behavioral"), (("b_psychosis", "b_paranoid"), ("v_knife",), ("m_stab",)),
     {"plain": (), "meth": (("s_meth",),)}, callers=FAM + BYST, subject="young", victims=("family",))
base("bh_psych_staff_assault", "behavioral", ("behavioral", "violence"), (("b_psychosis", "b_erratic"), ("v_combative", "v_assault"),
     ("m_headinj", "m_bleed")), None, callers=PROF, places=("hospital", "group_home"), victims=("staff",), holdout=True)
base("bh_spanish_crisis", "behavioral", ("behavioral",), (("b_depressed", "b_erratic", "b_psychosis"),),
     {"plain": (), "noweap": NOWEAP, "knife": KNIFE}, places=BH_PLACES, subject="adult")

# ======================================================================== suicide
base("si_ideation_family", "behavioral", ("suicide",), (("si_ideation",),),
     {"plain": (), "noweap": NOWEAP, "gunshouse": GUNSH, "knife": KNIFE, "etoh": ETOH, "unkweap": UNKW, "negetoh": NEGETOH},
     optional=(*CRISIS_OPT, ("b_depressed", 0.3), ("b_hx", 0.25)), places=BH_PLACES, subject="adult",
     victims=("rp",))
base("si_self_call", "behavioral", ("suicide",), (("si_ideation", "si_plan"),),
     {"plain": (), "noweap": NOWEAP, "pills_awake": (("s_pills",), ("m_cb",)), "gun": GUN, "unkweap": UNKW},
     optional=CRISIS_OPT, callers=SELF, places=BH_PLACES, subject="adult")
base("si_threat_dispute", "behavioral", ("suicide", "violence"), (("si_threat",), ("pol_disturbance",)),
     {"plain": (), "knife": KNIFE, "etoh": ETOH}, callers=FAM, subject="young", places=("residence", "apartment"))
base("si_goodbye_text", "behavioral", ("suicide", "behavioral"), (("si_goodbye",),),
     {"plain": (), "pills": (("s_pills",),), "gunshouse": GUNSH}, callers=FAM + PROF, subject="young",
     places=("residence", "apartment", "motel"))
base("si_bridge", "behavioral", ("suicide",), (("si_bridge",),),
     {"plain": (), "etoh": ETOH, "noweap": NOWEAP}, callers=BYST + OFC, places=("bridge",), subject="adult", holdout=True)
base("si_cut", "behavioral", ("suicide", "bleeding"), (("si_cut",),),
     {"bleeding": (("m_bleed",),), "superficial": (("m_superficial",),), "etoh_bleeding": (("s_etoh",), ("m_bleed",)),
      "knife": KNIFE},
     callers=FAM + PROF + SELF, subject="young", places=("residence", "apartment", "school", "group_home"))
base("si_pills_attempt", "behavioral", ("suicide", "overdose"), (("s_pills",), ("si_attempt", "si_ideation")),
     {"awake": (("m_cb",),), "hardwake": (("m_hardwake",),), "unresp": (("m_unresp",),), "etoh": ETOH},
     callers=FAM + PROF + SELF, subject="adult", places=("residence", "apartment", "motel"))
base("si_hanging", "behavioral", ("suicide",), (("si_hanging",),),
     {"notbreathing": (("m_notbreathing", "m_unresp"),), "hardwake": (("m_hardwake",),)}, callers=FAM, subject="young")
base("si_gun_self", "behavioral", ("suicide", "violence"), (("si_ideation", "si_threat"), ("v_gun",)),
     {"plain": (), "etoh": ETOH, "barricaded": (("b_barricade",),), "gsw": (("m_gsw",),)},
     callers=FAM + SELF, subject="adult", places=("residence", "apartment", "parking_lot", "wooded"))
base("si_everything", "behavioral", ("suicide",), (("s_pills", "s_etoh"), ("si_cut",), ("v_knife",), ("m_bleed", "m_hardwake")),
     None, callers=FAM + PROF, subject="young")
base("si_negated_welfare", "behavioral", ("behavioral",), (("b_depressed", "b_welfare_mental"), ("si_neg",)),
     {"plain": (), "noweap": NOWEAP, "etoh": ETOH}, callers=FAM + PROF, subject="adult")
base("si_by_cop", "behavioral", ("suicide", "violence"), (("si_threat",), ("v_threats",)),
     {"gun": GUN, "unkweap": UNKW}, callers=OFC + FAM, victims=("police",), sex="M", subject="adult", holdout=True)
base("si_988_transfer", "behavioral", ("suicide", "behavioral"), (("si_ideation", "si_plan"),),
     {"plain": (), "pills_awake": (("s_pills",), ("m_cb",)), "gunshouse": GUNSH}, callers=SELF + PROF, subject="young")

# ======================================================================== police / violence
base("pol_dv", "police", ("violence",), (("v_dv",),),
     {"plain": (), "noweap": NOWEAP, "injured": (("m_bleed", "m_headinj"),), "etoh": ETOH, "gun": GUN, "unkweap": UNKW},
     callers=SELF + FAM + BYST, sex="M", places=("residence", "apartment", "motel"), subject="adult")
base("pol_fight", "police", ("violence",), (("v_fight",),),
     {"plain": (), "etoh": ETOH, "knife": KNIFE, "unresp": (("m_unresp",),), "etoh_bleeding": (("s_etoh",), ("m_bleed",)),
      "unkweap": UNKW},
     callers=BYST + PROF, places=("bar", "parking_lot", "street", "park", "school"), subject="young", victims=("stranger",))
base("pol_assault", "police", ("violence",), (("v_assault",),),
     {"plain": (), "injured": (("m_bleed", "m_headinj"),), "etoh": ETOH, "noweap": NOWEAP},
     callers=BYST + PROF + SELF, places=("store", "street", "bus_stop", "business"), victims=("stranger", "staff"), subject="adult")
base("pol_threats_neighbor", "police", ("violence", "police"), (("v_threats",),),
     {"plain": (), "gun": GUN, "noweap": NOWEAP}, callers=SELF + BYST, victims=("neighbor", "rp"), subject="adult")
base("pol_person_gun", "police", ("violence",), (("v_gun",),),
     {"plain": (), "shots": (("v_shots",),)}, callers=BYST, places=("park", "street", "parking_lot", "store"), subject="young")
base("pol_poss_armed", "police", ("police", "violence"), (("pol_suspicious", "pol_trespass"), ("v_uncertain",)),
     None, callers=BYST + PROF, places=("parking_lot", "store", "residence", "business"), subject="adult")
base("pol_shots", "police", ("violence",), (("v_shots",),), {"plain": (), "gsw": (("m_gsw",),)},
     callers=BYST, places=("street", "parking_lot", "apartment", "park"))
base("pol_robbery", "police", ("violence",), (("v_robbery",),), {"plain": (), "injured": (("m_bleed",),)},
     callers=PROF + ALARM, places=("store", "gas_station"), victims=("staff",), holdout=True)
base("pol_stabbing", "police", ("violence",), (("m_stab",), ("v_assault", "v_fight")), None,
     callers=BYST + FAM, places=("street", "apartment", "bar", "parking_lot"), victims=("stranger",))
base("pol_bar_drunk_weapon", "police", ("violence", "intox"), (("s_etoh",), ("v_knife", "v_blunt"), ("v_threats",)),
     {"plain": (), "nothreat_hurt": (("m_bleed",),)},
     callers=PROF + BYST, places=("bar",), victims=("staff",), subject="adult")
base("pol_disturbance_verbal", "police", ("police",), (("pol_disturbance",), ("v_verbal",)),
     {"plain": (), "noweap": NOWEAP, "etoh": ETOH}, callers=BYST + FAM, places=("residence", "apartment", "parking_lot"))
base("pol_burglary", "police", ("police",), (("pol_burglary",),),
     {"plain": (), "cutlock": (("hn_cut_power",),), "possarmed": UNKW}, callers=SELF + BYST)
base("pol_theft", "police", ("police",), (("pol_theft",),),
     {"plain": (), "odgreen": (("hn_od_green",),), "gunshop": (("hn_gun_shop",),)}, callers=SELF + PROF,
     places=("store", "residence", "parking_lot", "business"))
base("pol_suspicious", "police", ("police",), (("pol_suspicious",),),
     {"plain": (), "suicidedoors": (("hn_suicide_doors",),), "barloc": (("hn_bar_loc",),)}, callers=SELF + BYST,
     places=("residence", "parking_lot", "street"))
base("pol_noise", "police", ("police",), (("pol_noise",),),
     {"plain": (), "killing": (("hn_killing",),), "underage": (("s_drinking_minor",),), "barloc": (("hn_bar_loc",),)},
     callers=SELF + BYST, places=("residence", "apartment", "park"))
base("pol_trespass", "police", ("police",), (("pol_trespass",),),
     {"plain": (), "hxpsych": HXBH, "calm": (("b_calm",),)}, callers=PROF, places=("store", "business", "church", "bus_stop"))
base("pol_vandal", "police", ("police",), (("pol_vandal",),),
     {"plain": (), "crack": (("hn_crack",),), "property": (("v_property",),)}, callers=SELF + BYST)
base("pol_missing", "police", ("police",), (("pol_missing",),),
     {"plain": (), "depressed": (("b_depressed",),), "si": (("si_ideation",),), "hxbh": HXBH},
     callers=FAM, subject="young")
base("pol_welfare_plain", "police", ("police",), (("pol_welfare_plain",),),
     {"plain": (), "hxdep": HXBH, "foundunresp": (("m_unresp",),), "notsuicidal": NOSI}, callers=FAM + BYST, subject="elder")
base("pol_civil", "police", ("service", "police"), (("pol_civil",),),
     {"plain": (), "overdue": (("hn_overdue",),), "verbal": (("v_verbal",),)}, callers=SELF)
base("pol_fraud", "police", ("police",), (("pol_fraud",),), None, callers=SELF, subject="elder")
base("pol_parking", "police", ("police",), (("pol_parking",),),
     {"plain": (), "suicidedoors": (("hn_suicide_doors",),)}, callers=SELF + BYST)
base("pol_hunting", "police", ("police", "service"), (("hn_gun_shop",),),
     {"plain": (), "shotsheard_neg": (("v_notviolent",),)}, callers=SELF + BYST, places=("wooded", "business"))

# ======================================================================== traffic
base("trf_mva", "traffic", ("traffic",), (("mva_basic",),),
     {"noinj": (("m_noinj",),), "unkinj": (("mva_unkinj",),), "blocking": (("mva_blocking",),),
      "suicidedoors": (("hn_suicide_doors",),), "crack": (("hn_crack",),)},
     optional=(("mva_blocking", 0.4),), callers=SELF + BYST + OFC, places=("highway", "street", "parking_lot"))
base("trf_mva_pi", "traffic", ("traffic_inj",), (("mva_basic",), ("m_mvainj",)),
     {"plain": (), "hxsi": HXSI, "blowout": (("hn_blowout",),)},
     optional=(("mva_blocking", 0.4),), callers=SELF + BYST + OFC, places=("highway", "street"))
base("trf_dui", "traffic", ("dui",), (("s_dui",),),
     {"plain": (), "reckless": (("traffic_reckless",),), "stopped": (("pol_intox_driver_stop",),)},
     callers=BYST, places=("highway", "street", "parking_lot"))
base("trf_dui_crash", "traffic", ("traffic", "traffic_inj", "dui"), (("s_dui",), ("mva_basic",)),
     {"noinj": (("m_noinj",),), "injured": (("m_mvainj",),)}, callers=BYST + OFC, places=("highway", "street"))
base("trf_disabled", "traffic", ("disabled",), (("traffic_disabled",),),
     {"plain": (), "battery": (("hn_dead_battery",),), "blowout": (("hn_blowout",),), "jump": (("hn_jump",),)},
     callers=SELF + BYST, places=("highway", "street", "parking_lot"))
base("trf_hitrun", "traffic", ("traffic", "traffic_inj"), (("traffic_hitrun",),),
     {"plain": (), "ped": (("m_mvainj",),)}, callers=SELF + BYST, places=("street", "parking_lot"), holdout=True)
base("trf_roadrage", "traffic", ("traffic", "violence"), (("traffic_reckless",),),
     {"threats": (("v_threats", "v_gun"),), "verbal": (("v_verbal",),)}, callers=SELF, sex="M",
     places=("highway", "street"), victims=("rp",))

# ======================================================================== medical
base("med_fall_hip", "medical", ("fall", "medical"), (("m_hipfx",),),
     {"plain": (), "hxsi": HXSI, "hxbh": HXBH, "hxetoh": HXSUB}, callers=FAM + SELF + PROF, subject="elder")
base("med_fall_head", "medical", ("fall", "bleeding", "medical"), (("m_headinj",),),
     {"plain": (), "etoh": ETOH, "hxbh": HXBH}, callers=FAM + BYST + PROF, places=("residence", "store", "street", "group_home"))
base("med_lift", "medical", ("fall", "medical"), (("m_lift",),),
     {"plain": (), "high": (("hn_high_roof",),), "hxsi": HXSI, "calm": (("b_calm",),)}, callers=FAM + SELF + ALARM,
     subject="elder")
base("med_cp", "medical", ("cardiac", "medical"), (("m_cp",),),
     {"plain": (), "hxbh": HXBH, "negetoh": NEGETOH}, callers=SELF + FAM, subject="elder")
base("med_breathing", "medical", ("breathing", "medical"), (("m_diffbreath",),),
     {"plain": (), "flushot": (("hn_flu_shot",),), "hxbh": HXBH}, callers=SELF + FAM + PROF)
base("med_stroke", "medical", ("stroke", "medical"), (("m_stroke",),), None, callers=FAM + PROF, subject="elder")
base("med_seizure", "medical", ("seizure", "medical"), (("m_seizure",),),
     {"plain": (), "hxetoh": HXSUB}, callers=FAM + BYST + PROF)
base("med_unresp", "medical", ("unconscious", "medical"), (("m_unresp",),),
     {"plain": (), "negetoh": NEGETOH}, callers=FAM + BYST)
base("med_arrest", "medical", ("cardiac",), (("m_arrest",),), None, callers=FAM, subject="elder")
base("med_allergic", "medical", ("medical", "breathing"), (("m_allergic",),),
     {"plain": (), "vaccine": (("hn_flu_shot",),)}, callers=SELF + FAM, holdout=True)
base("med_diabetic", "medical", ("medical",), (("m_diabetic",),),
     {"plain": (), "hxbh": HXBH}, callers=FAM + BYST, holdout=True)
base("med_abd", "medical", ("medical",), (("m_abd",),), None, callers=SELF + FAM)
base("med_sick", "medical", ("medical",), (("m_sick",),),
     {"plain": (), "flushot": (("hn_flu_shot",),), "hxbh": HXBH, "negetoh": NEGETOH}, callers=SELF + FAM + PROF)
base("med_minor", "medical", ("medical", "fall"), (("m_minor",),),
     {"plain": (), "knifeshop": (("hn_knife_shop",),), "hxsi": HXSI, "noweap_neg": (("v_notviolent",),)},
     callers=SELF + BYST + PROF, places=("residence", "store", "business", "school"))
base("med_transport", "medical", ("medical",), (("m_transport",),),
     {"plain": (), "psych": (("hn_psych_transport",),)}, callers=PROF, places=("hospital", "group_home"))
base("med_labor", "medical", ("medical",), (("m_labor",),), None, callers=FAM + SELF, sex="F", subject="young")
base("med_choking", "medical", ("breathing", "medical"), (("m_choking",),), None, callers=FAM + PROF)
base("med_burn", "medical", ("medical",), (("m_burn",),), None, callers=FAM + SELF)

# ======================================================================== fire
base("fire_structure", "fire", ("fire",), (("fire_structure",),),
     {"plain": (("fire_occupants_out",),), "exposure": (("fire_exposure",),), "injured": (("m_burn",),)},
     callers=SELF + BYST + FAM, places=("residence", "apartment", "business"))
base("fire_kitchen", "fire", ("fire", "smoke"), (("fire_kitchen",),),
     {"plain": (), "gluegun": (("hn_glue_gun",),), "intox_cook": ETOH}, callers=SELF + BYST, places=("residence", "apartment"))
base("fire_outside", "fire", ("outside_fire",), (("fire_outside",),),
     {"plain": (), "fighting": (("hn_fighting_fire",),), "photo": (("hn_shot_photo",),)}, callers=BYST + SELF,
     places=("wooded", "park", "parking_lot", "highway"))
base("fire_vehicle", "fire", ("vehicle_fire",), (("fire_vehicle",),),
     {"plain": (), "suicidedoors": (("hn_suicide_doors",),)}, callers=BYST + SELF, places=("highway", "parking_lot", "street"))
base("fire_smoke", "fire", ("smoke",), (("smoke_odor",),),
     {"plain": (), "gluegun": (("hn_glue_gun",),)}, callers=SELF + PROF, places=("residence", "apartment", "business", "school"))
base("fire_arson_threat", "fire", ("fire", "violence"), (("fire_structure", "fire_outside"), ("v_threats",)),
     None, callers=SELF + BYST, victims=("rp", "neighbor"), holdout=True)
base("fire_crisis_set", "fire", ("fire", "behavioral"), (("fire_kitchen", "fire_structure"), ("b_psychosis", "b_erratic")),
     {"plain": (), "si": (("si_threat",),)}, callers=FAM + BYST, places=("residence", "apartment"))

# ======================================================================== alarms
base("alr_fire", "alarm", ("alarm",), (("alarm_fire",), ("alarm_oper",)),
     {"plain": (), "kh": (("alarm_kh",),), "knifeshop": (("hn_knife_shop",),)}, callers=ALARM,
     places=("business", "school", "church", "apartment"))
base("alr_burg", "alarm", ("burg_alarm",), (("alarm_burg",), ("alarm_oper",)),
     {"plain": (), "kh": (("alarm_kh",),), "gunshop": (("hn_gun_shop",),)}, callers=ALARM, places=("business", "residence", "store"))
base("alr_co", "alarm", ("co_alarm",), (("alarm_co",),), None, callers=ALARM + SELF)
base("alr_med", "alarm", ("med_alarm",), (("alarm_med_noresp",),),
     {"plain": (), "foundunresp": (("m_unresp",),), "accidental": (("alarm_med_ok",),)}, callers=ALARM, subject="elder")

# ======================================================================== hazards
base("haz_wires", "hazard", ("hazard",), (("haz_wires",),), {"plain": (), "hanging": (("hn_hanging",),)},
     callers=BYST + SELF, places=("street", "residence"))
base("haz_gas", "hazard", ("hazard",), (("haz_gas",),), {"plain": (), "sick": (("m_diffbreath",),)}, callers=SELF + PROF)
base("haz_tree", "hazard", ("hazard",), (("haz_tree",),), {"plain": (), "hanging": (("hn_hanging",),)},
     callers=BYST + SELF, places=("street", "highway"))
base("haz_spill", "hazard", ("hazard",), (("haz_spill",),), None, callers=BYST + OFC, places=("highway", "parking_lot"))
base("haz_road", "hazard", ("hazard",), (("hn_depression_road",),), None, callers=BYST, places=("street", "highway"), holdout=True)

# ======================================================================== service
base("svc_lockout", "service", ("service",), (("svc_lockout",),), None, callers=SELF, places=("residence", "parking_lot"))
base("svc_animal", "service", ("service",), (("svc_animal",),), {"plain": (), "high": (("hn_high_roof",),)},
     callers=SELF + BYST, places=("street", "residence", "park"))
base("svc_info", "service", ("service",), (("svc_info",),),
     {"plain": (), "overdue": (("hn_overdue",),), "hunting": (("hn_gun_shop",),)}, callers=SELF)
base("svc_standby", "service", ("service",), (("svc_standby",),), {"plain": (), "hxbh": HXBH, "calm": (("b_calm",),)},
     callers=SELF)
base("svc_hangup", "service", ("service",), (("svc_hangup",),), None, callers=SELF)
base("svc_found", "service", ("service",), (("svc_found",),), {"plain": (), "pills": (("hn_pills_found",),)},
     callers=SELF + BYST, places=("park", "store", "street"), holdout=True)


def families() -> list[Family]:
    ids = [f.id for f in FAMILIES]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate family ids")
    return list(FAMILIES)
