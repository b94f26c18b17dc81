"""The marts: staging and monthly facts, months, service KPIs, figure sources, the half-year marts, and
the Great Expectations suites that check them.

Imports only the landing side and the base (docs/architecture.md)."""
