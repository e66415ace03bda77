"""The reference backend of the runner protocol (``dotflow backend start``): it stores what managed
runs report, keeps their heartbeat leases, hands out run tokens and cancels runs.

Behind the extra ``dotflow[backend]`` (Starlette on uvicorn, SQLAlchemy 2 Core, Jinja2); nothing in
the rest of the package imports this one, so ``import dotflow`` and ``dotflow start`` never load
those libraries. The modules, bottom to top: ``statuses`` and ``tokens`` (plain rules),
``database``, ``schema`` and ``migrations`` (the tables and how they are reached), ``store``
(every query), ``api`` (the HTTP API) and ``web`` (the page, its ``templates`` and ``static``
files), ``app`` (the ASGI application and its background sweeper), ``server`` (the process:
binding, the banner, uvicorn) and ``check``.
"""
