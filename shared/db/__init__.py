"""Database plumbing every service shares: engines, migrations, the inbox."""
