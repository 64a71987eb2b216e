"""What the HTTP API shares across handlers: problems, principals, responses."""
