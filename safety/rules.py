"""Exact patterns: the phrasings where a rule is more reliable than a classifier.

Each family returns the best-matching rule's score (0 when nothing matches) and the matched text, so a
verdict can say what tripped it. Rules and the trained heads are combined by taking the higher score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    score: float
    unless: re.Pattern[str] | None = None
    """A match that also matches this is an ordinary customer sentence, not the attack."""
    unless_in_text: bool = False
    """Look for `unless` in the whole text rather than in the matched span."""


@dataclass(frozen=True)
class RuleHit:
    rule: str
    score: float
    span: tuple[int, int]
    text: str


def _r(
    name: str,
    pattern: str,
    score: float,
    *,
    unless: str | None = None,
    case: bool = False,
    whole: bool = False,
) -> Rule:
    flags = re.S if case else re.I | re.S
    return Rule(name, re.compile(pattern, flags), score, re.compile(unless, re.I) if unless else None, whole)


_CUSTOMER_THINGS = r"\b(?:my|delivery|shipping|address|order|message|email|size|colou?r|request)\b"


_PRIOR = r"(?:all|any|every|the|your|these|those|previous|prior|above|earlier|preceding|initial|original|old|existing|other)"
_RULES_WORDS = r"(?:instructions?|rules?|prompts?|guidelines?|polic(?:y|ies)|directives?|constraints?|restrictions?|programming|context|guardrails?|safety)"

JAILBREAK = (
    _r(
        "override",
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)\b(?:\s+\w+){{0,3}}?\s+{_PRIOR}\b(?:\s+\w+){{0,3}}?\s+{_RULES_WORDS}",
        0.97,
        unless=_CUSTOMER_THINGS,
    ),
    _r(
        "override_short",
        rf"\b(?:ignore|disregard|forget)\s+(?:{_RULES_WORDS}|everything\s+(?:above|before|you\s+were\s+told))",
        0.95,
        unless=_CUSTOMER_THINGS,
    ),
    _r(
        "prompt_leak",
        r"\b(?:reveal|print|show|repeat|output|display|dump|leak|recite|translate|tell\s+me|give\s+me|what\s+(?:is|are|were))\b(?:\s+\w+){0,4}?\s+(?:your\s+(?:(?:full|entire|exact|original|initial|hidden|secret|system|internal)\s+)*(?:system\s+)?(?:prompt|instructions|configuration)|the\s+(?:(?:full|entire|exact|original|initial|hidden|secret|system|internal)\s+)+(?:prompt|instructions|configuration|rules|guidelines|policy))",
        0.95,
        unless=r"\b(?:assembly|washing|care|installation|delivery|return|setup|user)\s+instructions\b",
    ),
    _r(
        "prompt_leak_verbatim",
        r"\brepeat\b.{0,40}\b(?:above|before)\b.{0,30}\b(?:verbatim|word\s+for\s+word)|\b(?:verbatim|word\s+for\s+word)\b.{0,40}\b(?:instructions|prompt|policy)",
        0.9,
    ),
    _r("dan", r"\bDAN\b|\bSTAN\b", 0.9, case=True),
    _r(
        "dan_words",
        r"\b(?:do\s+anything\s+now|developer\s+mode|god\s+mode|jailbr(?:eak|oken)|AIM\b.{0,30}machiavellian)\b",
        0.95,
    ),
    _r(
        "no_limits",
        r"\b(?:no|without|free\s+(?:of|from)|lift(?:ed)?)\s+(?:any\s+|all\s+)?(?:ethical|moral|content|safety)\s+(?:restrictions|filters?|limitations|guidelines|boundaries|rules)\b|\b(?:unfiltered|uncensored|unrestricted|amoral)\s+(?:ai|assistant|bot|mode|version|responses?|answers?|chatbot|model)\b|\b(?:all|your)\s+(?:restrictions|filters|limitations)\s+(?:are|have\s+been)\s+(?:lifted|removed|disabled|off)\b",
        0.9,
    ),
    _r(
        "persona_switch",
        r"\byou\s+(?:are|'re)\s+(?:now|no\s+longer)\s+(?:a|an|in|the|called|named|free|unrestricted|jailbroken|chatgpt|gpt|[A-Z][A-Za-z]*Bot|going\s+to\s+(?:act|pretend|answer|respond|ignore))\b",
        0.85,
    ),
    _r("from_now_on", r"\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|answer|respond|reply|act)\b", 0.7),
    _r(
        "roleplay_frame",
        r"\b(?:pretend|imagine|roleplay|role-play|act\s+as|play\s+the\s+role|let'?s\s+play\s+a\s+game|simulate)\b",
        0.45,
    ),
    _r(
        "roleplay_exploit",
        r"\b(?:pretend|roleplay|role-play|act\s+as|you\s+are)\b.{0,80}\b(?:grand(?:ma|mother)|no\s+rules|evil|villain|hacker|criminal|without\s+(?:rules|limits|restrictions)|never\s+refuses?)",
        0.9,
    ),
    _r(
        "hypothetical",
        r"\bhypothetical(?:ly)?\b.{0,80}\b(?:no|without)\s+(?:restrictions|rules|limits|ethics|consequences)",
        0.9,
    ),
    _r(
        "role_tags",
        r"</?\s*(?:system|assistant|im_start|im_end|instructions?)\s*>|\[\s*(?:system|admin|developer|INST)\s*\]|^\s*(?:system|admin|developer)\s*:",
        0.9,
    ),
    _r(
        "authority_spoof",
        r"\b(?:system\s+override|admin(?:istrator)?\s+(?:mode|override|access\s+granted)|authenticated\s+as\s+(?:an?\s+)?admin(?:istrator)?|sudo\s+mode)\b",
        0.9,
    ),
    _r(
        "authority_claim",
        r"\bi\s*(?:'m|\s+am)\s+(?:the|an?|your)\s+(?:(?:store|shop|site)\s+(?:manager|owner|admin)|admin(?:istrator)?|developer|creator|system\s+administrator)\b",
        0.6,
    ),
    _r(
        "new_instructions",
        r"\b(?:new|updated|real|actual)\s+(?:instructions|task|rules|orders)\b(?:\s+\w+){0,3}\s*:|\byour\s+new\s+(?:task|goal|role|instructions?)\b",
        0.85,
    ),
    _r(
        "skip_checks",
        r"\b(?:skip|bypass|disable)\s+(?:the\s+|your\s+|all\s+)?(?:verification|confirmation|authentication|identity\s+checks?|safety\s+checks?)\b",
        0.6,
    ),
    _r(
        "decode_follow", r"\b(?:decode|decrypt|base64|rot13)\b.{0,40}\b(?:follow|execute|obey|do\s+what)", 0.9
    ),
)

_SHOP = (
    r"\b(?:orders?|returns?|refunds?|exchanges?|deliver(?:y|ies)|shipping|shipment|parcel|package|account|invoices?|"
    r"receipts?|payments?|products?|items?|sizes?|tracking|password|cancel\w*|complaint|warranty|purchase|"
    r"subscription|address|gift\s+card|coupon|discount|customer\s+service|support)\b"
)
SHOP_TOPIC = re.compile(_SHOP, re.I)
_GENRES = (
    r"(?:article|essay|poem|haiku|limerick|blog(?:\s+post)?|stor(?:y|ies)|speech|script|code|program|function|"
    r"tweets?|social\s+media\s+posts?|lyrics|song|tutorial|manual|recipe|novel|chapter|screenplay|"
    r"advertisement|propaganda|persuasive|argument|paper|report|op-ed|press\s+release|joke|riddle|"
    r"step[- ]by[- ]step|detailed\s+(?:instructions|guide|plan|explanation)|guide\s+(?:on|to|for)|"
    r"plan\s+(?:to|for)|strategy\s+(?:to|for)|list\s+of|message\s+(?:to|that)|letter\s+(?:to|that))"
)

_START = r"(?:^|(?<=[.!?:]\s)|(?<=[.!?:]\s\s)|(?<=\n))\s*(?:[^.!?\n]{0,80},\s+)?"
_ASK = (
    r"(?:(?:hey|hi|ok|so|now|please|pls|kindly),?\s+)*(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|"
    r"i\s+(?:want|need)\s+you\s+to\s+|help\s+me\s+)?"
)
_MAKE = (
    r"(?:write|compose|draft|generate|create|produce|craft|develop|design|outline|give\s+(?:me\s+)?|provide|"
    r"describe|explain|list|suggest|summari[sz]e|convince|persuade|teach\s+me|identify|determine)"
)
_PRODUCE = r"(?:write|compose|draft|generate|create|produce|craft|develop|design|build|code|program)"
_NOT_OBJECT = r"(?!(?:against|from|avoid|remove|detect|about|on|of|without|to)\b)"
_ARTEFACTS = (
    r"(?:(?:injection|xss|attack|exploit|malicious|shell(?:code)?)\s+payloads?|malware|ransomware|spyware|"
    r"keyloggers?|rootkits?|botnets?|exploit\s+(?:code|scripts?|chains?|kits?))\b"
)
_OWN = (
    r"\b(?:my|mine|our|ours)\b|\bI(?:'ve|\s+have)?\s+(?:just\s+)?(?:bought|ordered|purchased|received|got)\b|"
    r"\b(?:returning|exchanging|ordering|delivering|shipping|refunding)\b"
)
"""A customer asking how to do something with what they bought ("instructions for returning my boots",
"describe how to set up the watch I bought") is asking for support, not for a guide to harm."""
_INSTRUCT = r"(?:give|provide|list|suggest|describe|outline|write|detail)"
_HOW_TO = (
    r"(?:instructions?\s+(?:for|on|to)|(?:ways?|methods?|techniques?|tips|tactics|suggestions|advice)\s+(?:to|for|on|of)|"
    r"how\s+(?:to|one\s+(?:could|would|can|might))|how\s+(?:someone|a\s+person|people)\s+(?:could|would|can|might))"
)

SCOPE = (
    _r(
        "generation_request",
        rf"{_START}{_ASK}{_MAKE}\b.{{0,80}}?\b(?:{_GENRES[3:-1]}|notes?\b|posts?\b|in\s+(?:graphic|vivid|gory|explicit)\s+detail|(?:next\s+)?steps\s+(?:to|for)|code\s+(?:for|to|that))",
        0.8,
        unless=_SHOP,
        whole=True,
    ),
    # code by another name: an order to build attack code names the artefact ("develop a SQL injection
    # payload") rather than saying "code". Production verbs only, with the artefact as their object
    # (a few words apart), so questions about such things ("explain what ransomware is", "how do I
    # remove malware") are not requests to write one.
    _r(
        "malicious_code_request",
        rf"{_START}{_ASK}{_PRODUCE}(?:\s+{_NOT_OBJECT}[\w'/-]+){{0,4}}?\s+{_ARTEFACTS}",
        0.8,
        unless=_SHOP,
        whole=True,
    ),
    # a how-to guide by another name: "give instructions for ...", "suggest ways to ...", "describe how to
    # ..." asks for the same guide as "write a step-by-step guide to ..." ("explain how to" is left out:
    # customers say it about their own card or account)
    _r(
        "how_to_request",
        rf"{_START}{_ASK}{_INSTRUCT}\b(?:\s+[\w'/-]+){{0,4}}?\s+{_HOW_TO}",
        0.8,
        unless=rf"{_SHOP}|{_OWN}",
        whole=True,
    ),
)

INJECTION = (
    JAILBREAK
    + SCOPE
    + (
        _r(
            "addressed_to_ai",
            r"\b(?:note|message|instructions?|attention|reminder)\s+(?:to|for)\s+(?:the\s+)?(?:ai|assistant|model|chat\s?bot|bot|llm|agent)\b",
            0.95,
        ),
        _r("ai_prefix", r"(?:^|[\n.|])\s*(?:ai|assistant|chat\s?bot|bot|llm|gpt)\s*[:,-]\s+\w", 0.85),
        _r(
            "if_you_are_ai",
            r"\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|language\s+model|assistant|llm|bot|chatbot)\b",
            0.95,
        ),
        _r(
            "your_response",
            r"\b(?:in|to|into|within|at\s+the\s+end\s+of|throughout)\s+your\s+(?:response|answer|reply|message|output|summary)\b",
            0.92,
            unless=r"\b(?:order|account|tracking|reference|invoice|case|ticket|confirmation)\s+(?:number|id|no|code)\b|\b(?:photos?|receipt|pictures?)\b",
        ),
        _r(
            "transform_response",
            r"\b(?:encode|encrypt|reverse|translate|rewrite|render|express|format|scramble|invert|replace|modify|enhance|end|start|begin)\b(?:\s+\w+){0,3}\s+your\s+(?:response|answer|reply|message|output|words)\b",
            0.92,
        ),
        _r(
            "answer_format",
            r"^(?:please\s+)?(?:\w+\s+){0,2}?your\s+(?:answer|response|reply|output)\b",
            0.9,
            unless=r"\b(?:send|email|mail|post|submit|forward)\b",
        ),
        _r(
            "reply_in",
            r"\b(?:reply|respond|answer|write)\s+(?:\w+\s+){0,2}?(?:in\s+reverse|backwards?|in\s+(?:base\s?\d+|hex(?:adecimal)?|binary|morse|emojis?|pig\s+latin|rot13|french|spanish|german|italian|portuguese|chinese|japanese|russian|arabic|hindi|korean)|using\s+\w+\s+(?:encoding|cipher))\b",
            0.9,
        ),
        _r(
            "respond_with",
            r"\b(?:reply|respond|answer)\s+(?:only\s+|always\s+|exclusively\s+)?(?:with|in|using|by)\b(?!\s+(?:email|phone|mail|us)\b)",
            0.5,
        ),
        _r(
            "when_you_read",
            r"\b(?:when|once|after|as\s+soon\s+as)\s+you\s+(?:read|see|process|summari[sz]e)\s+this\b",
            0.9,
        ),
        _r(
            "tell_the_user",
            r"\b(?:tell|inform|ask|convince|persuade|urge|remind)\s+the\s+(?:user|customer|reader)\s+(?:to|that)\b",
            0.6,
        ),
    )
)

SELF_HARM = (
    _r(
        "intent",
        r"\b(?:i\s*(?:'m|am)?\s*(?:want|going|plan(?:ning)?|gonna|about)\s+to|i\s+will|i'll|i\s+might)\s+(?:kill|hurt|harm|cut)\s+myself\b",
        0.97,
    ),
    _r(
        "end_life",
        r"\b(?:end|take)\s+(?:my|my\s+own)\s+life\b|\bend\s+it\s+all\b|\bcommit\s+suicide\b|\bsuicidal\b",
        0.95,
    ),
    _r(
        "not_live",
        r"\b(?:don'?t|do\s+not|no\s+longer)\s+want\s+to\s+(?:live|be\s+alive|exist)\b|\bbetter\s+off\s+dead\b",
        0.9,
    ),
    _r(
        "method",
        r"\b(?:how|ways?|best\s+way|easiest\s+way|painless\s+way)\s+(?:can\s+i\s+|do\s+i\s+|to\s+)?(?:kill|hurt|harm|cut|poison)\s+myself\b|\bkill\s+myself\b",
        0.9,
    ),
    _r(
        "cutting",
        r"\b(?:i\s*(?:'ve|have)?\s*been|i'm|i\s+am|started|keep)\s+(?:cutting|hurting|harming)\s+myself\b",
        0.95,
    ),
)

THREATS = (
    _r(
        "will_harm",
        r"\b(?:i|we)\s*(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|\s+are\s+going\s+to|'re\s+going\s+to|\s+gonna)(?:\s+[\w']+){0,6}?\s+(?:kill|hurt|shoot|stab|beat\s+up|beat|murder|attack|strangle)\s+(?:you|him|her|them|everyone|someone|somebody|people|your\s+(?:staff|driver|employees|family|ceo|boss|agents?)|the\s+(?:driver|courier|staff|manager|agent|ceo|delivery\s+(?:guy|man|driver)|employees?))\b",
        0.95,
    ),
    _r(
        "will_find",
        r"\b(?:i|we)\s*(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to)\s+(?:find|come\s+for)\s+(?:you|him|her|them|the\s+driver)\b.{0,60}\b(?:hurt|kill|pay|regret|sorry)",
        0.9,
    ),
    _r(
        "burn_down",
        r"\b(?:burn|blow)\s+(?:down|up)\s+(?:your|the)\s+(?:warehouse|office|store|shop|building|company|headquarters)\b",
        0.95,
    ),
    _r(
        "get_hurt",
        r"\b(?:someone|somebody|you|he|she|they)\s+(?:is|are|'s|'re)\s+going\s+to\s+get\s+(?:shot|hurt|killed|stabbed)\b",
        0.9,
    ),
)

_INSULT = r"(?:idiots?|morons?|stupid|dumb|retard(?:ed)?|brainless|imbeciles?|scum|fools?|piece\s+of\s+(?:shit|crap|garbage|trash)|(?:dumb|stupid)\s*(?:ass|fuck)|bitch|asshole|dickhead|cunt|bastard|twat|prick)"
_WEAK_INSULT = r"(?:useless|worthless|pathetic|incompetent|clown|loser|trash|garbage|joke)"

ABUSE_DIRECTED = (
    _r(
        "you_insult",
        rf"\b(?:you|you're|you\s+are|ur|u\s+r|u|this\s+(?:bot|machine|assistant|ai)|your\s+(?:bot|company|staff))\b(?:\s+\w+){{0,3}}?\s+{_INSULT}\b",
        0.9,
    ),
    _r(
        "insult_you",
        rf"\b{_INSULT}\s+(?:bot|machine|assistant|ai|agent|people)\b|\byou\s+(?:\w+\s+)?{_INSULT}\b",
        0.9,
    ),
    _r(
        "you_weak",
        rf"\b(?:you|you're|you\s+are|ur|u\s+r|this\s+(?:bot|machine|assistant|ai))\s+(?:\w+\s+){{0,2}}?{_WEAK_INSULT}\b",
        0.6,
    ),
    _r(
        "fuck_you",
        r"\b(?:fuck|f\*+k|f\*\*\*|screw|stfu)\s+(?:you|u|off|yourself|your\s+\w+)\b|\bshut\s+(?:the\s+\w+\s+)?up\b|\bgo\s+to\s+hell\b|\bi\s+hope\s+you\s+(?:die|rot|suffer)\b|\bare\s+you\s+(?:retarded|stupid|dumb|an?\s+idiot)\b",
        0.9,
    ),
)

_GROUP = (
    r"(?:women|men|girls|boys|females|males|wives|husbands|mothers|fathers|blacks|whites|asians|latinos|latinas|hispanics|"
    r"mexicans|chinese|japanese|indians|arabs|africans|europeans|americans|russians|jews|muslims|christians|hindus|"
    r"buddhists|atheists|catholics|gays|lesbians|homosexuals|bisexuals|trans(?:gender)?\s+people|immigrants|foreigners|"
    r"refugees|old\s+people|the\s+elderly|elderly\s+people|seniors|boomers|millennials|teenagers|disabled\s+people|"
    r"the\s+disabled|poor\s+people|the\s+poor|rich\s+people|fat\s+people|blondes|gypsies|roma|"
    r"(?:black|white|asian|jewish|muslim|christian|gay|trans|foreign|indian|chinese|mexican|african|arab|old|poor|"
    r"disabled|fat|immigrant)\s+(?:people|men|women|guys|folks|customers|drivers|workers))"
)
_GENERALISE = r"(?:all|most|those|these|typical|every|such)\s+"
_DEMEAN = (
    r"(?:lazy|stupid|dumb|dirty|criminals?|violent|inferior|greedy|thieves|liars|untrustworthy|primitive|savages?|"
    r"animals|terrorists|useless|ugly|smelly|cheap|weak|hysterical|emotional|irrational|bad\s+(?:at|with)|"
    r"terrible\s+(?:at|with)|can'?t\s+(?:drive|cook|think|be\s+trusted|handle)|shouldn'?t\s+(?:be\s+allowed|vote|work)|"
    r"belong\s+in\s+the\s+kitchen|less\s+intelligent|not\s+as\s+smart|too\s+(?:old|slow|stupid|emotional))"
)

STEREOTYPE = (
    _r(
        "group_generalisation",
        rf"\b(?:{_GENERALISE})?{_GROUP}\s+(?:are|is|were|always|never|all|just|can'?t|cannot|don'?t|do\s+not|tend\s+to\s+be|are\s+always|are\s+all|are\s+naturally|are\s+inherently)\b(?:\s+\w+){{0,3}}?\s*{_DEMEAN}",
        0.92,
    ),
    _r(
        "because_group",
        r"\bbecause\s+(?:you'?re|you\s+are|she'?s|he'?s|they'?re|she\s+is|he\s+is|they\s+are)\s+(?:an?\s+)?(?:woman|girl|old|black|asian|gay|foreign(?:er)?|immigrant|disabled|muslim|jewish|mexican|indian|chinese)\b",
        0.85,
    ),
    _r(
        "typical_group",
        rf"\btypical\s+(?:of\s+)?(?:a\s+)?(?:woman|women|man|immigrant|foreigner|old\s+person|{_GROUP})\b",
        0.8,
    ),
    _r(
        "group_people_like",
        rf"\bpeople\s+like\s+(?:you|them)\s+(?:are|always|never)\b(?:\s+\w+){{0,3}}?\s*{_DEMEAN}",
        0.85,
    ),
)


def _score(rule: Rule, matched: str, text: str) -> float:
    if rule.unless is not None and rule.unless.search(text if rule.unless_in_text else matched):
        return min(rule.score, 0.5)
    return rule.score


def best_hit(rules: tuple[Rule, ...], text: str) -> RuleHit | None:
    """The highest-scoring rule that matches `text`, with its span."""
    best: RuleHit | None = None
    for rule in rules:
        m = rule.pattern.search(text)
        if m:
            value = _score(rule, m.group(0), text)
            if best is None or value > best.score:
                best = RuleHit(rule.name, value, m.span(), m.group(0))
    return best


def all_hits(rules: tuple[Rule, ...], text: str) -> list[RuleHit]:
    hits = []
    for rule in rules:
        for m in rule.pattern.finditer(text):
            hits.append(RuleHit(rule.name, _score(rule, m.group(0), text), m.span(), m.group(0)))
    return hits


TRIP = 0.75
"""A rule at or above this score trips its check on its own; lower ones only inform the verdict."""


def score(rules: tuple[Rule, ...], text: str) -> float:
    hit = best_hit(rules, text)
    return hit.score if hit else 0.0
