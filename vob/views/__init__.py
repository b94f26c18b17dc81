"""What people see: the half-year report (its data, charts, templates and fonts), the browser that prints
it, the Superset dashboard, `vob explain`.

Imports only the marts, the landing side and the base (docs/architecture.md)."""
