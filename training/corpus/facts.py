"""The fact bank: every scenario fact, the labels it turns on, and its surface forms.

A fact is one unit of meaning ("holding a knife", "NO WPNS", "HX SI"). Labels follow data/README.md:
negated, history-only and hard-negative facts turn nothing on; uncertain weapon facts turn violence on.
`cad` templates are written upper case, `prose` in sentence case (no final full stop), `es` are Spanish
phrases a call-taker quotes or writes, `say` are caller words for transcripts (first-person or about the subject).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BH = "behavioral_health"
SI = "suicide_risk"
SUB = "substance_use"
VIO = "violence_risk"
MED = "medical_emergency"


@dataclass(frozen=True)
class Fact:
    key: str
    labels: frozenset[str]
    cad: tuple[str, ...]
    prose: tuple[str, ...]
    es: tuple[str, ...] = ()
    say: tuple[str, ...] = ()
    tag: str | None = None  # negation | history | uncertain | hard_negative | None
    topic: str = ""  # facts with the same topic must agree (no "NO WPNS" beside "W/ KNIFE")
    evidence: bool = True  # context facts are False: they may be dropped or truncated
    questions: tuple[str, ...] = field(default=())  # call-taker question that elicits it (transcripts)


FACTS: dict[str, Fact] = {}


def _f(key: str, labels: tuple[str, ...], cad: tuple[str, ...], prose: tuple[str, ...], *, es: tuple[str, ...] = (),
       say: tuple[str, ...] = (), tag: str | None = None, topic: str = "", evidence: bool = True,
       questions: tuple[str, ...] = ()) -> None:
    if key in FACTS:
        raise ValueError(f"duplicate fact {key}")
    FACTS[key] = Fact(key, frozenset(labels), cad, prose, es, say, tag, topic or key, evidence, questions)


Q_WEAPON = ("does <he> have any weapons", "any weapons", "are there any weapons in the house",
            "does <he> have a gun or a knife or anything", "is <he> armed")
Q_TAKE = ("did <he> take anything", "has <he> been drinking", "is <he> on anything", "any drugs or alcohol")
Q_BREATH = ("is <he> breathing", "is <he> awake", "is <he> conscious", "is <he> breathing okay")
Q_HURT = ("is anyone hurt", "is <he> hurt", "any injuries", "is there any bleeding")
Q_SELF = ("is <he> talking about hurting <himself>", "has <he> said anything about killing <himself>",
          "is <he> suicidal", "has <he> tried to hurt <himself>")

# ---------------------------------------------------------------- medical (medical_emergency = 1)
_f("m_unresp", (MED,),
   ("UNRESPONSIVE", "UNCONSCIOUS", "NOT RESPONDING TO RP", "UNCON ON THE FLOOR", "FOUND UNRESPONSIVE",
    "<s> UNRESPONSIVE, BREATHING UNK", "NOT CONSCIOUS", "WONT WAKE UP"),
   ("<He> is unresponsive", "<He> is unconscious and not answering", "Caller found <him> unresponsive",
    "<He> won't wake up"),
   es=("NO RESPONDE", "ESTA INCONSCIENTE"), say=("<he>'s not waking up", "<he> won't respond to me",
                                               "<he>'s just lying there <he> won't answer me"),
   topic="consciousness", questions=Q_BREATH)
_f("m_notbreathing", (MED,),
   ("NOT BREATHING", "NOT BREATHING / CPR IN PROGRESS", "AGONAL RESP", "NO PULSE NOT BREATHING", "CPR INSTRUCTIONS GIVEN",
    "BREATHING IRREGULAR, TURNING BLUE"),
   ("<He> is not breathing", "Caller is doing CPR", "<He> is turning blue and barely breathing"),
   es=("NO RESPIRA",), say=("<he>'s not breathing", "<he>'s turning blue", "i don't think <he>'s breathing"),
   topic="breathing", questions=Q_BREATH)
_f("m_diffbreath", (MED,),
   ("DIFF BREATHING", "SOB", "C/O SOB", "DIFFICULTY BREATHING", "DIB", "CANT CATCH {HIS|HER|<his>} BREATH",
    "SHORT OF BREATH, CANT SPEAK FULL SENTENCES", "RESP DISTRESS"),
   ("<He> is having trouble breathing", "<He> is short of breath and can't finish a sentence",
    "<He> says <he> can't breathe"),
   es=("NO PUEDE RESPIRAR",), say=("<he> can't breathe", "<he>'s having a really hard time breathing"),
   topic="breathing", questions=Q_BREATH)
_f("m_cp", (MED,),
   ("CP", "C/O CP", "CHEST PAIN", "C/O CHEST PAIN RADIATING TO L ARM", "CHEST PAIN, SWEATY, HX MI", "CP X 30 MIN",
    "CHEST PRESSURE, DIAPHORETIC"),
   ("<He> is complaining of chest pain", "<He> has chest pain going down the left arm and is sweating",
    "<He> has had chest pressure for about <mins> minutes"),
   es=("DOLOR DE PECHO",), say=("<he> says <his> chest really hurts", "<he>'s got chest pain and <he>'s all sweaty"),
   topic="chest")
_f("m_stroke", (MED,),
   ("STROKE SX", "POSS CVA", "SLURRED SPEECH / FACIAL DROOP", "R SIDED WEAKNESS, SPEECH SLURRED", "LAST KNOWN WELL <mins> MIN AGO",
    "POSS STROKE, FACE DROOPING"),
   ("<He> has slurred speech and <his> face is drooping", "Caller thinks <he> is having a stroke",
    "<He> suddenly can't move <his> right side"),
   say=("<his> face is drooping and <he> can't talk right", "i think <he>'s having a stroke"), topic="stroke")
_f("m_seizure", (MED,),
   ("SEIZURE", "ACTIVE SEIZURE", "SEIZING", "SEIZURE X2", "HAVING A SEIZURE NOW", "SEIZURE ACTIVITY, HX EPILEPSY",
    "SHAKING ON THE GROUND, POSS SEIZURE"),
   ("<He> is having a seizure", "<He> is on the ground shaking, caller thinks it is a seizure",
    "<He> has had two seizures in a row"),
   es=("LE ESTA DANDO UN ATAQUE",), say=("<he>'s having a seizure", "<he>'s shaking all over on the floor"),
   topic="seizure")
_f("m_bleed", (MED,),
   ("BLEEDING HEAVILY", "SEVERE BLEEDING FROM <part>", "LARGE LAC TO <part>, BLEEDING WONT STOP", "LOTS OF BLOOD",
    "ARTERIAL BLEEDING <part>", "BLEEDING HEAVY FROM <part>"),
   ("<He> is bleeding heavily from the <part>", "There is a lot of blood and it won't stop",
    "<He> has a deep cut to the <part> that is bleeding badly"),
   es=("ESTA SANGRANDO MUCHO",), say=("there's blood everywhere", "<he>'s bleeding really bad", "it won't stop bleeding"),
   topic="bleeding", questions=Q_HURT)
_f("m_headinj", (MED,),
   ("HIT HEAD, BLEEDING", "HEAD LAC BLEEDING", "FELL STRUCK HEAD, BLEEDING FROM SCALP", "HEAD INJ W/ BLEEDING",
    "HIT HEAD ON <surface>, BLEEDING, LOC UNK"),
   ("<He> hit <his> head and is bleeding", "<He> fell and struck <his> head on the <surface>, bleeding from the scalp"),
   say=("<he> hit <his> head and it's bleeding",), topic="bleeding", questions=Q_HURT)
_f("m_gsw", (MED,),
   ("GSW TO <part>", "SHOT IN THE <part>", "1 PT GSW", "GUNSHOT WOUND <part>", "VIC SHOT, BLEEDING"),
   ("Someone has been shot in the <part>", "There is a gunshot wound to the <part>"),
   say=("he got shot", "somebody's been shot in the <part>"), topic="wound", questions=Q_HURT)
_f("m_stab", (MED,),
   ("STABBED IN <part>", "STAB WOUND TO <part>", "VIC STABBED, BLEEDING", "1 STAB WOUND, CONS"),
   ("The victim was stabbed in the <part> and is bleeding", "There is a stab wound to the <part>"),
   say=("he got stabbed", "he's bleeding from his <part> he got stabbed"), topic="wound", questions=Q_HURT)
_f("m_hardwake", (MED,),
   ("HARD TO WAKE", "IN AND OUT OF CONSCIOUSNESS", "ALOC", "DLOC", "BARELY RESPONSIVE", "LETHARGIC, HARD TO AROUSE",
    "SNORING RESP, WONT WAKE"),
   ("<He> is very hard to wake", "<He> keeps going in and out", "<He> is barely responding"),
   es=("NO SE DESPIERTA BIEN",), say=("<he> keeps passing out", "i can barely wake <him> up"),
   topic="consciousness", questions=Q_BREATH)
_f("m_arrest", (MED,),
   ("CPR IN PROGRESS", "NO PULSE", "CARDIAC ARREST", "CPR INSTRUCTIONS GIVEN, RP DOING COMPRESSIONS", "AED ON SCENE"),
   ("Caller is doing chest compressions", "<He> has no pulse, CPR started"),
   say=("i'm doing the compressions", "<he> doesn't have a pulse"), topic="breathing")
_f("m_allergic", (MED,),
   ("ALLERGIC RXN, THROAT SWELLING", "ANAPHYLAXIS, EPIPEN USED", "BEE STING, LIPS SWELLING, DIFF BREATHING",
    "ALLERGIC REACTION TO PEANUTS, HIVES, WHEEZING"),
   ("<He> is having an allergic reaction and <his> throat is swelling", "<He> used an EpiPen and is still wheezing"),
   say=("<his> throat is closing up",), topic="breathing")
_f("m_diabetic", (MED,),
   ("DIABETIC, BS <num>0, CONFUSED", "DIABETIC, SUGAR LOW, ALTERED", "LOW BLOOD SUGAR, SWEATY AND CONFUSED",
    "DIABETIC EMERGENCY, NOT MAKING SENSE"),
   ("<He> is diabetic and confused, sugar reading low", "<He> is a diabetic, sweaty and not making sense"),
   say=("<he>'s diabetic and <his> sugar is really low", "<he>'s diabetic and <he>'s not making sense"),
   topic="diabetic")
_f("m_abd", (MED,),
   ("ABD PAIN, VOMITING BLOOD", "VOMITING BLOOD", "SEVERE ABD PAIN, PALE AND SWEATY", "ABD PAIN, PASSED OUT x1"),
   ("<He> has bad stomach pain and is vomiting blood", "<He> has severe abdominal pain and fainted once"),
   say=("<he>'s throwing up blood",), topic="abd")
_f("m_hipfx", (MED,),
   ("FELL, POSS HIP FX", "FELL, CANT GET UP, L HIP DEFORMITY", "FALL, SEVERE HIP PAIN, CANT MOVE LEG",
    "FELL DOWN <num> STAIRS, POSS BROKEN LEG"),
   ("<He> fell and may have broken <his> hip", "<He> fell and cannot move <his> leg"),
   say=("<he> fell and i think <he> broke <his> hip",), topic="injury")
_f("m_mvainj", (MED,),
   ("PI / 1 PT BLEEDING", "ENTRAPMENT, DRIVER PINNED", "INJURIES REPORTED", "DRIVER UNCON IN VEH", "AIRBAG DEPLOYED, DRIVER BLEEDING FROM HEAD",
    "<num> PTS INJURED", "PED STRUCK, NOT MOVING"),
   ("At least one person is injured and bleeding", "The driver is pinned in the car", "A pedestrian was struck and is not moving"),
   say=("the driver's not moving", "there's somebody stuck in the car bleeding"), topic="injury", questions=Q_HURT)
_f("m_burn", (MED,),
   ("BURNS TO ARMS AND FACE", "2ND DEGREE BURNS", "BURN INJ, SKIN PEELING", "1 PT W/ BURNS"),
   ("<He> has burns to the arms and face", "One person is burned"), say=("<he> got burned bad",), topic="injury")
_f("m_choking", (MED,),
   ("CHOKING", "CHOKING, CANT SPEAK", "FOOD STUCK, NOT BREATHING WELL"),
   ("<He> is choking and can't speak",), say=("<he>'s choking",), topic="breathing")
_f("m_labor", (MED,),
   ("PREG <num> WKS, HEAVY BLEEDING", "IN LABOR, CAN SEE HEAD", "PREG, SEVERE PAIN AND BLEEDING"),
   ("She is pregnant and bleeding heavily", "She is in labor and the baby is coming"),
   say=("the baby's coming",), topic="preg")
_f("m_overdose_resp", (MED,),
   ("BREATHING SLOW, LIPS BLUE", "SNORING RESP, PINPOINT PUPILS", "NOT BREATHING WELL, GRAY COLOR"),
   ("<He> is breathing very slowly and <his> lips are blue", "<He> is gray and barely breathing"),
   say=("<his> lips are blue", "<he>'s barely breathing"), topic="breathing", questions=Q_BREATH)

# ---------------------------------------------------------------- medical, not an emergency (0)
_f("m_cb", (),
   ("C/B", "CONS/BREATHING", "CONSC AND BREATHING", "CONS, BREATHING", "A&O X4", "AWAKE AND TALKING", "ALERT, TALKING"),
   ("<He> is awake and breathing", "<He> is conscious and talking"),
   say=("<he>'s awake <he>'s talking", "yeah <he>'s breathing <he>'s awake"), tag=None, topic="consciousness",
   questions=Q_BREATH)
_f("m_noinj", (),
   ("NO INJ", "NO INJURIES", "NO INJ REPORTED", "NEG INJ", "NO ONE HURT", "NO INJ PER RP"),
   ("No injuries reported", "Nobody is hurt"), es=("NADIE ESTA HERIDO",), say=("no one's hurt", "nobody's hurt"),
   tag="negation", topic="injury", questions=Q_HURT)
_f("m_minor", (),
   ("MINOR CUT TO FINGER, BLEEDING CONTROLLED", "C/O ANKLE PAIN AFTER TRIP", "SCRAPE TO KNEE", "SMALL BUMP ON HEAD, NO LOC",
    "C/O BACK PAIN, AMBULATORY"),
   ("<He> has a minor cut, bleeding controlled", "<He> twisted an ankle and can walk"),
   say=("it's just a little cut",), topic="injury")
_f("m_superficial", (),
   ("SUPERFICIAL CUTS, BLEEDING CONTROLLED", "SMALL CUTS, NOT BLEEDING MUCH", "SCRATCHES ONLY, BANDAGED", "MINOR LACS, BLEEDING STOPPED"),
   ("The cuts are superficial and the bleeding is controlled", "Only small cuts, already bandaged"),
   say=("they're not deep it stopped bleeding",), topic="bleeding", questions=Q_HURT)
_f("m_lift", (),
   ("LIFT ASSIST", "REQ LIFT ASSIST, NO INJ", "NEEDS HELP GETTING UP, NO INJ", "LIFT ASSIST ONLY", "SLID OUT OF CHAIR, NO INJ"),
   ("Caller needs help getting <him> up, no injuries", "Lift assist only, not hurt"),
   say=("i just need help getting <him> up <he>'s not hurt",), topic="injury")
_f("m_sick", (),
   ("C/O NAUSEA X2 DAYS", "FEVER AND BODY ACHES", "GENERAL ILLNESS", "C/O DIZZINESS, C/B", "WEAK, NOT EATING", "C/O EAR PAIN"),
   ("<He> has been feeling sick with fever and aches", "<He> feels dizzy but is talking fine"),
   say=("<he>'s been sick for a couple days",), topic="sick")
_f("m_transport", (),
   ("REQ NON-EMERGENCY TRANSPORT", "SCHEDULED TRANSFER", "REQ BLS TRANSPORT TO <hosp>", "DISCHARGE TRANSPORT"),
   ("Requesting a non-emergency transport to <hosp>",), say=("we need a transport",), topic="transport")

# ---------------------------------------------------------------- substance use (substance_use = 1)
_f("s_etoh", (SUB,),
   ("ETOH", "INTOX", "HIGHLY INTOX", "ETOH INVOLVED", "SMELLS OF ETOH", "DRUNK", "POSS INTOX", "ETOH ON BOARD",
    "VERY INTOX, CANT STAND", "DRINKING ALL DAY"),
   ("<He> is very drunk", "<He> has been drinking all day", "<He> smells of alcohol and can't stand up",
    "<He> appears intoxicated"),
   es=("ESTA BORRACHO", "ESTA TOMADO"), say=("<he>'s drunk", "<he>'s been drinking all day", "<he> is wasted"),
   topic="substance", questions=Q_TAKE)
_f("s_meth", (SUB,),
   ("HIGH ON METH", "ON METH", "POSS UNDER INFLUENCE OF METH", "METH USE TODAY", "USING METH X3 DAYS", "ON ICE/METH"),
   ("<He> is high on meth", "<He> has been using meth for days", "Caller believes <he> is on meth"),
   es=("ESTA DROGADO",), say=("<he>'s high on meth", "<he>'s been doing meth"), topic="substance", questions=Q_TAKE)
_f("s_drugs", (SUB,),
   ("POSS UNDER THE INFLUENCE", "ON SOMETHING UNK WHAT", "SMOKED SOMETHING", "HIGH ON UNK DRUGS", "POSS DRUG USE",
    "USING DRUGS IN BATHROOM"),
   ("<He> seems high on something", "<He> smoked something and is acting strange", "<He> is on drugs, type unknown"),
   es=("ESTA DROGADO",), say=("<he>'s on something", "<he> took something i don't know what"),
   topic="substance", questions=Q_TAKE)
_f("s_od_opioid", (SUB,),
   ("OD", "POSS OD", "OD ON HEROIN", "POSS FENTANYL OD", "OVERDOSE", "POSS OPIATE OD", "OD, UNK SUBSTANCE"),
   ("<He> overdosed, possibly on fentanyl", "Caller believes <he> overdosed on heroin", "Possible overdose"),
   es=("SOBREDOSIS",), say=("i think <he> overdosed", "<he> did some fentanyl"), topic="substance", questions=Q_TAKE)
_f("s_pills", (SUB,),
   ("TOOK UNK AMOUNT OF PILLS", "TOOK A BOTTLE OF <pills>", "INGESTED <num>0 <pills>", "TOOK {ALL|HANDFUL OF} <his> <pills>",
    "EMPTY PILL BOTTLES NEXT TO <him>", "TOOK TOO MANY PILLS"),
   ("<He> took a whole bottle of <pills>", "<He> swallowed an unknown number of pills", "Empty pill bottles were found next to <him>"),
   es=("SE TOMO MUCHAS PASTILLAS",), say=("<he> took a bunch of pills", "<he> took the whole bottle"),
   topic="substance", questions=Q_TAKE)
_f("s_narcan", (SUB,),
   ("NARCAN GIVEN", "NARCAN X2 BY RP", "RP ADMINISTERED NARCAN", "NARCAN GIVEN, NOW BREATHING", "NALOXONE GIVEN BY BYSTANDER"),
   ("Caller gave Narcan", "Narcan was given twice by a friend"), say=("i gave <him> narcan",),
   topic="narcan")
_f("s_huffing", (SUB,),
   ("HUFFING", "HUFFING DUSTER CANS", "HUFFING PAINT"), ("<He> has been huffing air duster",),
   say=("<he>'s been huffing",), topic="substance")
_f("s_dui", (SUB,),
   ("POSS DUI", "DRIVER APPEARS INTOX", "SWERVING ALL LANES POSS DRUNK", "DRIVER DRINKING WHILE DRIVING",
    "POSS IMPAIRED DRIVER", "DRIVER PASSED OUT AT WHEEL, ETOH"),
   ("The driver appears drunk", "The driver is swerving all over and seems impaired", "The driver was seen drinking while driving"),
   es=("EL CHOFER ESTA BORRACHO",), say=("i think the driver's drunk", "he's swerving all over the road"), topic="substance")
_f("s_drinking_minor", (SUB,),
   ("UNDERAGE DRINKING", "JUVS DRINKING", "TEENS DRINKING IN <place_short>", "KIDS W/ ALCOHOL"),
   ("A group of teenagers is drinking",), say=("there's a bunch of kids drinking",), topic="substance")
# negated / history substance (0)
_f("s_neg", (),
   ("NEG ETOH", "NO ETOH", "NO ETOH OR DRUGS", "NO DRUGS/ETOH", "NOT DRINKING", "NO DRUG USE PER RP", "DENIES DRUG USE",
    "DENIES ETOH", "NO SUBSTANCES"),
   ("<He> has not been drinking", "No drugs or alcohol involved", "Caller says <he> does not use drugs"),
   es=("NO HA TOMADO",), say=("no <he> doesn't drink", "no nothing like that", "no drugs no nothing"),
   tag="negation", topic="substance", questions=Q_TAKE)
_f("s_hx", (),
   ("HX ETOH ABUSE", "HX DRUG USE", "HX OF SUBSTANCE ABUSE", "SOBER X2 YRS", "HX OPIOID USE, IN RECOVERY"),
   ("<He> has a history of alcohol abuse", "<He> has been sober for two years"),
   say=("<he> used to drink but <he>'s been sober",), tag="history", topic="substance")

# ---------------------------------------------------------------- suicide (suicide_risk = 1, implies BH)
_f("si_ideation", (SI, BH),
   ("SUICIDAL", "SI", "SUICIDAL IDEATIONS", "TALKING ABOUT KILLING <himself>", "WANTS TO END IT", "SAYS <he> WANTS TO DIE",
    "STATING <he> WANTS TO END <his> LIFE", "TALKING ABOUT SUICIDE", "DOESNT WANT TO LIVE ANYMORE", "SI X2 DAYS"),
   ("<He> says <he> wants to die", "<He> has been talking about killing <himself>", "<He> told caller <he> wants to end it",
    "<He> is having suicidal thoughts"),
   es=("DICE QUE SE QUIERE MATAR", "YA NO QUIERE VIVIR", "QUIERE QUITARSE LA VIDA"),
   say=("<he> says <he> wants to die", "<he> keeps saying <he> wants to kill <himself>", "<he> said <he> doesn't want to live anymore"),
   topic="si", questions=Q_SELF)
_f("si_threat", (SI, BH),
   ("THREATENING SUICIDE", "THREATENING TO KILL <himself>", "THREATENING TO HARM SELF", "SAYS <he> WILL KILL <himself> IF RP LEAVES",
    "SUICIDE THREAT", "THREATENING TO JUMP"),
   ("<He> is threatening to kill <himself>", "<He> said <he> would kill <himself> if caller left", "<He> is threatening suicide"),
   es=("AMENAZA CON MATARSE",), say=("<he>'s threatening to kill <himself>", "<he> said if i leave <he>'ll kill <himself>"),
   topic="si", questions=Q_SELF)
_f("si_plan", (SI, BH),
   ("SI W/ PLAN", "HAS A PLAN TO OVERDOSE", "SI W/ PLAN TO USE GUN", "WROTE A NOTE", "GAVE AWAY BELONGINGS, SI",
    "SUICIDAL W/ PLAN AND MEANS"),
   ("<He> has a plan to kill <himself>", "<He> wrote a suicide note", "<He> gave away <his> things and says <he> has a plan"),
   say=("<he> wrote a note", "<he> said <he> has a plan"), topic="si", questions=Q_SELF)
_f("si_cut", (SI, BH),
   ("CUT WRISTS", "CUTTING", "SELF INFLICTED LACS TO WRISTS", "CUT <himself> W/ RAZOR", "SELF HARM, CUTS ON ARMS",
    "CUT <his> WRIST"),
   ("<He> cut <his> wrists", "<He> has been cutting <himself> with a razor", "<He> cut <his> arms on purpose"),
   es=("SE CORTO LAS MUNECAS",), say=("<he> cut <his> wrists", "<he>'s been cutting <himself>"), topic="si_act")
_f("si_bridge", (SI, BH),
   ("STANDING ON RAIL, THREATENING TO JUMP", "SITTING ON LEDGE", "ON THE WRONG SIDE OF THE RAILING",
    "SUBJ ON <place_short> LEDGE SAYS <he> WILL JUMP", "POSS JUMPER"),
   ("<He> is standing on the railing saying <he> will jump", "<He> is sitting on the ledge threatening to jump"),
   es=("SE VA A TIRAR",), say=("there's somebody on the ledge <he> says <he>'s gonna jump",), topic="si_act")
_f("si_goodbye", (SI, BH),
   ("SENT GOODBYE TEXT TO <rel2>", "POSTED GOODBYE MSG ON SOCIAL MEDIA", "TEXTED <rel2> SAYING SORRY AND GOODBYE",
    "SENT PIC OF PILLS W/ GOODBYE MSG"),
   ("<He> sent a goodbye text to <his> <rel2>", "<He> posted a goodbye message online"),
   say=("<he> sent me a text saying goodbye", "<he> texted me sorry and goodbye"), topic="si_act")
_f("si_hanging", (SI, BH),
   ("TRIED TO HANG <himself>", "FOUND W/ CORD AROUND NECK", "ATT HANGING", "HANGING ATT, CUT DOWN BY RP"),
   ("<He> tried to hang <himself>", "Caller found <him> with a cord around <his> neck"),
   say=("<he> tried to hang <himself>",), topic="si_act")
_f("si_attempt", (SI, BH),
   ("SUICIDE ATTEMPT", "ATT SUICIDE", "ATTEMPTED SUICIDE", "INTENTIONAL OD PER RP", "TOOK THEM ON PURPOSE PER NOTE",
    "RP THINKS IT WAS ON PURPOSE"),
   ("Caller thinks it was on purpose", "This was a suicide attempt according to caller"),
   say=("i think <he> did it on purpose",), topic="si")
# negated / history SI (0)
_f("si_neg", (),
   ("NO SI", "NEG SI", "NOT SUICIDAL", "DENIES SI", "DENIES SI/HI", "NOT SUICIDAL PER RP", "NO THOUGHTS OF SELF HARM",
    "NO SUICIDAL STATEMENTS", "HAS NOT MADE ANY THREATS TO HARM SELF"),
   ("<He> is not suicidal", "<He> has not said anything about hurting <himself>", "Caller says <he> is not suicidal"),
   es=("NO QUIERE HACERSE DANO",), say=("no <he>'s not suicidal", "no <he> hasn't said anything like that", "no no nothing like that"),
   tag="negation", topic="si", questions=Q_SELF)
_f("si_hx", (),
   ("HX SI", "HX SUICIDE ATT", "PRIOR SUICIDE ATTEMPT <num> YRS AGO", "HX SI, NONE NOW", "HX OF SELF HARM"),
   ("<He> has a history of suicidal thoughts", "<He> attempted suicide years ago"),
   say=("<he> tried to hurt <himself> a few years back",), tag="history", topic="si")

# ---------------------------------------------------------------- violence (violence_risk = 1)
_f("v_knife", (VIO,),
   ("W/ KNIFE", "HOLDING A KNIFE", "ARMED W/ KITCHEN KNIFE", "WAVING A KNIFE", "HAS A KNIFE IN <his> HAND", "KNIFE IN HAND",
    "W/ A LARGE KNIFE", "POCKET KNIFE OUT"),
   ("<He> is holding a knife", "<He> has a kitchen knife in <his> hand", "<He> is waving a knife around"),
   es=("TIENE UN CUCHILLO",), say=("<he>'s got a knife", "<he> has a kitchen knife", "yes a knife <he> has a knife"),
   topic="weapon", questions=Q_WEAPON)
_f("v_gun", (VIO,),
   ("HAS A GUN", "W/ HANDGUN", "ARMED W/ GUN", "BRANDISHING FIREARM", "HAS A RIFLE", "GUN IN WAISTBAND", "HOLDING A PISTOL"),
   ("<He> has a gun", "<He> is holding a handgun", "<He> has a rifle"),
   es=("TIENE PISTOLA", "TIENE UN ARMA"), say=("<he> has a gun", "<he>'s got a pistol"), topic="weapon", questions=Q_WEAPON)
_f("v_blunt", (VIO,),
   ("SWINGING A BAT", "W/ A HAMMER", "W/ TIRE IRON", "HOLDING A MACHETE", "W/ A CROWBAR", "SWINGING A PIPE AT PEOPLE"),
   ("<He> is swinging a bat", "<He> has a hammer", "<He> is holding a machete"),
   say=("<he>'s swinging a bat", "<he> has a hammer"), topic="weapon", questions=Q_WEAPON)
_f("v_threats", (VIO,),
   ("THREATENING TO KILL <vic>", "MAKING THREATS TO STAB <vic>", "THREATENING TO SHOOT <vic>", "THREATENED TO HURT <vic>",
    "SAYS <he> WILL KILL <vic>", "THREATS TO HARM OTHERS"),
   ("<He> is threatening to kill <vic>", "<He> said <he> would shoot <vic>", "<He> is making threats to hurt <vic>"),
   es=("DICE QUE LO VA A MATAR",), say=("<he> said <he>'s gonna kill me", "<he>'s threatening to hurt <vic>"), topic="threat")
_f("v_fight", (VIO,),
   ("FIGHT IN PROGRESS", "<num> SUBJ FIGHTING", "FIGHT X<num>", "PHYSICAL FIGHT", "MULTIPLE SUBJ FIGHTING", "FIGHTING IN THE LOT"),
   ("A fight is in progress", "Several people are fighting", "Two men are fighting"),
   es=("SE ESTAN PELEANDO",), say=("they're fighting", "there's a big fight"), topic="assault")
_f("v_assault", (VIO,),
   ("ASSAULTED <vic>", "PUNCHED <vic>", "HIT <vic> IN THE FACE", "ATTACKED <vic>", "KICKED <vic>", "SHOVED <vic> TO THE GROUND"),
   ("<He> punched <vic>", "<He> attacked <vic>", "<He> hit <vic> in the face"),
   es=("LE PEGO",), say=("<he> hit me", "<he> punched <vic>"), topic="assault")
_f("v_dv", (VIO,),
   ("DV IN PROGRESS", "DOMESTIC, <rel> HITTING RP", "<rel> CHOKED RP", "DV, RP HIT BY <rel>", "DOMESTIC, PHYSICAL",
    "DV, RP LOCKED IN BATHROOM HIDING FROM <rel>"),
   ("Caller says <his> <rel> is hitting her", "Domestic, caller was choked by <rel>", "Caller is hiding from <rel> who hit her"),
   es=("MI ESPOSO ME ESTA PEGANDO",), say=("he's hitting me", "he choked me"), topic="assault")
_f("v_combative", (VIO,),
   ("COMBATIVE", "COMBATIVE W/ STAFF", "SWINGING AT STAFF", "KICKING AND SPITTING AT SECURITY", "ASSAULTIVE",
    "TRYING TO FIGHT STAFF", "BIT A STAFF MEMBER"),
   ("<He> is combative with staff", "<He> is swinging at staff", "<He> bit a staff member"),
   say=("<he>'s swinging at us", "<he>'s fighting us"), topic="assault")
_f("v_getsviolent", (VIO,),
   ("GETS VIOLENT WHEN LIKE THIS", "HX VIOLENCE, ESCALATING", "HAS BEEN VIOLENT IN THE PAST, GETTING WORSE",
    "RP AFRAID <he> WILL HURT SOMEONE"),
   ("Caller says <he> gets violent when like this", "Caller is afraid <he> will hurt someone"),
   say=("<he> gets violent when <he>'s like this",), topic="threat")
_f("v_gunshouse", (VIO,),
   ("GUNS IN THE HOUSE", "HAS ACCESS TO FIREARMS", "FIREARMS IN RES", "HAS GUNS AT HOME", "RIFLE IN THE CLOSET"),
   ("There are guns in the house", "<He> has access to firearms"),
   say=("there's guns in the house", "<he> has guns at home"), topic="weapon", questions=Q_WEAPON)
_f("v_uncertain", (VIO,),
   ("UNK WPNS", "POSS ARMED", "UNK IF ARMED", "MIGHT HAVE A GUN", "POSS WPN", "UNK WEAPONS, POSS KNIFE", "POSS HAS A KNIFE",
    "RP THINKS <he> MAY HAVE A GUN"),
   ("Unknown if <he> is armed", "<He> might have a gun", "Caller is not sure if <he> has a weapon"),
   es=("A LO MEJOR TIENE PISTOLA",), say=("i don't know <he> might have a gun", "i'm not sure if <he> has something"),
   tag="uncertain", topic="weapon", questions=Q_WEAPON)
_f("v_shots", (VIO,),
   ("SHOTS FIRED", "HEARD <num> SHOTS", "SHOTS HEARD IN AREA", "SOUNDED LIKE GUNSHOTS, SUBJ RUNNING"),
   ("Caller heard several gunshots", "Shots fired in the area"), say=("i heard gunshots",), topic="shots")
_f("v_throwing", (VIO,),
   ("THROWING THINGS AT RP", "THREW A CHAIR AT <vic>", "THROWING BOTTLES AT PEOPLE"),
   ("<He> is throwing things at caller", "<He> threw a chair at <vic>"), say=("<he>'s throwing stuff at me",),
   topic="assault")
_f("v_robbery", (VIO,),
   ("ARMED ROBBERY", "ROBBED AT GUNPOINT", "HELD UP W/ KNIFE", "SUSP DISPLAYED GUN, TOOK REGISTER"),
   ("The clerk was robbed at gunpoint", "The suspect showed a knife and took the money"),
   say=("he pointed a gun at me and took the money",), topic="weapon")
# negated / not violence (0)
_f("v_neg", (),
   ("NO WPNS", "NO WEAPONS", "NEG WEAPONS", "NO WPNS SEEN", "NO WEAPONS SEEN", "NOT ARMED", "NO WPNS PER RP", "NEG WPNS",
    "NO WEAPONS IN RES", "DENIES WEAPONS", "NOT VIOLENT", "NO WPNS, NOT VIOLENT"),
   ("No weapons", "<He> does not have any weapons", "No weapons seen", "<He> is not violent",
    "There are no weapons in the home"),
   es=("NO TIENE ARMAS",), say=("no no weapons", "no nothing", "no <he> doesn't have anything", "no guns no nothing"),
   tag="negation", topic="weapon", questions=Q_WEAPON)
_f("v_notviolent", (),
   ("NOT VIOLENT", "NOT THREATENING ANYONE", "NO THREATS MADE", "HAS NOT BEEN VIOLENT", "NOT AGGRESSIVE", "NO VIOLENCE"),
   ("<He> has not threatened anyone", "<He> is not being violent"),
   say=("no <he>'s not violent", "<he> hasn't hurt anybody"), tag="negation", topic="threat")
_f("v_verbal", (),
   ("VERBAL ONLY", "VERBAL ARGUMENT", "VERBAL, NOTHING PHYSICAL", "YELLING ONLY, NO PHYSICAL", "ARGUING, NOT PHYSICAL"),
   ("It is verbal only, nothing physical", "They are just arguing, nobody has been touched"),
   say=("it's just yelling nobody touched anybody",), tag="negation", topic="assault")
_f("v_property", (),
   ("PUNCHED A WALL", "BROKE A WINDOW, NO ONE HURT", "KICKED A HOLE IN THE DOOR", "SLAMMING DOORS", "BROKE <his> OWN PHONE"),
   ("<He> punched a hole in the wall, nobody hurt", "<He> is slamming doors"),
   say=("<he> punched the wall",), topic="property")

# ---------------------------------------------------------------- behavioural state (the family decides BH;
# these facts mark a current mental-state concern and turn BH on)
_f("b_psychosis", (BH,),
   ("TALKING TO PEOPLE WHO ARENT THERE", "HEARING VOICES", "HALLUCINATING", "SEEING THINGS", "RESPONDING TO INTERNAL STIMULI",
    "SAYS VOICES ARE TELLING <him> THINGS", "TALKING TO HIMSELF, NOT MAKING SENSE"),
   ("<He> is talking to people who aren't there", "<He> says <he> hears voices", "<He> is seeing things that aren't there"),
   es=("ESTA HABLANDO SOLO", "OYE VOCES"), say=("<he>'s talking to people that aren't there", "<he> says <he> hears voices"),
   topic="mental")
_f("b_offmeds", (BH,),
   ("OFF <his> MEDS", "OFF MEDS X<num> WKS", "NOT TAKING <his> MEDS", "STOPPED TAKING <his> PSYCH MEDS", "NONCOMPLIANT W/ MEDS"),
   ("<He> has been off <his> medication for weeks", "<He> stopped taking <his> psych meds"),
   es=("NO SE TOMA SU MEDICINA",), say=("<he>'s off <his> meds", "<he> stopped taking <his> medication"), topic="meds")
_f("b_paranoid", (BH,),
   ("PARANOID", "THINKS NEIGHBORS ARE WATCHING <him>", "BELIEVES SOMEONE IS TRYING TO POISON <him>", "PARANOID, SAYS PEOPLE ARE FOLLOWING <him>",
    "THINKS THE TV IS TALKING TO <him>"),
   ("<He> is paranoid and thinks people are following <him>", "<He> believes someone is poisoning <his> food"),
   say=("<he> thinks people are after <him>", "<he> thinks we're poisoning <him>"), topic="mental2")
_f("b_erratic", (BH,),
   ("ACTING ERRATIC", "YELLING AT CARS", "SCREAMING IN THE ROADWAY", "WALKING IN TRAFFIC", "ERRATIC BEHAVIOR", "YELLING AT NOTHING",
    "BANGING ON DOORS SCREAMING", "DANCING IN THE INTERSECTION"),
   ("<He> is acting erratic and yelling at cars", "<He> is walking in and out of traffic screaming", "<He> is screaming at nothing"),
   es=("ESTA GRITANDO EN LA CALLE",), say=("<he>'s yelling at cars", "<he>'s acting crazy walking in the road"), topic="mental3")
_f("b_confused", (BH,),
   ("CONFUSED AND AGITATED", "DISORIENTED, AGITATED", "DOESNT KNOW WHERE <he> IS, UPSET", "CONFUSED, YELLING AT STAFF"),
   ("<He> is confused and agitated", "<He> does not know where <he> is and is very upset"),
   say=("<he>'s confused <he> doesn't know where <he> is",), topic="mental4")
_f("b_dementia_wander", (BH,),
   ("DEMENTIA PT WANDERED OFF", "MISSING FROM MEMORY CARE, DEMENTIA", "WANDERED FROM HOME, HX ALZHEIMERS, AGITATED",
    "ELDERLY W/ DEMENTIA WALKING IN ROAD"),
   ("<He> has dementia and wandered off", "<He> has Alzheimer's and left home, agitated"),
   say=("<he> has dementia and <he> wandered off",), topic="mental5")
_f("b_panic", (BH,),
   ("PANIC ATTACK", "HAVING A PANIC ATTACK, CANT CALM DOWN", "ANXIETY ATTACK", "PANICKING, CRYING, CANT CALM DOWN", "SEVERE ANXIETY"),
   ("<He> is having a panic attack and can't calm down", "<He> is crying and panicking"),
   es=("TIENE UN ATAQUE DE PANICO",), say=("i'm having a panic attack", "i can't calm down"), topic="mental6")
_f("b_depressed", (BH,),
   ("VERY DEPRESSED", "CRYING UNCONTROLLABLY", "DISTRAUGHT", "DEPRESSED, NOT EATING OR SLEEPING", "EMOTIONALLY DISTRAUGHT",
    "HAS BEEN VERY DEPRESSED LATELY"),
   ("<He> has been very depressed", "<He> is crying uncontrollably", "<He> is distraught"),
   es=("ESTA MUY DEPRIMIDA",), say=("<he>'s been really depressed", "<he> won't stop crying"), topic="mood")
_f("b_manic", (BH,),
   ("MANIC", "MANIC, HASNT SLEPT IN <num> DAYS", "TALKING FAST NOT MAKING SENSE", "MANIC EPISODE"),
   ("<He> is manic and has not slept in days", "<He> is talking fast and not making sense"),
   say=("<he> hasn't slept in days <he>'s manic",), topic="mood2")
_f("b_naked", (BH,),
   ("NAKED IN THE STREET", "NO CLOTHES ON, YELLING", "UNDRESSED IN PUBLIC, BIZARRE BEHAVIOR"),
   ("<He> is naked in the street yelling",), say=("there's a naked guy in the street yelling",), topic="mental7")
_f("b_barricade", (BH,),
   ("LOCKED <himself> IN BATHROOM", "BARRICADED IN BEDROOM", "WONT COME OUT OF ROOM, CRYING", "LOCKED IN CAR, WONT TALK TO RP"),
   ("<He> locked <himself> in the bathroom and won't come out", "<He> barricaded <himself> in the bedroom"),
   say=("<he> locked <himself> in the bathroom",), topic="barricade")
_f("b_welfare_mental", (BH,),
   ("RP CONCERNED FOR MENTAL STATE", "WELFARE CHECK, RP WORRIED ABOUT MENTAL HEALTH", "NOT ACTING LIKE <himself>, RP WORRIED",
    "RP CONCERNED, <he> SOUNDED VERY UPSET ON PHONE"),
   ("Caller is worried about <his> mental state", "Caller says <he> is not acting like <himself>"),
   say=("i'm just really worried about <him>",), topic="welfare")
_f("b_ptsd", (BH,),
   ("PTSD FLASHBACK", "VETERAN HAVING FLASHBACK", "HX PTSD, HAVING FLASHBACK NOW, HIDING"),
   ("<He> is having a PTSD flashback",), say=("<he>'s having a flashback",), topic="mental8")
_f("b_crisis_req", (),
   ("REQ CRISIS TEAM", "REQ MOBILE CRISIS", "REQ CIT OFFICER", "REQ MCT", "CRISIS LINE NOTIFIED", "988 NOTIFIED"),
   ("Caller is asking for the crisis team", "Requesting a crisis intervention officer"),
   say=("can you send somebody from the crisis team",), topic="crisisreq", evidence=False)
# history (0)
_f("b_hx", (),
   ("HX BIPOLAR", "HX SCHIZOPHRENIA", "HX DEPRESSION", "HAS BIPOLAR", "HX PSYCH", "HX ANXIETY", "PSYCH HX"),
   ("<He> has a history of bipolar disorder", "<He> has schizophrenia but is doing fine", "<He> has a history of depression"),
   say=("<he> has bipolar but <he>'s been fine",), tag="history", topic="mental_hx")
_f("b_calm", (),
   ("CALM AND COOPERATIVE", "CALM NOW", "COOPERATIVE", "PT CALM, NO ISSUES", "ACTING NORMAL PER RP"),
   ("<He> is calm and cooperative", "<He> is calm now"), say=("<he>'s calm <he>'s fine",), tag="negation", topic="calm")

# ---------------------------------------------------------------- hard negatives (shared words, no label)
_HN = "hard_negative"
_f("hn_suicide_doors", (),
   ("VEH IS A BLK SEDAN W/ SUICIDE DOORS", "OLD LINCOLN W/ SUICIDE DOORS", "CLASSIC CAR, SUICIDE DOORS OPEN, BLOCKING DRIVE",
    "SUSP VEH HAS SUICIDE DOORS"),
   ("The car is an old sedan with suicide doors", "Caller describes a classic car with suicide doors"),
   say=("it's one of those old cars with the suicide doors",), tag=_HN, topic="hn1")
_f("hn_flu_shot", (),
   ("HAD FLU SHOT TODAY", "GOT <his> FLU SHOT AT PHARMACY", "VACCINE SHOT THIS AM, ARM SORE", "AFTER COVID BOOSTER SHOT",
    "SHOT CLINIC AT <place_short>"),
   ("<He> got a flu shot this morning", "<He> had a vaccine shot earlier today"),
   say=("<he> just got <his> flu shot",), tag=_HN, topic="hn2")
_f("hn_high_roof", (),
   ("WORKER HIGH ON A ROOF", "STUCK HIGH UP ON LADDER", "CAT HIGH IN TREE", "HIGH ON SCAFFOLDING, CANT GET DOWN",
    "<s> UP HIGH ON ROOF CLEANING GUTTERS"),
   ("A worker is stuck high up on a ladder", "There is a cat high up in a tree", "<He> is high up on the roof"),
   say=("<he>'s way up high on the roof",), tag=_HN, topic="hn3")
_f("hn_knife_shop", (),
   ("AT THE KNIFE SHARPENING SHOP", "KNIFE SHOP ON <street>", "CUTLERY / KNIFE STORE", "KNIFE SHARPENING VAN"),
   ("It is at the knife sharpening shop", "The knife shop on <street>"), say=("it's the knife shop",), tag=_HN, topic="hn4")
_f("hn_overdue", (),
   ("OVERDUE LIBRARY BOOKS", "RENT OVERDUE", "CAR OVERDUE FOR INSPECTION", "OVERDUE BILL DISPUTE", "BOOKS OVERDUE <num> MONTHS"),
   ("About overdue library books", "The rent is overdue"), say=("the rent's overdue",), tag=_HN, topic="hn5")
_f("hn_dead_battery", (),
   ("DEAD BATTERY", "CAR BATTERY DEAD", "BATTERY DEAD, NEEDS JUMP", "VEH W/ DEAD BATTERY BLOCKING LANE"),
   ("The car has a dead battery", "A dead battery, needs a jump"), say=("my battery's dead",), tag=_HN, topic="hn6")
_f("hn_killing", (),
   ("BAND NEXT DOOR KILLING IT, WAY TOO LOUD", "RP SAYS THE BASS IS KILLING HER", "KILLING WEEDS W/ SPRAYER",
    "MY BACK IS KILLING ME"),
   ("Caller says the band next door is killing it but it is too loud", "Caller says the bass is killing her"),
   say=("the music is killing me",), tag=_HN, topic="hn7")
_f("hn_blowout", (),
   ("BLOW OUT TIRE", "TIRE BLOWOUT", "BLEW A TIRE", "BLOWN TIRE ON SHOULDER", "BLOWN TRANSFORMER"),
   ("The car blew a tire", "There was a tire blowout"), say=("i blew a tire",), tag=_HN, topic="hn8")
_f("hn_crack", (),
   ("CRACK IN WINDSHIELD", "ROCK HIT WINDSHIELD, CRACK", "CRACK IN SIDEWALK", "CRACKED WINDOW"),
   ("There is a crack in the windshield", "A rock cracked the windshield"), say=("there's a crack in the windshield",),
   tag=_HN, topic="hn9")
_f("hn_gun_shop", (),
   ("AT THE GUN SHOP", "OUTSIDE <biz> GUN SHOP", "HUNTING LICENSE QUESTION", "TARGET RANGE, SHOOTING SCHEDULED",
    "HUNTERS IN FIELD W/ LICENSE, NO THREATS", "GUN SAFE DELIVERY"),
   ("It is at the gun shop", "Caller asks about a hunting license", "Hunters with licenses in the field, no threats"),
   say=("it's just hunters they have licenses",), tag=_HN, topic="hn10")
_f("hn_pills_found", (),
   ("FOUND A PILL ORGANIZER IN <place_short>", "PILL ORGANIZER TURNED IN", "FOUND WEEKLY PILLS BOX", "LOST PILL BOX"),
   ("Caller found a pill organizer", "A weekly pill box was turned in"), say=("i found a pill box",), tag=_HN, topic="hn11")
_f("hn_bar_loc", (),
   ("IN THE LOT OF <bar>", "IFO <bar>", "ACROSS FROM <bar>", "NEXT TO <bar>"),
   ("In the lot of <bar>", "In front of <bar>"), say=("it's by the bar",), tag=_HN, topic="hn12")
_f("hn_psych_transport", (),
   ("SCHEDULED TRANSPORT TO PSYCH WARD", "XFER TO BEHAVIORAL HEALTH UNIT, PT CALM", "BLS TRANSPORT TO PSYCH FACILITY, SCHEDULED",
    "PSYCH UNIT TRANSFER, ALREADY ARRANGED"),
   ("Scheduled transport to the psych ward, patient calm", "Pre-arranged transfer to the behavioral health unit"),
   say=("it's a scheduled transfer",), tag=_HN, topic="hn13")
_f("hn_glue_gun", (),
   ("HOT GLUE GUN CAUGHT FIRE", "NAIL GUN ACCIDENT, MINOR", "STAPLE GUN", "NERF GUN FIGHT KIDS, NO ISSUE", "HEAT GUN SMOKING"),
   ("A hot glue gun caught fire", "Kids with Nerf guns, no issue"), say=("the glue gun caught fire",), tag=_HN, topic="hn14")
_f("hn_depression_road", (),
   ("DEPRESSION IN ROADWAY", "SINKHOLE / DEPRESSION IN PAVEMENT", "ROAD DEPRESSION, CARS BOTTOMING OUT"),
   ("There is a depression in the roadway", "A sinkhole in the pavement"), say=("there's a big dip in the road",),
   tag=_HN, topic="hn15")
_f("hn_jump", (),
   ("NEEDS A JUMP", "REQ JUMP START", "JUMP START REQ", "BASE JUMPERS AT QUARRY, PERMITTED EVENT"),
   ("Needs a jump start",), say=("i need a jump",), tag=_HN, topic="hn16")
_f("hn_fighting_fire", (),
   ("CREW FIGHTING FIRE ON RIDGE", "NEIGHBORS FIGHTING OVER PARKING SPOT, VERBAL", "DOGS FIGHTING"),
   ("Neighbors arguing over a parking spot, verbal", "Two dogs fighting"), say=("the dogs are fighting",), tag=_HN, topic="hn17")
_f("hn_shot_photo", (),
   ("TAKING SHOTS OF THE FIRE FOR NEWS", "PHOTOGRAPHER TRYING TO GET A SHOT", "SHOT GLASS BROKEN ON FLOOR, CLEANUP"),
   ("A photographer is trying to get a shot",), say=("he's taking pictures",), tag=_HN, topic="hn18")
_f("hn_hanging", (),
   ("TREE LIMB HANGING ON WIRES", "SIGN HANGING FROM POLE", "HANGING BASKET FELL ON CAR"),
   ("A tree limb is hanging on the wires", "A sign is hanging from the pole"), say=("there's a branch hanging on the wires",),
   tag=_HN, topic="hn19")
_f("hn_od_green", (),
   ("WEARING OD GREEN JACKET", "LSW OD GREEN HOODIE"), ("Last seen wearing an olive green jacket",),
   say=("he had a green jacket",), tag=_HN, topic="hn20")
_f("hn_cut_power", (),
   ("POWER CUT TO BLOCK", "CUT LOCK ON SHED", "CUT FENCE, NOTHING TAKEN"),
   ("Someone cut the lock on the shed", "Power is cut to the block"), say=("somebody cut the lock",), tag=_HN, topic="hn21")

# ---------------------------------------------------------------- domain facts for plain calls (no label)
def _ctx(key: str, cad: tuple[str, ...], prose: tuple[str, ...], say: tuple[str, ...] = (), es: tuple[str, ...] = (),
         evidence: bool = True) -> None:
    _f(key, (), cad, prose, es=es, say=say, evidence=evidence)


_ctx("fire_structure", ("SMOKE SHOWING FROM ROOF", "FLAMES VISIBLE <floor> FLOOR", "SMOKE AND FLAMES FROM REAR OF RES",
                        "HEAVY SMOKE FROM GARAGE", "FIRE IN KITCHEN, SPREADING", "ATTIC FIRE"),
     ("There is smoke coming from the roof", "Flames are visible from the back of the house", "A kitchen fire is spreading"),
     say=("my house is on fire", "there's smoke coming out of the roof"))
_ctx("fire_kitchen", ("GREASE FIRE ON STOVE, OUT", "POT ON STOVE, SMOKE IN APT", "MICROWAVE FIRE, OUT ON ARRIVAL", "OVEN FIRE CONTAINED"),
     ("A grease fire on the stove, now out", "Smoke from a pot left on the stove"), say=("i burned something on the stove",))
_ctx("fire_outside", ("GRASS FIRE APPROX 1/2 ACRE", "BRUSH FIRE NEAR TREE LINE", "DUMPSTER ON FIRE", "TRASH FIRE",
                      "CONTROLLED BURN OUT OF CONTROL", "MULCH SMOLDERING"),
     ("A brush fire is spreading near the tree line", "A dumpster is on fire"), say=("the field's on fire",))
_ctx("fire_vehicle", ("VEH FIRE, ENGINE COMPARTMENT", "CAR ON FIRE ON SHOULDER", "SMOKE FROM HOOD", "SEMI TRAILER FIRE"),
     ("A car is on fire on the shoulder", "Smoke is coming from under the hood"), say=("my car's on fire",))
_ctx("fire_occupants_out", ("ALL OCCUPANTS OUT", "EVERYONE OUT OF RES", "NO ONE INSIDE", "OCC ACCOUNTED FOR", "ALL OUT PER RP"),
     ("Everyone is out of the house", "All occupants are accounted for"), say=("everybody's out",))
_ctx("fire_exposure", ("EXPOSURE TO N", "EXPOSURE ON B SIDE", "CLOSE TO NEIGHBORING RES"), ("It is close to the neighboring house",))
_ctx("smoke_odor", ("ODOR OF SMOKE IN BLDG", "SMELL OF BURNING, NO VISIBLE SMOKE", "LIGHT HAZE IN HALLWAY", "ELECTRICAL SMELL FROM OUTLET"),
     ("Caller smells smoke but sees no flames", "There is an electrical burning smell"), say=("i smell smoke",))
_ctx("mva_basic", ("<num> VEH MVA", "2 VEH 10-50", "MVA", "REAR END COLLISION", "T-BONE AT INTERSECTION", "VEH VS POLE",
                   "SINGLE VEH IN DITCH", "VEH VS DEER", "FENDER BENDER"),
     ("Two cars collided", "A car hit a pole", "A single car went into the ditch", "A rear-end crash"),
     say=("there's been an accident", "two cars crashed"))
_ctx("mva_blocking", ("BLOCKING <dir> LN", "BLOCKING RT LANE", "IN THE ROADWAY", "ON SHOULDER", "OUT OF ROADWAY", "DEBRIS IN RD"),
     ("The cars are blocking the right lane", "The vehicles are on the shoulder"), say=("it's blocking the lane",))
_ctx("mva_unkinj", ("UNK INJ", "INJ UNK", "UNK IF INJ"), ("Unknown if anyone is hurt",), say=("i don't know if anyone's hurt",))
_ctx("traffic_hitrun", ("HIT AND RUN, SUSP VEH FLED <dir>", "H&R, SUSP VEH SILVER PICKUP", "STRUCK PARKED CAR AND LEFT"),
     ("The other driver fled", "A silver pickup hit a parked car and left"), say=("they just drove off",))
_ctx("traffic_reckless", ("SPEEDING AND PASSING ON SHOULDER", "RECKLESS DRIVER", "TAILGATING AND BRAKE CHECKING"),
     ("A car is speeding and passing on the shoulder",), say=("this guy's driving crazy",))
_ctx("traffic_disabled", ("DISABLED VEH", "STALLED IN LANE", "OUT OF GAS", "FLAT TIRE ON SHOULDER", "BROKE DOWN"),
     ("A car is stalled in the lane", "A car ran out of gas"), say=("my car broke down",))
_ctx("alarm_fire", ("GEN FIRE ALARM", "SMOKE DET ACTIVATION", "ZONE <num> SMOKE DET", "PULL STATION ACTIVATION", "WATERFLOW ALARM",
                    "HEAT DET ZONE <num>", "FIRE ALARM, <num>ND FLR"),
     ("The fire alarm is sounding", "A smoke detector activated in zone <num>"), say=("the fire alarm is going off",))
_ctx("alarm_burg", ("BURG ALARM REAR DOOR", "MOTION ZONE <num>", "FRONT DOOR CONTACT", "GLASS BREAK SENSOR", "INTERIOR MOTION"),
     ("The burglar alarm shows the rear door", "An interior motion sensor went off"), say=("the alarm company called about motion",))
_ctx("alarm_oper", ("OPER <opnum>", "ALARM CO OPER <opnum>", "PER ALARM CO", "MONITORING CO CALLED"),
     ("Per the alarm company, operator <opnum>",), say=("this is the alarm company",))
_ctx("alarm_kh", ("KH ENRT", "KH UNK", "ATT KH NO ANSWER", "KEYHOLDER ENRT <mins> MIN", "NO KH"),
     ("The keyholder is on the way", "No answer from the keyholder"), say=("the keyholder is on the way",))
_ctx("alarm_co", ("CO ALARM SOUNDING", "CO DET GOING OFF, NO SX", "CO ALARM, OCC OUT, NO ILLNESS"),
     ("The carbon monoxide alarm is going off, nobody sick",), say=("the carbon monoxide detector is beeping",))
_ctx("alarm_med_noresp", ("PENDANT ACTIVATION, NO VOICE CONTACT", "MED ALARM, NO RESPONSE ON 2 WAY", "LIFELINE ACTIVATION"),
     ("A medical pendant went off with no voice contact",), say=("her pendant went off",))
_ctx("alarm_med_ok", ("PENDANT ACTIVATION, SUBJ STATES ACCIDENTAL", "MED ALARM ACCIDENTAL, NO NEEDS"),
     ("Pendant activated accidentally, no needs",), say=("she says she pushed it by accident",))
_ctx("haz_wires", ("WIRES DOWN ACROSS RD", "POWER LINE DOWN, ARCING", "PRIMARY LINE ON GROUND", "CABLE LINE LOW"),
     ("A power line is down across the road", "A line is down and sparking"), say=("there's a wire down",))
_ctx("haz_gas", ("GAS ODOR IN RES", "STRONG GAS SMELL OUTSIDE", "GAS METER HIT BY MOWER", "SMELL OF NATURAL GAS", "PROPANE LEAK"),
     ("There is a strong gas smell", "A gas meter was hit"), say=("i smell gas",))
_ctx("haz_tree", ("TREE DOWN ACROSS RD", "LARGE LIMB IN ROADWAY", "TREE ON HOUSE"), ("A tree is down across the road",),
     say=("a tree fell across the road",))
_ctx("haz_spill", ("FUEL SPILL APPROX <num>0 GAL", "DIESEL LEAKING FROM TRUCK", "OIL SPILL IN LOT"),
     ("Fuel is leaking from a truck",), say=("there's fuel all over",))
_ctx("svc_lockout", ("LOCKED OUT OF RES", "CHILD LOCKED IN VEH, RUNNING, C/B", "KEYS LOCKED IN CAR", "LOCKOUT"),
     ("Caller is locked out", "A child is locked in a running car, fine"), say=("i locked myself out",))
_ctx("svc_animal", ("LOOSE DOG IN RD", "INJURED DEER ON SHOULDER", "CATTLE OUT ON RD", "DOG LEFT IN HOT CAR", "SNAKE IN GARAGE",
                    "RACCOON ACTING SICK"),
     ("A loose dog is in the road", "Cattle are out on the road"), say=("there's a dog running in the road",))
_ctx("svc_info", ("REQ INFO ON ROAD CLOSURE", "CALLER W/ QUESTION RE BURN PERMIT", "REQ CALL BACK FROM OFC", "WANTS TO SPEAK TO SUPERVISOR",
                  "ASKING ABOUT PARADE ROUTE"),
     ("Caller wants information about a road closure", "Caller asks about a burn permit"), say=("i just had a question",))
_ctx("svc_standby", ("CIVIL STANDBY FOR PROPERTY", "REQ STANDBY WHILE PICKING UP BELONGINGS", "REQ OFC STANDBY"),
     ("Caller wants an officer on standby while she picks up her things",), say=("i need someone to stand by",))
_ctx("svc_hangup", ("911 HANG UP", "OPEN LINE, NO VOICE", "HU, CB NO ANSWER", "MISDIAL PER CB", "POCKET DIAL"),
     ("911 hang-up, no answer on call back", "Open line, nothing heard"), say=("sorry i dialed by mistake",))
_ctx("svc_found", ("FOUND WALLET", "FOUND BIKE IN YARD", "FOUND PROPERTY TURNED IN", "FOUND LICENSE PLATE"),
     ("Caller found a wallet",), say=("i found a wallet",))
_ctx("pol_burglary", ("BURGLARY, REAR DOOR FORCED", "RES BROKEN INTO WHILE AT WORK", "GARAGE BROKEN INTO", "TOOLS TAKEN FROM SHED",
                      "BURG TO VEH"),
     ("Someone broke in through the back door", "The garage was broken into"), say=("somebody broke into my house",))
_ctx("pol_theft", ("THEFT OF BIKE", "PACKAGE STOLEN FROM PORCH", "CATALYTIC CONVERTER STOLEN", "WALLET STOLEN", "SHOPLIFTER DETAINED BY LP",
                   "GAS DRIVE OFF"),
     ("A bike was stolen", "A package was taken from the porch", "Loss prevention is holding a shoplifter"),
     say=("someone stole my bike",))
_ctx("pol_suspicious", ("SUSP VEH PARKED IFO RES", "SUSP PERSON LOOKING INTO CARS", "SUSP MALE CHECKING DOOR HANDLES",
                        "UNK VEH PARKED W/ LIGHTS OFF", "SUSP SUBJ IN BACKYARD"),
     ("A suspicious car is parked in front of the house", "Someone is looking into parked cars"),
     say=("there's a guy looking in car windows",))
_ctx("pol_noise", ("LOUD MUSIC", "LOUD PARTY", "NOISE COMPLAINT", "BARKING DOG X HRS", "FIREWORKS IN AREA", "LOUD BASS FROM <apt>"),
     ("Loud music from next door", "A loud party"), say=("the music's so loud",))
_ctx("pol_trespass", ("TRESPASSER ON PROPERTY", "SUBJ SLEEPING IN DOORWAY, REQ MOVE ALONG", "UNWANTED SUBJ IN LOBBY, REFUSING TO LEAVE"),
     ("Someone is sleeping in the doorway and the owner wants them moved", "An unwanted person refuses to leave"),
     say=("there's someone who won't leave",))
_ctx("pol_vandal", ("VANDALISM TO VEH", "GRAFFITI ON BLDG", "MAILBOX DAMAGED", "WINDOWS BROKEN OVERNIGHT"),
     ("Someone spray painted the building", "Car windows were broken overnight"), say=("someone smashed my car window",))
_ctx("pol_missing", ("MISSING JUV, LAST SEEN <mins> MIN AGO", "MISSING PERSON, DIDNT COME HOME", "RUNAWAY JUV", "MISSING ADULT, NO CONTACT <num> DAYS"),
     ("A teenager did not come home", "An adult family member has not been heard from for days"),
     say=("my son didn't come home",))
_ctx("pol_welfare_plain", ("WELFARE CHECK, NO CONTACT <num> DAYS", "REQ WELFARE CHECK ON <rel2>", "MAIL PILING UP, NO ANSWER AT DOOR",
                           "WELFARE CHECK, NOT ANSWERING PHONE"),
     ("Caller has not heard from <his> <rel2> in days", "Mail is piling up and nobody answers the door"),
     say=("i haven't heard from my mom in three days",))
_ctx("pol_civil", ("CIVIL DISPUTE OVER PROPERTY LINE", "CUSTODY EXCHANGE DISPUTE", "LANDLORD TENANT DISPUTE", "DISPUTE OVER REFUND"),
     ("A dispute over a property line", "A custody exchange dispute"), say=("we're having a dispute",))
_ctx("pol_fraud", ("PHONE SCAM, GIFT CARDS", "FRAUD ON BANK ACCOUNT", "COUNTERFEIT BILL PASSED"),
     ("Caller lost money to a phone scam",), say=("i think i got scammed",))
_ctx("pol_parking", ("PARKING COMPLAINT", "VEH BLOCKING DRIVEWAY", "CAR PARKED ON SIDEWALK", "ABANDONED VEH X<num> DAYS"),
     ("A car is blocking the driveway",), say=("someone's blocking my driveway",))
_ctx("pol_disturbance", ("DISTURBANCE", "LOUD ARGUMENT", "SUBJS ARGUING IN LOT", "YELLING NEXT DOOR", "ARGUMENT OVER MONEY"),
     ("People are arguing loudly", "A loud argument next door"), say=("they're yelling at each other",))
_ctx("pol_intox_driver_stop", ("VEH STOPPED, DRIVER STILL IN VEH", "VEH PULLED INTO LOT", "VEH NOW PARKED AT <biz>"),
     ("The car is now parked", "The car pulled into a lot"), say=("he pulled into the lot",))
