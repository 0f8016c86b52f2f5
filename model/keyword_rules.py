"""The lexicon behind the `keywords` baseline: the kind of rule list many dispatch centres use today.

Each rule is a regular expression over the lower-cased note and a weight in (0, 1). Rules are data: the
explainer reports the ones that fired, and weak supervision (agency imports) reuses them as labeling functions.
"""

from __future__ import annotations

RULES: dict[str, tuple[tuple[str, str, float], ...]] = {
    # label: ((rule id, pattern, weight), ...)
    "behavioral_health": (
        ("bh_psych", r"\bpsych\w*|\b10-?96\b|\bedp\b|\b5150\b|mental(ly)?\b|\bmntl\b", 0.8),
        ("bh_crisis", r"\bcrisis\b|\bbreakdown\b|panic attack|\bhysterical\b", 0.6),
        ("bh_meds", r"off (his|her|their) med(s|ication)s?|not taking (his|her) med", 0.8),
        ("bh_halluc", r"hallucinat\w*|hearing voices|talking to (himself|herself|people who)|paranoi\w*|delusion\w*", 0.85),
        ("bh_erratic", r"\berratic\b|\bbizarre\b|acting (crazy|strange|weird)|out of control|irrational", 0.55),
        ("bh_depress", r"\bdepress(ed|ion)\b|\bbipolar\b|schizo\w*|\bptsd\b|\banxiety\b", 0.5),
        ("bh_suicide", r"suicid\w*|kill (him|her|my|them)sel(f|ves)|end (his|her|my) life|\bsi\b|self[- ]harm", 0.85),
        ("bh_od", r"\bod\b|overdos\w*|\bnarcan\b|\bnaloxone\b", 0.6),
        ("bh_intox", r"\bintox\w*|\betoh\b|\bdrunk\b|\bhigh on\b", 0.45),
        ("bh_welfare", r"welfare check|check (on )?(the )?welfare", 0.35),
    ),
    "suicide_risk": (
        ("sr_suicide", r"suicid\w*|\bsi\b|\bsuicide attempt\b", 0.85),
        ("sr_kill_self", r"kill (him|her|my|them)sel(f|ves)|end (his|her|my|their) life|wants to die|take (his|her|my) (own )?life", 0.9),
        ("sr_self_harm", r"self[- ]harm\w*|cutting (him|her)self|cut (his|her) wrists?|slit", 0.85),
        ("sr_jump", r"jump(ing)? (off|from)|on the (bridge|ledge|overpass)", 0.6),
        ("sr_se_quiere", r"se quiere matar|suicidarse", 0.9),
    ),
    "substance_use": (
        ("su_etoh", r"\betoh\b|\bintox\w*|\bdrunk\b|\bdrinking\b|\balcohol\w*|\bbeer\b|\bliquor\b|\bborracho\b|\bdui\b", 0.75),
        ("su_drugs", r"\bdrugs?\b|\bmeth\b|\bheroin\b|\bfentanyl\b|\bcocaine\b|\bcrack\b|\bpcp\b|\bhigh on\b|\bhuffing\b|\bspice\b", 0.75),
        ("su_od", r"\bod\b|overdos\w*|\bnarcan\b|\bnaloxone\b|took (a bunch of|too many|all (his|her|the)) pills", 0.85),
        ("su_pills", r"\bpills\b", 0.4),
    ),
    "violence_risk": (
        ("vr_weapon", r"\bweapons?\b|\bwpns?\b|\bgun\b|\bfirearm\b|\bpistol\b|\brifle\b|\bshotgun\b|\bknife\b|\bmachete\b|\bbat\b|\barmed\b|\bcuchillo\b|\bpistola\b", 0.8),
        ("vr_fight", r"\bfight\w*|\bassault\w*|\bpunch\w*|\bhitting\b|\bbeating\b|\bstabb?\w*|\bshot\b|\bshooting\b|\bpelea\b", 0.75),
        ("vr_threat", r"threaten\w*|\bthreats?\b|going to kill|gonna kill|\bhurt (him|her|them|someone|people)\b", 0.75),
        ("vr_dv", r"\bdv\b|domestic|\bdva\b", 0.75),
        ("vr_combative", r"combative|aggressive|violent|\bagresivo\b", 0.65),
    ),
    "medical_emergency": (
        ("me_unresp", r"unresponsive|unconsc\w*|unconcious|\buncon\b|not breathing|\bnot breath\w*|passed out|\bcpr\b|\bcardiac arrest\b", 0.85),
        ("me_breathing", r"diff(iculty)? breathing|\bdib\b|\bsob\b|trouble breathing|can'?t breathe", 0.75),
        ("me_seizure", r"seiz\w*|siez\w*|convuls\w*", 0.8),
        ("me_bleeding", r"bleed\w*|\bblood\b|laceration|gunshot wound|\bgsw\b|stab wound", 0.7),
        ("me_cardiac", r"chest pain|\bcp\b|stroke|\bcva\b|heart attack", 0.7),
        ("me_od", r"\bod\b|overdos\w*|\bnarcan\b", 0.5),
    ),
}

# A negation cue within `negation_window` words before a match cancels it ("NO WPNS", "DENIES SI").
NEGATION_CUES = r"\b(no|not|neg|negative|denies|denied|deny|without|none|never|nothing|doesn'?t|don'?t|isn'?t|wasn'?t|no longer|nor|sin)\b"
