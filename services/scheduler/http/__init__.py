"""The collector API: what collectors agree with debtors, what the ladder will do."""
