"""`vob-service COMMAND [ARGS...]`: start a long-running Dagster process the way production
needs it, then become it (exec).

    vob-service dagster-webserver -w workspace.yaml -h 127.0.0.1 -p 3000
    vob-service dagster-webserver -w workspace.yaml -h 127.0.0.1 -p 3001 --read-only
    vob-service dagster-daemon run -w workspace.yaml

- a private umask (0077, or 0027 with VOB_FILE_GROUP), inherited by the code servers
  and run workers the process starts: the instance's files, compute logs and the
  working database are created readable by their owner only (vob/base/files.py);
- secrets mounted as files: DAGSTER_PG_PASSWORD_FILE becomes DAGSTER_PG_PASSWORD,
  which deploy/dagster.postgres.yaml reads (`env:`); VOB_PII_KEY_FILE and
  VOB_ALERT_WEBHOOK_URL_FILE are read by the pipeline itself;
- every VOB_* setting checked (vob/base/settings.py load_settings): a service with a secret set both as
  a variable and as a file, or a setting that does not parse, does not start.
"""

from __future__ import annotations

import os
import shutil
import sys

from vob.base.files import restrict_new_files
from vob.base.settings import ConfigError, export_secret_files, load_settings

EXPORTED_SECRETS = ("DAGSTER_PG_PASSWORD",)


def prepare_environment() -> None:
    restrict_new_files(load_settings())  # the code servers and run workers read the variables again
    export_secret_files(EXPORTED_SECRETS)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        prepare_environment()
    except ConfigError as err:
        print(f"vob-service: {err}", file=sys.stderr)
        return 2
    # the Dagster commands of this virtualenv first (a service's PATH rarely holds it)
    command = shutil.which(argv[0], path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if command is None:
        print(f"vob-service: command not found: {argv[0]}", file=sys.stderr)
        return 127
    os.execv(command, [command, *argv[1:]])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
