"""Jenkins and GitHub I/O: the client, ``sync``, its settings and the webhook registration.
May import every layer below it (``load``, ``write``, ``render``, ``resolve``, ``model``)."""
