"""The VoB library: landing contract, readers, transforms, registers, report, sample.

Nothing here imports Dagster or the packages above it (docs/architecture.md)."""
