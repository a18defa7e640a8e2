"""The Kafka plumbing every service shares: settings, dead letters, broker, HTTP."""
