"""Who may use the served chat: a login from ``--auth``, ``--auth-file`` or ``$QA_AUTH``.

Serving on an address other than this machine's own (127.0.0.0/8, ::1, localhost) reaches
other machines, so it needs a login; on a loopback address the login is optional. A password
is never printed: the messages here name where the login came from, not what it holds.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from qa.errors import QAError

AUTH_ENV = "QA_AUTH"
HOW_TO_LOG_IN = (
    f"--auth-file FILE (one line USER:PASSWORD), ${AUTH_ENV}=USER:PASSWORD or --auth USER:PASSWORD"
)

Login = tuple[str, str]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: 127.0.0.0/8, ::1 or localhost."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_login(text: str, source: str) -> Login:
    """``USER:PASSWORD`` as a (user, password) pair; the password may hold colons."""
    user, colon, password = text.rstrip("\r\n").partition(":")
    if not colon:
        raise QAError(f"{source} must be USER:PASSWORD (no colon found).")
    user = user.strip()  # as Gradio's login form reads it
    if not user or not password:
        raise QAError(f"{source} must be USER:PASSWORD with a non-empty user and password.")
    return user, password


def read_login_file(path: str | Path) -> Login:
    """The login on the one non-empty line of ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise QAError(
            f"Cannot read the login file {path} ({why}): write one line USER:PASSWORD into it."
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise QAError(
            f"The login file {path} must hold one line USER:PASSWORD; it holds {len(lines)}."
        )
    return parse_login(lines[0], f"The line in {path}")


def resolve_login(
    auth: str | None, auth_file: str | Path | None, environ: Mapping[str, str] = os.environ
) -> Login | None:
    """The login from ``--auth``, else ``--auth-file``, else ``$QA_AUTH``; None without one."""
    if auth is not None:
        return parse_login(auth, "--auth")
    if auth_file is not None:
        return read_login_file(auth_file)
    if environ.get(AUTH_ENV):
        return parse_login(environ[AUTH_ENV], f"${AUTH_ENV}")
    return None


def check_exposure(host: str, login: Login | None) -> None:
    """Refuse to serve beyond this machine without a login."""
    if login is None and not is_loopback(host):
        raise QAError(
            f"Serving on {host} lets other machines in: give a login with {HOW_TO_LOG_IN}, "
            "or serve on 127.0.0.1."
        )
