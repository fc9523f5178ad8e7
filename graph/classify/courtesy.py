"""What a message says, without the courtesy around it: "Bonjour, où en est ma commande ?
Merci." is classified as "où en est ma commande ?". Greetings and thanks alone are the `other`
intent's own examples, so around a request they pulled it towards `other` (0.51 for that French
question, 0.71 without its courtesy). A message that is only courtesy ("Merci beaucoup !") is
kept whole."""

from __future__ import annotations

import re

Flags = re.IGNORECASE | re.UNICODE

# An opening salutation, with the name or title that may follow it, up to its punctuation.
OPENING = re.compile(
    r"^\s*(?:(?:hello|hi|hey|dear|good\s+(?:morning|afternoon|evening)|greetings|"
    r"bonjour|bonsoir|salut|coucou|bjr|madame|monsieur|mesdames|messieurs|"
    r"hallo|guten\s+(?:tag|morgen|abend)|sehr\s+geehrte[rs]?|liebe[rs]?|moin|servus|"
    r"hola|buenos\s+d[ií]as|buenas(?:\s+(?:tardes|noches))?|estimad[oa]s?|"
    r"buongiorno|buonasera|salve|ciao|gentile|gentili|egregio)\b"
    r"[^\n,.!:;?]{0,40}?[,.!:;]+|"
    r"(?:hello|hi|hey|bonjour|bonsoir|salut|bjr|hallo|moin|servus|hola|buongiorno|buonasera|"
    r"salve|ciao)\b)\s*",
    Flags,
)
# A closing: thanks or a sign-off, and the name after it, at the very end.
CLOSING = re.compile(
    r"(?:^|(?<=[.!?\n]))\s*(?:(?:many\s+|thanks?\s+a\s+lot|thank\s+you|thanks|thx|ty|cheers|"
    r"(?:best|kind|warm)?\s*regards|best|sincerely|yours|"
    r"merci|cordialement|bien\s+(?:à|a)\s+vous|bonne\s+(?:journée|soirée|journee|soiree)|"
    r"danke|vielen\s+dank|besten\s+dank|mit\s+freundlichen\s+gr(?:ü|ue|u)(?:ß|ss)en|"
    r"freundliche\s+gr(?:ü|ue|u)(?:ß|ss)e|viele\s+gr(?:ü|ue|u)(?:ß|ss)e|lg|mfg|vg|"
    r"gracias|muchas\s+gracias|saludos|un\s+saludo|atentamente|cordialmente|"
    r"grazie|cordiali\s+saluti|distinti\s+saluti|saluti|un\s+saluto)\b[^\n.!?]{0,40}"
    r"[.!?]*\s*(?:\n[^\n]{0,40})?\s*)$",
    Flags,
)


# Courtesy opens and closes a message: only its first and last characters are read, so any text
# is read in bounded time (a message may be 20,000 hostile characters).
HEAD, TAIL, CLOSINGS = 160, 240, 4


def core_text(text: str) -> str:
    """The message without its opening salutation and closing thanks or signature; the whole
    message when nothing else would be left."""
    head = OPENING.sub("", OPENING.sub("", text[:HEAD], count=1), count=1)  # "Madame, Monsieur,"
    core = head + text[HEAD:]
    cut = max(0, len(core) - TAIL)
    body, tail = core[:cut], core[cut:]
    for _ in range(CLOSINGS):  # "Merci. Cordialement, Marie": one closing at a time
        shorter = CLOSING.sub("", tail, count=1)
        if shorter == tail:
            break
        tail = shorter
    core = (body + tail).strip()
    return core if re.search(r"\w{2}", core) else text.strip()
