"""SQL execution: connections, transactions, DDL and system tables, per dialect."""
