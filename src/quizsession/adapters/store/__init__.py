"""The durable store's adapters, one per backend behind the ``Store`` ports of
``quizsession.app.ports``: ``memory`` (tests, non-persistent mode), ``sqlite``
(the embedded default), ``postgres`` (shared by several instances), and
``encrypted`` (encryption at rest of answers and personal data, around the event
log and the invites of any of them). ``common`` holds what they all share."""
