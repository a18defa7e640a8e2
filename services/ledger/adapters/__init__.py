"""The ledger's adapters: its database, and the translation to and from Kafka."""
