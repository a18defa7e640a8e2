-- Each service owns its own database (SPEC §2); the `overdue` database of
-- POSTGRES_DB is left to one-off commands such as `overdue infra up`.
-- Run by the postgres image once, when its data volume is empty.
CREATE DATABASE ledger OWNER overdue;
CREATE DATABASE scheduler OWNER overdue;
CREATE DATABASE notifier OWNER overdue;
