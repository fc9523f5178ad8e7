"""The new delivery address written in a customer's message, or why it cannot be read safely.

Only the new address is read ("from X to Y" is Y; "instead of X" is not X); the country comes
from the address itself (a country name, a postcode format only one country uses, or the kind of
street), never silently from the old address; multi-word and hyphenated streets and cities and
their particles ("de la", "dei", "van", "-en-") are kept whole; an apartment/floor line becomes
`street_2`; a phone number is read. Anything ambiguous (two candidate addresses, no house number,
a postcode several countries share with nothing to tell them apart, an unknown format) is a
problem: the change is then reviewed, with what was read shown.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

COUNTRY_NAMES = {
    "FRA": ("france",),
    "DEU": ("germany", "deutschland", "allemagne", "alemania", "germania"),
    "ESP": ("spain", "espana", "espagne", "spanien", "spagna"),
    "ITA": ("italy", "italia", "italie", "italien"),
    "BEL": ("belgium", "belgique", "belgie", "belgien", "belgica", "belgio"),
    "CHE": ("switzerland", "suisse", "schweiz", "suiza", "svizzera"),
    "GBR": ("united kingdom", "uk", "england", "scotland", "wales", "royaume-uni", "reino unido", "regno unito", "grossbritannien"),
    "IRL": ("ireland", "irlande", "irland", "irlanda"),
    "NLD": ("netherlands", "nederland", "pays-bas", "niederlande", "paises bajos", "paesi bassi", "holland"),
    "PRT": ("portugal", "portogallo"),
    "AUT": ("austria", "osterreich", "autriche"),
}  # fmt: skip
# Kinds of street that tell the country when the postcode alone does not.
STREET_KINDS = {
    "FRA": r"rue|avenue|av\.|boulevard|bd|allee|chemin|impasse|place|quai|cours|route|square",
    "DEU": r"\w*strasse|\w+str\.|\w*weg|\w*platz|marienplatz|\w*gasse|\w+allee|\w+ring|\w*damm|\w*ufer",
    "ESP": r"calle|c/|avenida|avda\.?|plaza|paseo|carrer|camino|ronda|travesia|avinguda|passeig|placa|rambla",
    "ITA": r"via|viale|piazza|piazzale|corso|vicolo|largo|strada",
    "NLD": r"\w+straat|\w+laan|\w+plein|\w+gracht|\w+kade",
    "GBR": r"street|road|lane|avenue|close|drive|way|crescent|terrace|gardens|place|square",
}
# Postcode formats; a 5- or 4-digit code alone is shared by several countries.
POSTCODES = [
    ("PRT", r"\d{4}-\d{3}"),
    ("NLD", r"\d{4} ?[A-Z]{2}(?![A-Za-z])"),
    ("GBR", r"(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"),
    ("IRL", r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}"),
    ("5DIGIT", r"(?:[FDI]-)?\d{5}"),
    ("4DIGIT", r"(?:[BC]H?-)?\d{4}"),
]
SHARED = {"5DIGIT": ("FRA", "DEU", "ESP", "ITA"), "4DIGIT": ("BEL", "CHE", "AUT")}
# Words that introduce the new address, and the old one.
NEW_MARKERS = (
    r"\b(?:to|towards|au|à|a la|à la|chez|an|nach|auf|al|a|en|alla|all'|in|op|naar|para)\b"
)
OLD_MARKERS = r"\b(?:from|instead of|rather than|not|au lieu de|au lieu du|plutot que|pas au|statt|anstatt|nicht|von|en lugar de|en vez de|desde|invece di|anziche|non piu|non)\b"
FROM_WORDS = r"\b(?:from|de|du|von|desde|da|dal|dalla)\b"
STRONG_NEW = (
    r"\b(?:new address|correct address|right address|the address is|i (?:have )?moved|"
    r"nouvelle adresse|bonne adresse|j'ai demenage|je demenage|"
    r"neue adresse|richtige adresse|umgezogen|neue lieferadresse|"
    r"nueva direccion|direccion correcta|me he mudado|me mude|"
    r"nuovo indirizzo|indirizzo (?:giusto|corretto)|mi sono trasferit\w)\b"
)
ALTERNATIVE = re.compile(r"\b(?:or|ou|oder|o|oppure|of)\b", re.IGNORECASE)
UNIT_WORDS = (
    r"apt\.?|apartment|flat|floor|suite|unit|appartement|appt\.?|etage|étage|batiment|bâtiment|bat\.|"
    r"escalier|wohnung|whg\.?|stock|og|piso|puerta|planta|escalera|bloque|interno|int\.|scala|piano|"
    r"appartamento|palazzina"
)
# An apartment/floor line: the word with its number ("apartment 12", "flat 3", "2. Stock", "piso 3").
UNIT = re.compile(
    rf"\b(?:{UNIT_WORDS})\s*(?:n[°o.]\s*)?\d+\w*|\b\d{{1,3}}(?:\.|e|er|ème|º|°|st|nd|rd|th)?\s*(?:{UNIT_WORDS})\b",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?<![\w+])(\+\d[\d ()./-]{7,18}\d|0\d(?:[ ./-]?\d{2}){4})(?!\w)")
# A city: up to four capitalised words, with particles between them ("Frankfurt am Main");
# a hyphen joins parts of one word whatever their case ("Aix-en-Provence", "Villeneuve-d'Ascq",
# "SAINT-JEAN-PIED-DE-PORT"). Each part is read possessively (only a final dot may be given
# back, to end the sentence) and parts hold no hyphen: one way to read any text, so the pattern
# runs in linear time on hostile input ("A-A-A-…" used to backtrack for minutes).
_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’]*+(?:-[\w'’]++)*+\.?"
_PARTICLE = r"(?:de la|de|du|des|la|le|les|sur|sous|en|am|an|der|im|bei|del|della|dei|di|da|van|upon|on|in|y|e)"
CITY = rf"{_WORD}(?:[ -](?:{_PARTICLE}[ -])?{_WORD}){{0,3}}"
# How far from a postcode its street and city are looked for: an address is a few dozen
# characters, and a bounded window keeps every pattern's work bounded whatever the message.
WINDOW = 160
MAX_POSTCODES = 50  # 4- and 5-digit numbers (years, references) count too
STOP = r"(?=\s*(?:[,.;!?\n()]|$)|\s+[a-zà-ÿ0-9])"


@dataclass
class ParsedAddress:
    street_1: str | None = None
    street_2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country: str | None = None  # ISO alpha-3
    phone: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems and all((self.street_1, self.zip_code, self.city, self.country))

    def fields(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("street_1", self.street_1), ("street_2", self.street_2),
                ("zip_code", self.zip_code), ("city", self.city), ("country", self.country),
                ("phone", self.phone),
            )
            if v
        }  # fmt: skip


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@dataclass
class _Candidate:
    kind: str
    zip_code: str
    start: int
    end: int
    street: str | None = None
    street_start: int = 0
    city: str | None = None
    end_of_address: int = 0
    old: bool = False  # introduced as the address to replace ("instead of X", "nicht an X")


def parse_address(
    text: str, current_country: str | None = None, language: str | None = None
) -> ParsedAddress:
    """The new delivery address in `text`, with `problems` when it cannot be read safely."""
    flat = text.replace("\r", "")
    postcodes = _postcodes(flat)
    if len(postcodes) > MAX_POSTCODES:
        # A message gives one address, two when it says which one to replace: fifty postcodes
        # (or numbers like them) is a list (an invoice, a pasted page), a person's call.
        return ParsedAddress(
            problems=[f"{len(postcodes)} postcodes are written: which address is the new one?"]
        )
    candidates = [c for c in _candidates(flat, postcodes) if c.street and c.city]
    if not candidates:
        return ParsedAddress(
            problems=["no complete address (number and street, postcode, city) was found"]
        )
    chosen = _choose(flat, candidates)
    if chosen is None:
        found = "; ".join(f"{c.street}, {c.zip_code} {c.city}" for c in candidates)
        return ParsedAddress(
            problems=[f"several addresses are written ({found}): which is the new one?"]
        )
    result = ParsedAddress(street_1=chosen.street, zip_code=chosen.zip_code, city=chosen.city)
    result.country = _country(flat, chosen, current_country, result.problems, language)
    if result.country == "GBR" or chosen.kind == "GBR":
        result.zip_code = chosen.zip_code.upper()
    unit = UNIT.search(flat[max(0, chosen.street_start - 60) : chosen.end_of_address + 60])
    if unit:
        result.street_2 = unit.group(0).strip(" ,;.")
    phone = PHONE.search(flat)
    if phone:
        result.phone = phone.group(1).strip()
    return result


def _postcodes(text: str) -> list[tuple[str, re.Match[str]]]:
    """Every postcode written, by format, in the order of the text (a span read once)."""
    spans: list[tuple[str, re.Match[str]]] = []
    taken = bytearray(len(text))  # characters already read as a postcode (linear, not pairwise)
    for kind, pattern in POSTCODES:
        for m in re.finditer(rf"(?<![\w-]){pattern}(?![\w-])", text):
            if any(taken[m.start() : m.end()]):
                continue
            taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
            spans.append((kind, m))
    return sorted(spans, key=lambda s: s[1].start())


def _candidates(text: str, postcodes: list[tuple[str, re.Match[str]]]) -> list[_Candidate]:
    found: list[_Candidate] = []
    floor = 0
    for kind, m in postcodes:
        candidate = _Candidate(kind, m.group(0).strip(), m.start(), m.end())
        _fill(text, candidate, floor)
        if candidate.street and candidate.city:
            floor = candidate.end_of_address
        found.append(candidate)
    return found


# A sentence or clause boundary (not the dot of "str." or "av.").
BOUNDARY = re.compile(
    r"(?:[!?\n:;(]|(?<![Ss]tr)(?<![Aa]v)(?<![Bb]d)(?<!St)(?<!Rd)(?<!\b[Nn]o)(?<!\b[Nn]r)(?<!\d)\.(?=\s))"
)
FILLER = re.compile(
    r"^(?:(?:please|kindly|could|can|you|deliver|send|ship|it|the|parcel|package|my|new|address|is|to|at|"
    r"instead|change|delivery|merci|de|d'|l'|livrer|livrez|envoyer|envoyez|envoyez-le|le|la|colis|au|a|à|chez|ma|"
    r"nouvelle|adresse|est|plutot|plutôt|mon|travail|je|demenage|déménage|livraison|changez|modifier|modifiez|"
    r"bitte|an|nach|liefern|lieferung|schicken|senden|sie|das|paket|die|meine|neue|lieferadresse|lautet|ist|"
    r"stattdessen|sondern|konnen|können|ich|bin|umgezogen|ändern|andern|auf|"
    r"por|favor|enviar|envien|envíen|entregar|entreguen|el|pedido|paquete|en|mi|nueva|direccion|dirección|es|al|"
    r"cambien|mandenlo|mándenlo|envienlo|envíenlo|"
    r"per|favore|consegnare|consegnate|spedire|spedite|il|pacco|alla|mio|nuovo|indirizzo|e|posso|cambiare|"
    r"l'indirizzo|di|consegna|ma|più|piu|"
    r"graag|leveren|op|naar|nieuw|adres|enviem|para|morada|nova|entreguem|"
    r"should|be|correct|right|it's|c'est|la|bonne|sollte|richtig|correcta|corretto|giusto|"
    r"office|bureau|work|büro|buro|arbeit|oficina|trabajo|ufficio|lavoro|home|maison|casa)\b[\s:,-]*)+",
    re.IGNORECASE,
)
HOUSE_NUMBER = re.compile(r"\b\d{1,4}[a-zA-Z]?\b")


def _fill(text: str, c: _Candidate, floor: int) -> None:
    """Street before the postcode (from its clause start, after the previous address), city
    after it (or before it, for the UK and Ireland)."""
    before = text[max(floor, c.start - WINDOW) : c.start]
    if c.kind in ("GBR", "IRL"):
        # "10 Downing Street, London SW1A 2AA": the city comes right before the postcode.
        m = re.search(rf"({CITY})\s*,?\s*$", before[-WINDOW // 2 :])
        if m:
            c.city = m.group(1).strip()
            before = before[: len(before) - len(before[-WINDOW // 2 :]) + m.start()]
    bounds = [b.end() for b in BOUNDARY.finditer(before)]
    start = max(bounds) if bounds else 0
    segment = before[start:].rstrip(" ,-")
    if not segment.strip():
        # "8 avenue Jean Jaurès\n33000 Bordeaux": the street is on the line before.
        prev = before[:start].rstrip(" \n,:")
        line_bounds = [b.end() for b in BOUNDARY.finditer(prev)]
        segment = prev[max(line_bounds) if line_bounds else 0 :]
    head = _fold(segment.strip())
    if re.match(rf"^\W*(?:\w+\W+){{0,2}}?(?:{OLD_MARKERS})", head):
        c.old = True
        segment = _drop_words(segment.strip(), head)
    segment = _strip_markers(segment.strip())
    street = FILLER.sub("", segment).strip(" ,:-")
    if "," in street:
        # "Mme Dupont, 4 place Bellecour", "Apt 4, 12 Rue Oberkampf": the street is the part
        # with the house number and a name, the last such part.
        parts = [p.strip() for p in street.split(",")]
        with_number = [
            p
            for p in parts
            if HOUSE_NUMBER.search(p) and re.search(r"[A-Za-zÀ-ÿ]{2,}", p) and not UNIT.fullmatch(p)
        ]
        street = with_number[-1] if with_number else street
    if street and HOUSE_NUMBER.search(street) and re.search(r"[A-Za-zÀ-ÿ]{2,}", street):
        c.street = street
        c.street_start = text.rfind(street, 0, c.start)
    if c.city is None:
        after = text[c.end : c.end + WINDOW]
        m = re.match(rf"\s*,?\s*({CITY}){STOP}", after)
        if m:
            c.city = re.split(r"\.\s", m.group(1).strip())[0].rstrip(".")
            c.end_of_address = c.end + m.start(1) + len(c.city)
    if not c.end_of_address:
        c.end_of_address = c.end


def _drop_words(segment: str, folded: str) -> str:
    """The segment without its leading words up to the old-address marker (accents differ)."""
    m = re.match(rf"^\W*(?:\w+\W+){{0,2}}?(?:{OLD_MARKERS})\W*", folded)
    return segment[m.end() :] if m else segment


def _strip_markers(segment: str) -> str:
    """Keep what follows the last "to/au/à/an/a..." of the clause (the address it introduces)."""
    parts = re.split(rf"(?:{NEW_MARKERS})\s*:?\s+(?=\d|[A-ZÀ-Ý])", segment, flags=re.IGNORECASE)
    return parts[-1] if parts else segment


def _choose(text: str, candidates: list[_Candidate]) -> _Candidate | None:
    if len(candidates) == 1:
        return candidates[0]
    for first, second in zip(candidates, candidates[1:], strict=False):
        if ALTERNATIVE.search(text[first.end_of_address : second.start]):
            return None  # "X or Y": the customer hesitates, a person asks
    folded = _fold(text)
    new = []
    for c in candidates:
        lead = folded[max(0, c.street_start - 25) : c.street_start]
        if c.old or re.search(OLD_MARKERS + r"[\s:]*$", lead):
            continue
        new.append(c)
    if len(new) == 1:
        return new[0]
    # "the new/correct address is Y", "I moved: Y": said outright.
    strong = [
        c
        for c in new
        if re.search(
            STRONG_NEW + r"[^.!?\n]{0,12}$", folded[max(0, c.street_start - 45) : c.street_start]
        )
    ]
    if len(strong) == 1:
        return strong[0]
    # "from X to Y": exactly two, the first after a "from" word, the second after a "to" word.
    if len(new) == 2:
        first, second = new
        lead1 = folded[max(0, first.street_start - 25) : first.street_start]
        lead2 = folded[max(0, second.street_start - 25) : second.street_start]
        if re.search(FROM_WORDS + r"[\s:]*$", lead1) and re.search(NEW_MARKERS + r"[\s:]*$", lead2):
            return second
    return None


# Languages spoken where each country's postcode format is shared: the current country is kept
# for a shared format only when the message is written in one of them.
COUNTRY_LANGUAGES = {
    "FRA": {"fr"}, "DEU": {"de"}, "ESP": {"es"}, "ITA": {"it"}, "BEL": {"fr", "de"},
    "CHE": {"de", "fr", "it"}, "AUT": {"de"},
}  # fmt: skip
# Big cities of the countries sharing a postcode format: the city names the country.
BIG_CITIES = {
    "DEU": ("berlin", "hamburg", "munchen", "muenchen", "munich", "koln", "koeln", "cologne", "frankfurt", "frankfurt am main", "stuttgart", "dusseldorf", "duesseldorf", "leipzig", "dortmund", "essen", "bremen", "dresden", "hannover", "nurnberg", "nuernberg", "nuremberg", "duisburg", "bochum", "wuppertal", "bielefeld", "bonn", "munster", "muenster", "mannheim", "karlsruhe", "augsburg", "wiesbaden", "regensburg", "freiburg", "freiburg im breisgau", "heidelberg", "kiel", "lubeck", "luebeck", "rostock", "potsdam", "mainz", "erfurt", "magdeburg", "saarbrucken", "saarbruecken", "aachen", "braunschweig", "chemnitz", "halle", "kassel", "ulm", "wurzburg", "wuerzburg", "gottingen", "goettingen"),
    "FRA": ("paris", "marseille", "lyon", "toulouse", "nice", "nantes", "montpellier", "strasbourg", "bordeaux", "lille", "rennes", "reims", "toulon", "grenoble", "dijon", "angers", "nimes", "villeurbanne", "clermont-ferrand", "le havre", "saint-etienne", "brest", "limoges", "tours", "amiens", "perpignan", "metz", "besancon", "orleans", "rouen", "mulhouse", "caen", "nancy", "avignon", "poitiers", "la rochelle", "annecy", "pau", "versailles", "boulogne-billancourt", "montreuil", "aix-en-provence"),
    "ESP": ("madrid", "barcelona", "valencia", "sevilla", "zaragoza", "malaga", "murcia", "palma", "palma de mallorca", "las palmas", "las palmas de gran canaria", "bilbao", "alicante", "cordoba", "valladolid", "vigo", "gijon", "vitoria", "vitoria-gasteiz", "a coruna", "la coruna", "granada", "elche", "oviedo", "badalona", "cartagena", "terrassa", "jerez", "jerez de la frontera", "sabadell", "mostoles", "pamplona", "almeria", "san sebastian", "donostia", "leganes", "santander", "burgos", "salamanca", "logrono", "cadiz", "huelva", "leon", "tarragona", "girona", "lleida", "castellon", "toledo", "caceres", "badajoz"),
    "ITA": ("roma", "rome", "milano", "milan", "napoli", "naples", "torino", "turin", "palermo", "genova", "genoa", "bologna", "firenze", "florence", "bari", "catania", "venezia", "venice", "verona", "messina", "padova", "trieste", "taranto", "brescia", "parma", "prato", "modena", "reggio calabria", "reggio emilia", "perugia", "livorno", "ravenna", "cagliari", "foggia", "rimini", "salerno", "ferrara", "sassari", "latina", "monza", "siracusa", "pescara", "bergamo", "trento", "bolzano", "vicenza", "novara", "piacenza", "ancona", "lecce", "udine", "como", "pisa", "lucca", "siena"),
    "BEL": ("bruxelles", "brussel", "brussels", "antwerpen", "anvers", "gent", "gand", "liege", "namur", "charleroi", "bruges", "brugge", "leuven", "mons"),
    "CHE": ("zurich", "geneve", "geneva", "genf", "bern", "berne", "basel", "bale", "lausanne", "luzern", "lucerne", "lugano", "winterthur", "st. gallen", "sion"),
    "AUT": ("wien", "vienna", "vienne", "graz", "linz", "salzburg", "innsbruck", "klagenfurt", "villach"),
}  # fmt: skip


def _country(
    text: str, c: _Candidate, current: str | None, problems: list[str], language: str | None = None
) -> str | None:
    folded = _fold(text)
    named = [
        code
        for code, names in COUNTRY_NAMES.items()
        if any(re.search(rf"\b{re.escape(n)}\b", folded) for n in names)
    ]
    if c.kind in ("PRT", "NLD", "GBR", "IRL"):
        if named and c.kind not in named:
            problems.append(
                f"the postcode {c.zip_code} is {c.kind}'s, but the message names {named[0]}"
            )
        return c.kind
    options = SHARED[c.kind]
    in_options = [n for n in named if n in options]
    if len(in_options) == 1:
        return in_options[0]
    if len(in_options) > 1:
        problems.append("the message names several countries")
        return None
    if named and not in_options:
        problems.append(
            f"the message names {named[0]}, but the postcode {c.zip_code} is not of its format"
        )
        return None
    city = _fold(c.city or "")
    by_city = [code for code, cities in BIG_CITIES.items() if code in options and city in cities]
    if len(by_city) == 1:
        return by_city[0]
    street = _fold(c.street or "")
    kinds = [
        code
        for code, pattern in STREET_KINDS.items()
        if code in options and re.search(rf"(?:^|\s)(?:{pattern})(?:\s|$)", street)
    ]
    if len(kinds) == 1:
        return kinds[0]
    if (
        current in options
        and not kinds
        and (language is None or language in COUNTRY_LANGUAGES.get(current, set()))
    ):
        # Same postcode format as the current address, written in its language, and nothing
        # says otherwise.
        return current
    problems.append(
        f"the postcode {c.zip_code} could be in {', '.join(options)}: the country is not written"
    )
    return None
