"""Opening a state directory: restore what it holds into a backend, then keep every change durable.

On an empty directory the process's CA hierarchy is saved first, so that every certificate issued from then
on keeps chaining to the same CA bundle after a restart. On a directory that has state, the saved CA
hierarchy becomes the process's (see :func:`mock_iotprov.pki.install_pki`) and every saved (account,
region) is restored as it was at the last acknowledged request.
"""

from __future__ import annotations

from pathlib import Path

from mock_iotprov.persistence.codec import StateFormatError, decode, encode
from mock_iotprov.persistence.database import IncompatibleStateError, StateDatabase
from mock_iotprov.persistence.journal import Journal
from mock_iotprov.pki.authority import MockPKI, get_pki, install_pki
from mock_iotprov.state import Backend


def open_state_directory(backend: Backend, directory: str | Path) -> Journal:
    """Restore ``directory`` into ``backend`` (which must be empty) and attach a journal to it.

    Raises :class:`IncompatibleStateError` (with a message for the user) when the directory holds state this
    version cannot read.
    """
    database = StateDatabase(directory)
    try:
        saved_pki = database.load_pki()
        if saved_pki is None:
            database.save_pki(encode(get_pki()))
        else:
            pki = decode(saved_pki)
            if not isinstance(pki, MockPKI):
                raise StateFormatError("the saved CA hierarchy is not one")
            install_pki(pki)
        for (account_id, region), data in database.load_stores().items():
            saved = decode(data)
            if not (isinstance(saved, tuple) and len(saved) == 2 and all(isinstance(x, dict) for x in saved)):
                raise StateFormatError(f"the saved tables of {account_id}/{region} are not a table set")
            backend.restore_store(account_id, region, saved)
    except StateFormatError as exc:
        database.close()
        raise IncompatibleStateError(f"{database.path} cannot be restored: {exc}") from exc
    except BaseException:
        database.close()
        raise
    journal = Journal(database, backend)
    backend.journal = journal
    return journal
