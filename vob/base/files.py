"""Who may read the files the pipeline writes (docs/security.md).

- Private files (the working database, its WAL and DuckDB's spill files, the
  Dagster instance): `0600`, directories `0700`; with `VOB_FILE_GROUP` set (a
  service that must read them, e.g. a backup agent), `0640` / `0750` and that group.
- Shared files (the published warehouse and the rendered reports: aggregates
  only): `VOB_WAREHOUSE_MODE` (default `0640`) and the group `VOB_BI_GROUP`
  (default: the owner's group), never world-readable unless the operator says so.

Modes hold whatever the umask of the shell that started the process: every
entry point (`vob`, the code location's resource, `vob-service` for the
webserver and the daemon) sets a restrictive umask before it creates a file,
and the files the pipeline knows by name are chmod-ed explicitly as well.
"""

from __future__ import annotations

import grp
import os
from pathlib import Path

from vob.base.settings import ConfigError, Settings


def group_id(name: str | None, variable: str) -> int | None:
    """The group id of a group name or number (setting `variable`), None when unset."""
    if not name:
        return None
    try:
        return int(name) if name.isdigit() else grp.getgrnam(name).gr_gid
    except KeyError:
        raise ConfigError(f"{variable}={name}: no such group on this machine") from None


def private_umask(settings: Settings) -> int:
    return 0o027 if group_id(settings.file_group, "VOB_FILE_GROUP") is not None else 0o077


def restrict_new_files(settings: Settings) -> None:
    """Files and directories this process creates from now on are private (0600/0700,
    or 0640/0750 with VOB_FILE_GROUP), whatever umask it was started with."""
    os.umask(private_umask(settings))


def make_private(path: Path, settings: Settings) -> None:
    """Owner only (0600, directories 0700), or owner + VOB_FILE_GROUP read (0640/0750)."""
    gid = group_id(settings.file_group, "VOB_FILE_GROUP")
    mode = 0o700 if path.is_dir() else 0o600
    _set_mode(path, mode | (0o050 if path.is_dir() else 0o040) if gid is not None else mode, gid)


def private_dir(path: Path, settings: Settings) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    make_private(path, settings)
    return path


def share_with_bi(path: Path, settings: Settings) -> None:
    """A published file (warehouse, report): VOB_WAREHOUSE_MODE and group VOB_BI_GROUP."""
    _set_mode(path, settings.warehouse_mode, group_id(settings.bi_group, "VOB_BI_GROUP"))


def shared_dir(path: Path, settings: Settings) -> Path:
    """A directory of published files: created traversable by the BI group (0750, or
    0755 when the files are world-readable); an existing directory is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        mode = settings.warehouse_mode
        _set_mode(
            path,
            0o700 | (0o050 if mode & 0o040 else 0) | (0o005 if mode & 0o004 else 0),
            group_id(settings.bi_group, "VOB_BI_GROUP"),
        )
    return path


def _set_mode(path: Path, mode: int, gid: int | None) -> None:
    if gid is not None and path.stat().st_gid != gid:
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            raise ConfigError(
                f"cannot give {path} to group {gid}: the service user must be a member "
                "of the group set in VOB_FILE_GROUP / VOB_BI_GROUP"
            ) from None
    os.chmod(path, mode)
