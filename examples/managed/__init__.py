"""A managed runner on one machine: the observer backend and the user's steps."""
