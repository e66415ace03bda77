"""The public infrastructure for remote providers: a background ``queue``, its ``retry`` policy, and ``http``."""
