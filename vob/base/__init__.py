"""The base of the library: settings, periods, text, the transaction, file modes, processes, fingerprints.

Imports nothing of the other groups (docs/architecture.md)."""
