"""The ledger's HTTP API: the facts of `ledger.inbound`, for platforms that call."""
