"""What can go wrong while starting or stopping the local stack."""


class InfraError(Exception):
    """A part of the stack could not be fetched, started, reached or stopped.

    The message says what to look at, usually a log under `var/log/`.
    """
