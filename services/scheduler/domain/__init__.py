"""The scheduler's rules, free of databases and brokers: the debtor's calendar."""
