"""Models of real hypervisors' notifier designs, judged against the table (README.md)."""
