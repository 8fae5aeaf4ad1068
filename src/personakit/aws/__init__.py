"""The machinery every resource uses: sessions and clients, retries, waits, timing, IAM.

Depends on :mod:`personakit.rules` only (and, inside ``Session.local``, on the
embedded engine in :mod:`personakit.local`).
"""
