"""Personal data: the keyed hash (HMAC-SHA256 with VOB_PII_KEY) that replaces phone numbers, e-mail
addresses, national ids and visitor ids, in SQL and in Python alike, and the redaction list that masks
what looks like personal data in rejected lines, reasons and file errors (the landing reader, the
registers)."""

from __future__ import annotations

import hashlib
import hmac
import re

from vob.base.fingerprints import HEX_AS_LETTERS
from vob.base.text import sql_quote


def hmac_sql(value: str) -> str:
    """HMAC-SHA256 of a value in SQL; the padded key comes as $ipad / $opad.

    The hex digest is written with g-p for the digits 0-9, so a hash never holds
    a run of digits that could pass for a phone number or a national id.
    """
    return f"translate(sha256($opad || unhex(sha256($ipad || encode({value})))), '0123456789', 'ghijklmnop')"


def pii_hash(value: str, key: bytes) -> str:
    """The same keyed hash as `hmac_sql`, in Python (for values read outside DuckDB)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest().translate(HEX_AS_LETTERS)


def hmac_pads(key: bytes) -> dict[str, bytes]:
    """Inner and outer HMAC pads (RFC 2104) of a key, as query parameters."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


# What a rejected line, a rejection reason or a file error may hold that looks like
# personal data, masked in this order (one list for SQL and Python; RE2 and `re`
# read these patterns alike). Digits are [0-9], not \d, so both engines agree.
REDACTIONS: tuple[tuple[str, str], ...] = (
    # JSON keys that carry personal data (and Message-IDs, which look like e-mail addresses)
    (r'"(caller_number|sender|visitor_id|beneficiary_id|message_id)"\s*:\s*"(?:[^"\\]|\\.)*"', r'"\1":"<redacted>"'),
    # e-mail addresses and Message-IDs: anything@anything
    (r"""[^\s<>"',;:@]+@[^\s<>"',;:@]+""", "<email>"),
    # Saudi mobile numbers, with or without country code, spaces or dashes
    (r"(?:\+|00)?966[ -]?5(?:[ -]?[0-9]){8}|05(?:[ -]?[0-9]){8}", "<phone>"),
    # national ids (10 digits starting with 1 or 2), then any other long run of digits
    (r"\b[12][0-9]{9}\b", "<national-id>"),
    (r"\+?[0-9]{8,}", "<number>"),
    # the same in Arabic-Indic or Eastern Arabic-Indic digits
    (r"[\x{0660}-\x{0669}\x{06F0}-\x{06F9}]{8,}", "<number>"),
)


def redact_sql(value: str) -> str:
    """SQL: `value` with anything that looks like personal data masked (REDACTIONS)."""
    for pattern, replacement in REDACTIONS:
        value = f"regexp_replace({value}, {sql_quote(pattern)}, {sql_quote(replacement)}, 'g')"
    return value


_PY_REDACTIONS = [
    (
        re.compile(
            pattern.replace(r"\x{0660}", "\u0660")
            .replace(r"\x{0669}", "\u0669")
            .replace(r"\x{06F0}", "\u06f0")
            .replace(r"\x{06F9}", "\u06f9"),
            re.ASCII,
        ),
        replacement,
    )
    for pattern, replacement in REDACTIONS
]


def redact(text: str | None) -> str | None:
    """Python twin of `redact_sql`, for messages built outside DuckDB (file errors)."""
    if text is None:
        return None
    for pattern, replacement in _PY_REDACTIONS:
        text = pattern.sub(replacement, text)
    return text
