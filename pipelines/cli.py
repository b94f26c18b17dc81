"""`vob`: the command line (WAREHOUSE.md, Commands).

vob sample [--out DIR] [--scale S] [--seed N]
vob run --period 2025-H1 | --month 2025-03
vob rebuild --period 2025-H1 | --month 2025-03
vob withdraw --month 2025-07 [--reason TEXT]
vob explain TABLE KEY...   (e.g. fct_calls_service_monthly 2025-03 all abandon_rate_pct)
vob dashboard [--port 8088] [--no-serve]
vob worker [--name NAME] [--concurrency 1]   (VOB_EXECUTOR=celery: a Celery worker for the steps of runs)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from vob.base.files import restrict_new_files
from vob.base.settings import SAMPLE_MARKER, ConfigError, Settings, load_settings


def _cmd_sample(args: argparse.Namespace, settings: Settings) -> int:
    from vob.sample import write_sample

    out = Path(args.out) if args.out else settings.landing_dir
    started = time.monotonic()
    summary = write_sample(out, scale=args.scale, seed=args.seed)
    (out / SAMPLE_MARKER).write_text(
        "Written by `vob sample`: synthetic data, runs with the documented demo PII key.\n"
    )
    print(
        f"sample landing zone written to {out} in {time.monotonic() - started:.1f} s (scale {args.scale}, seed {args.seed})"
    )
    for source, files in summary.files.items():
        rows = sum(n for name, n in summary.rows.items() if name.split(".")[0] == source)
        print(f"  {source:<13} {files:>4} files {rows:>12,} rows")
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.runner import period_refusal, rebuild_period, riyadh_today, run_period, without_beta_warnings
    from vob.base.periods import parse_period

    try:
        period = parse_period(args.period or args.month)
        refusal = period_refusal(period, settings.first_month, riyadh_today())
        if refusal:
            raise ValueError(refusal)
        settings.pii_key()  # refuse to start without a key, before any work
        if not settings.landing_dir.is_dir():
            raise ConfigError(
                f"landing zone {settings.landing_dir} does not exist: set VOB_LANDING_DIR, "
                "or write the sample with `vob sample`"
            )
    except (ValueError, ConfigError) as err:
        print(f"vob {args.command}: {err}", file=sys.stderr)
        return 2
    with without_beta_warnings():
        return (rebuild_period if args.command == "rebuild" else run_period)(period, settings)


def _cmd_withdraw(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.runner import withdraw
    from vob.base.periods import parse_period

    try:
        period = parse_period(args.month)
        if period.is_half_year:
            raise ValueError(f"{period.key} is a half-year: withdraw one month at a time, e.g. --month 2025-07")
    except ValueError as err:
        print(f"vob withdraw: {err}", file=sys.stderr)
        return 2
    return withdraw(period, args.reason, settings)


def _cmd_explain(args: argparse.Namespace, settings: Settings) -> int:
    from vob.views.explain import ExplainError, explain

    try:
        text = explain(settings, args.table, args.key)
    except (ExplainError, ConfigError) as err:
        print(f"vob explain: {err}", file=sys.stderr)
        return 2
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `vob explain ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _cmd_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    """Install Superset if missing, materialise bi_dashboard, then serve it on 127.0.0.1 until Ctrl-C."""
    from pipelines.runner import dagster_instance, failure_report, run_job, without_beta_warnings
    from vob.views.superset import DashboardError, Superset, install_superset, serve_until_stopped, superset_installed

    try:
        if not superset_installed():
            print("vob dashboard: installing Superset in bi/superset/.venv (once; a few minutes)", flush=True)
            install_superset()
        with without_beta_warnings():
            result = run_job(dagster_instance(settings), "dashboard")
        if not result.success:
            print("vob dashboard: the dashboard was not built:", *failure_report(result), sep="\n  ", file=sys.stderr)
            return 1
        if args.no_serve:
            print("vob dashboard: built; serve it with `vob dashboard`")
            return 0
        serve_until_stopped(Superset(settings.superset_home), args.port, announce=lambda text: print(text, flush=True))
    except DashboardError as err:
        print(f"vob dashboard: {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.workers import start_worker

    if settings.executor != "celery":
        print("vob worker: set VOB_EXECUTOR=celery (and its broker) where the runs start and here", file=sys.stderr)
        return 2
    return start_worker(settings, args.name, args.concurrency)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vob", description="Voice of the Beneficiary pipeline")
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="write a sample landing zone (LANDING.md)")
    sample.add_argument("--out", help="landing root (default: $VOB_LANDING_DIR or data/landing)")
    sample.add_argument("--scale", type=float, default=1.0, help="multiply volumes (default 1)")
    sample.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    sample.set_defaults(func=_cmd_sample)

    run = commands.add_parser("run", help="materialise a period and publish the warehouse")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--period", help="half-year, e.g. 2025-H1")
    which.add_argument("--month", help="month, e.g. 2025-03")
    run.set_defaults(func=_cmd_run)

    rebuild = commands.add_parser(
        "rebuild",
        help="delete the working database and build a new one from the landing zone, then publish "
        "(a lost or damaged working database, a new VOB_PII_KEY); rebuilds every period already published too",
    )
    which = rebuild.add_mutually_exclusive_group(required=True)
    which.add_argument("--period", help="half-year, e.g. 2025-H1")
    which.add_argument("--month", help="month, e.g. 2025-03")
    rebuild.set_defaults(func=_cmd_run)
    withdraw = commands.add_parser(
        "withdraw",
        help="take a month out of every monthly table and publish (a month published by mistake)",
        description="Delete the month's rows from every monthly mart (facts, service KPIs, figure_sources, "
        "dim_month), log it in meta.withdrawals, and publish. A later run of the month publishes it again if it "
        "has records of its own (docs/operations.md, 'Withdrawing a month').",
    )
    withdraw.add_argument("--month", required=True, help="month, e.g. 2025-07")
    withdraw.add_argument("--reason", help="why, kept in meta.withdrawals")
    withdraw.set_defaults(func=_cmd_withdraw)
    explain = commands.add_parser(
        "explain",
        help="one published figure and the landing files that make it up",
        description="Print a published figure as the warehouse holds it, how it is computed, the records it was "
        "computed from (the count; for a ratio its numerator and denominator; for a quantile the values' count and "
        "the two values it lies between), the landing files behind them (rows read, rejected, given to the "
        "figure), the rejected rows' reasons grouped, and the total re-done from them.",
        epilog="KEY is the row's grain values, then the measure where the table has several: "
        "fct_channel_monthly MONTH CHANNEL; fct_tickets_monthly MONTH SNAPSHOT_DATE MEASURE; "
        "fct_calls_service_monthly MONTH QUEUE MEASURE; fct_chat_service_monthly MONTH ENTRY_POINT MEASURE; "
        "fct_ticket_resolution_monthly MONTH SNAPSHOT_DATE MEASURE; fct_ticket_backlog SNAPSHOT_DATE AGE_BAND; "
        "fct_vob_half_year PERIOD MEASURE; fct_feedback_dimension_half_year PERIOD DIMENSION MEASURE; "
        "corrective_plans_by_dimension PERIOD DIMENSION MEASURE. "
        "E.g. `vob explain fct_vob_half_year 2025-H1 beneficiaries`, "
        "`vob explain fct_feedback_dimension_half_year 2025-H1 speed share_pct`, "
        "`vob explain fct_calls_service_monthly 2025-03 all abandon_rate_pct`. "
        "A wrong table or key exits with status 2 and one line naming what is valid.",
    )
    explain.add_argument("table", help="a published fact table, e.g. fct_calls_service_monthly")
    explain.add_argument("key", nargs="+", help="the row's grain values, then the measure (or the key joined by |)")
    explain.set_defaults(func=_cmd_explain)

    dashboard = commands.add_parser(
        "dashboard",
        help="build the Superset dashboard from the published warehouse and serve it on 127.0.0.1",
        description="Install Superset in bi/superset/.venv if missing, rebuild the dashboard (the bi_dashboard "
        "asset), then serve it on 127.0.0.1 and print its URL, user and password file; Ctrl-C stops it.",
    )
    dashboard.add_argument("--port", type=int, default=8088, help="port on 127.0.0.1 (default 8088)")
    dashboard.add_argument("--no-serve", action="store_true", help="build only, do not start the server")
    dashboard.set_defaults(func=_cmd_dashboard)

    worker = commands.add_parser(
        "worker",
        help="a Celery worker that executes the steps of runs (VOB_EXECUTOR=celery; docs/scale-out.md, 'Workers')",
        description="Run `dagster-celery worker start -A dagster_celery.app` in the foreground, with the broker "
        "and the settings of this environment.",
    )
    worker.add_argument("--name", "-n", help="the worker's name (default: dagster-<random>@<host>)")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="steps at once (default 1: each step's DuckDB has the memory)"
    )
    worker.set_defaults(func=_cmd_worker)

    args = parser.parse_args(argv)
    try:
        settings = load_settings()  # every VOB_* variable, once (README, Configuration)
        restrict_new_files(settings)  # the working database and the instance: owner only, whatever the umask
        return args.func(args, settings)
    except ConfigError as err:  # e.g. a secret given both as a variable and as a file, a mode that is no mode
        print(f"vob: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
