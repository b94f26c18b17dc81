"""The landing side: the landing contract, the reader of its files, the registers workbook, personal data.

Imports only the base (docs/architecture.md)."""
