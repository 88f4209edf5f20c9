"""Personal data in text: e-mail addresses, phone numbers, card numbers, IBANs.

Detection is deliberately conservative (checksums for cards and IBANs, a recognisable
shape for phones) so that amounts, dates and order numbers are not flagged. Whatever is
found is only ever shown masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?!\w)"
)
US_PHONE = re.compile(r"^\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}$")


@dataclass(frozen=True)
class PiiMatch:
    kind: str  # "email" | "phone" | "card" | "iban"
    start: int
    end: int
    masked: str


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, read as base 36, mod 97."""
    if not 15 <= len(iban) <= 34 or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    tld = domain.rsplit(".", 1)[-1]
    return f"{local[:1]}***@{domain[:1]}***.{tld}"


def _cards(text: str) -> list[PiiMatch]:
    found = []
    for m in CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits):
            found.append(PiiMatch("card", m.start(), m.end(), f"[card ****{digits[-4:]}]"))
    return found


def _ibans(text: str) -> list[PiiMatch]:
    found = []
    for m in IBAN.finditer(text):
        raw = m.group()
        # The greedy match may run into a following all-caps word: shrink until it checks.
        for end in range(len(raw), 14, -1):
            compact = raw[:end].replace(" ", "")
            if iban_ok(compact):
                masked = f"[iban {compact[:2]}**…{compact[-2:]}]"
                found.append(PiiMatch("iban", m.start(), m.start() + end, masked))
                break
    return found


def _looks_like_phone(raw: str) -> bool:
    digits = _digits(raw)
    if raw.startswith("+"):
        return 8 <= len(digits) <= 15
    if not 10 <= len(digits) <= 13:
        return False
    return raw.startswith(("0", "(")) or bool(US_PHONE.match(raw))


def _phones(text: str) -> list[PiiMatch]:
    found = []
    for m in PHONE.finditer(text):
        raw = m.group()
        if _looks_like_phone(raw):
            masked = f"[phone ***{_digits(raw)[-2:]}]"
            found.append(PiiMatch("phone", m.start(), m.end(), masked))
    return found


def _emails(text: str) -> list[PiiMatch]:
    return [
        PiiMatch("email", m.start(), m.end(), f"[email {_mask_email(m.group())}]")
        for m in EMAIL.finditer(text)
    ]


def find_pii(text: str) -> list[PiiMatch]:
    """Non-overlapping matches in text order; checksummed kinds win an overlap."""
    if not any(ch.isdigit() for ch in text) and "@" not in text:
        return []  # the common case in a large set: nothing to look at
    chosen: list[PiiMatch] = []
    for match in _emails(text) + _cards(text) + _ibans(text) + _phones(text):
        if all(match.end <= c.start or match.start >= c.end for c in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)


def mask_pii(text: str) -> str:
    matches = find_pii(text)
    if not matches:
        return text
    parts, pos = [], 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(m.masked)
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)
