"""The VoB library, in groups, bottom to top: base, landing, marts, views; and the sample generator.

Nothing here imports Dagster or the packages above it, and a group imports only its own and the
groups below it (docs/architecture.md)."""
