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
from typing import Mapping

from vob.settings import ConfigError

FILE_GROUP_ENV = "VOB_FILE_GROUP"
BI_GROUP_ENV = "VOB_BI_GROUP"
WAREHOUSE_MODE_ENV = "VOB_WAREHOUSE_MODE"
DEFAULT_WAREHOUSE_MODE = 0o640


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def group_id(env: Mapping[str, str] | None, name: str) -> int | None:
    """The group id of setting `name` (a group name or number), None when unset."""
    value = _env(env).get(name)
    if not value:
        return None
    try:
        return int(value) if value.isdigit() else grp.getgrnam(value).gr_gid
    except KeyError:
        raise ConfigError(f"{name}={value}: no such group on this machine") from None


def private_umask(env: Mapping[str, str] | None = None) -> int:
    return 0o027 if group_id(env, FILE_GROUP_ENV) is not None else 0o077


def restrict_new_files(env: Mapping[str, str] | None = None) -> None:
    """Files and directories this process creates from now on are private (0600/0700,
    or 0640/0750 with VOB_FILE_GROUP), whatever umask it was started with."""
    os.umask(private_umask(env))


def make_private(path: Path, env: Mapping[str, str] | None = None) -> None:
    """Owner only (0600, directories 0700), or owner + VOB_FILE_GROUP read (0640/0750)."""
    gid = group_id(env, FILE_GROUP_ENV)
    mode = 0o700 if path.is_dir() else 0o600
    _set_mode(path, mode | (0o050 if path.is_dir() else 0o040) if gid is not None else mode, gid)


def private_dir(path: Path, env: Mapping[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    make_private(path, env)
    return path


def warehouse_mode(env: Mapping[str, str] | None = None) -> int:
    """VOB_WAREHOUSE_MODE, an octal mode such as 640: owner read-write at least, no execute bit."""
    value = _env(env).get(WAREHOUSE_MODE_ENV)
    if not value:
        return DEFAULT_WAREHOUSE_MODE
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if mode < 0 or mode > 0o777 or mode & 0o600 != 0o600 or mode & 0o111:
        raise ConfigError(f"{WAREHOUSE_MODE_ENV}={value}: expected an octal file mode with owner "
                          "read-write and no execute bit, e.g. 640 (group reads) or 600")
    return mode


def share_with_bi(path: Path, env: Mapping[str, str] | None = None) -> None:
    """A published file (warehouse, report): VOB_WAREHOUSE_MODE and group VOB_BI_GROUP."""
    _set_mode(path, warehouse_mode(env), group_id(env, BI_GROUP_ENV))


def shared_dir(path: Path, env: Mapping[str, str] | None = None) -> Path:
    """A directory of published files: created traversable by the BI group (0750, or
    0755 when the files are world-readable); an existing directory is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        mode = warehouse_mode(env)
        _set_mode(path, 0o700 | (0o050 if mode & 0o040 else 0) | (0o005 if mode & 0o004 else 0),
                  group_id(env, BI_GROUP_ENV))
    return path


def _set_mode(path: Path, mode: int, gid: int | None) -> None:
    if gid is not None and path.stat().st_gid != gid:
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            raise ConfigError(f"cannot give {path} to group {gid}: the service user must be a member "
                              "of the group set in VOB_FILE_GROUP / VOB_BI_GROUP") from None
    os.chmod(path, mode)
