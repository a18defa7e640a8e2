"""The notifier's rules, free of SMTP, PDF and SQL: fees, references, documents."""
