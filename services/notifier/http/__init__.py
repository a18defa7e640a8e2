"""The notifier's process: consumers, retry and binding loops, relay, health."""
