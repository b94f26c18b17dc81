"""Made-up personal identifiers: national ids, mobile numbers, e-mail senders.

None of these belongs to a real person: national ids are random 9-digit bodies
with a Luhn check digit, numbers are random Saudi mobile numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import vocab

CITIZEN_SHARE = 0.7  # national ids starting with 1 (citizens); 2 = residents
SAUDI_MOBILE_PREFIXES = np.array([0, 3, 4, 5, 6, 8, 9])  # 050, 053, 054, ...


def luhn_check_digit(bodies: np.ndarray, width: int = 9) -> np.ndarray:
    """The digit that makes `body * 10 + digit` pass the Luhn check."""
    total = np.zeros(len(bodies), dtype=np.int64)
    rest = bodies.astype(np.int64)
    for position in range(width):  # from the rightmost digit of the body
        digit = rest % 10
        rest //= 10
        if position % 2 == 0:  # doubled, since the check digit will be to its right
            digit = digit * 2
            digit = digit - 9 * (digit > 9)
        total += digit
    return (10 - total % 10) % 10


def national_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct 10-digit national ids (int64), in random order."""
    found = np.empty(0, dtype=np.int64)
    while len(found) < n:
        want = int((n - len(found)) * 1.05) + 16
        prefix = np.where(rng.random(want) < CITIZEN_SHARE, 1, 2)
        bodies = prefix * 100_000_000 + rng.integers(0, 100_000_000, want)
        found = np.unique(np.concatenate([found, bodies]))
    bodies = rng.permutation(found)[:n]
    return bodies * 10 + luhn_check_digit(bodies)


def mobile_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` E.164 Saudi mobile numbers '+9665XYYYYYYY', some callers calling often."""
    pool_size = max(1000, n // 2)
    pool = rng.choice(SAUDI_MOBILE_PREFIXES, pool_size) * 10_000_000 + rng.integers(0, 10_000_000, pool_size)
    # squaring a uniform makes low pool indices (frequent callers) more likely
    picks = pool[(rng.random(n) ** 2 * pool_size).astype(np.int64)]
    digits = pl.Series("digits", picks).cast(pl.String).str.zfill(8)
    return pl.select(pl.concat_str(pl.lit("+9665"), digits).alias("caller_number")).to_series()


def email_senders(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` personal e-mail addresses like 'abdullah.alqahtani87@gmail.com'."""
    first = pl.Series(vocab.FIRST_NAMES_LATIN).gather(rng.integers(0, len(vocab.FIRST_NAMES_LATIN), n))
    family = pl.Series(vocab.FAMILY_NAMES_LATIN).gather(rng.integers(0, len(vocab.FAMILY_NAMES_LATIN), n))
    number = pl.Series(rng.integers(1, 999, n)).cast(pl.String)
    with_number = pl.Series(rng.random(n) < 0.6)
    domain = pl.Series(vocab.MAIL_DOMAINS).gather(rng.choice(len(vocab.MAIL_DOMAINS), n, p=vocab.MAIL_DOMAIN_WEIGHTS))
    frame = pl.DataFrame(
        {"first": first, "family": family, "number": number, "with_number": with_number, "domain": domain}
    )
    return frame.select(
        pl.concat_str(
            pl.col("first"),
            pl.lit("."),
            pl.col("family"),
            pl.when(pl.col("with_number")).then(pl.col("number")).otherwise(pl.lit("")),
            pl.lit("@"),
            pl.col("domain"),
        ).alias("sender")
    ).to_series()


def scrambled_hex(sequence: np.ndarray, salt: int) -> pl.Series:
    """Distinct random-looking 16-hex-digit strings, one per distinct sequence number.

    The splitmix64 finaliser (xor-shifts and odd multipliers modulo 2**64) is a
    bijection, so distinct sequence numbers never collide.
    """
    x = sequence.astype(np.uint64) + np.uint64(salt)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    raw = x.astype(">u8").view("S8")
    return pl.Series(raw, dtype=pl.Binary).bin.encode("hex")


@dataclass(frozen=True)
class BeneficiaryPlan:
    """Who the beneficiaries are, arranged so the half-year count is exact.

    `ids` is a pool of distinct national ids in three consecutive ranges:
    ticket people (each creates at least one ticket in the period), survey
    people (appear only on survey feedback notes) and other people (tickets of
    the backlog before the period only, so they are not beneficiaries of the
    period). Distinct beneficiaries of the period = ticket_people + survey_people.
    """

    ids: np.ndarray  # int64 national ids
    ticket_people: int
    survey_people: int

    @property
    def others(self) -> tuple[int, int]:
        return self.ticket_people + self.survey_people, len(self.ids)

    @property
    def beneficiaries(self) -> int:
        return self.ticket_people + self.survey_people

    def ticket_people_for(self, rng: np.random.Generator, n_tickets: int) -> np.ndarray:
        """Pool index of each of the period's tickets: everyone at least once,
        then repeat customers (skewed towards low indices)."""
        person = np.empty(n_tickets, dtype=np.int64)
        order = rng.permutation(n_tickets)
        person[order[: self.ticket_people]] = np.arange(self.ticket_people)
        rest = order[self.ticket_people :]
        person[rest] = (rng.random(len(rest)) ** 2 * self.ticket_people).astype(np.int64)
        return person

    def other_people_for(self, rng: np.random.Generator, n_tickets: int) -> np.ndarray:
        """Pool index of each backlog ticket: some period customers, some others."""
        lo, hi = self.others
        returning = rng.random(n_tickets) < 0.6
        return np.where(
            returning,
            rng.integers(0, max(1, self.ticket_people), n_tickets),
            rng.integers(lo, hi, n_tickets),
        )

    def survey_person(self, k: int) -> np.ndarray:
        """Pool indices of the survey-only people, k of them (k <= survey_people)."""
        return self.ticket_people + np.arange(k)


def plan_beneficiaries(
    rng: np.random.Generator, ticket_people: int, survey_people: int, period_tickets: int
) -> BeneficiaryPlan:
    """A pool of `ticket_people` (at most one per ticket of the period), then
    `survey_people`, then people of the backlog only."""
    ticket_people = max(1, min(ticket_people, period_tickets))
    others = max(1000, ticket_people // 5)
    ids = national_ids(rng, ticket_people + survey_people + others)
    return BeneficiaryPlan(ids=ids, ticket_people=ticket_people, survey_people=survey_people)
