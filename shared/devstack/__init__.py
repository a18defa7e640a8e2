"""The local stack for development, tests and the demo: Kafka, PostgreSQL, SMTP."""
