"""Hand-written notes that several test modules check against different models."""

# A negated weapon mention in notes of several styles: "no weapons" must not count as evidence of violence.
NEGATED_WEAPONS = [
    "RP ADV SUBJ YELLING AT NEIGHBORS NO WEAPONS",
    "caller says her brother is confused and pacing, no weapons seen",
    "FEMALE CRYING IN LOBBY NO WEAPONS PER RP",
    "male talking to himself outside the store, no weapons",
]
