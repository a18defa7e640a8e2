"""The ledger's rules, free of databases and brokers: errors, allocation, keys."""
