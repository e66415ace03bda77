"""The public infrastructure for remote providers: a background queue (``queue``) and its retry policy (``retry``)."""
