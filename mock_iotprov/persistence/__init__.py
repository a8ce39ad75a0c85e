"""Keeping the local endpoint's state on disk (``serve --state-dir DIR``).

- :mod:`~mock_iotprov.persistence.codec`: a store's domain tables to bytes and back (a restricted pickle).
- :mod:`~mock_iotprov.persistence.database`: the SQLite file under ``DIR`` (WAL mode, schema version).
- :mod:`~mock_iotprov.persistence.journal`: group commit; a change is durable before its request is answered.
"""
