"""Seeded sample landing zone for 2025-H1 (see shared/contract/LANDING.md).

    from vob.sample import write_sample, SampleSummary
    summary = write_sample(Path("data/landing"), scale=1.0, seed=2025)

At scale 1 the contract's rules applied to the files give every figure of
`published_figures.json` exactly. What a reader must know:

- calls CSV: columns in a non-canonical order; files exported from 2025-04-01
  carry an extra column `wrap_up_code` (not in the contract: ignore it);
  timestamps `+03:00`. `calls/2025/03/calls_2025-03-18.csv` was delivered
  twice (a truncated first delivery, then the corrected file on disk).
- email / chat JSON Lines: UTF-8 (Arabic not escaped), timestamps UTC `Z`,
  `rating` and `agent_id` may be null.
- Daily files are named by export date: records after the day's export
  (23:30-23:55 local) are in the next day's file, across month ends too, up to
  `*/2025/07/*_2025-07-01.*` holding 30 June records; 0.3 % of records appear
  identically in two consecutive daily files.
- Every month has records in its first and last second/minute/hour (Riyadh)
  and at 03:00 local on the 1st (midnight UTC).
- x / sms / self_service: one CSV per month, every day x category;
  self_service files have a UTF-8 BOM and CRLF line endings.
- crm: snapshots 2025-04-01, 2025-06-01, 2025-07-01 (each: tickets created
  before that day, statuses as of its start); backlog from October 2024.
- registers: `registers/vob_registers_2025-H1.xlsx`; dates are real Excel
  dates, `month` is text `YYYY-MM`, `beneficiary_id` text or blank; it holds
  5 notes received in December 2024 and 2 plans opened in July 2025, which the
  half-year rules exclude.
- Only the source folders are cleared and rewritten; anything else under `out`
  (e.g. the `.vob_sample` marker the CLI writes) is left alone.
"""

from .zone import SampleSummary, write_sample

__all__ = ["SampleSummary", "write_sample"]
