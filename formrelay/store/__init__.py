"""The event store: port, DynamoDB adapter, in-memory fake."""
