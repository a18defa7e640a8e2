"""What every service's HTTP API shares: creditor keys, error bodies, idempotency."""
