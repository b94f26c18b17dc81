"""Import the VoB dashboard bundle into Superset, overwriting what it holds (run with bi/superset/.venv's python).

    python import_bundle.py BUNDLE.zip USERNAME

Superset's ImportAssetsCommand, "used for managing Superset assets externally under source
control", overwrites the database, datasets, charts and dashboard of the same uuids.
`superset import-dashboards` would overwrite the dashboard only: a new warehouse path or a
changed dataset or chart in bi/superset/bundle/ would never reach Superset.
"""

import sys
from zipfile import ZipFile

from superset.app import create_app


def main(bundle_path: str, username: str) -> None:
    app = create_app()
    with app.app_context():
        from flask import g
        from superset import security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        g.user = security_manager.find_user(username=username)
        if g.user is None:
            sys.exit(f"import_bundle: no Superset user {username!r}")
        with ZipFile(bundle_path) as bundle:
            contents = get_contents_from_bundle(bundle)
        ImportAssetsCommand(contents).run()
        print(f"imported {len(contents)} files from {bundle_path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
