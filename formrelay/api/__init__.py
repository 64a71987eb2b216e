"""What the HTTP API shares across handlers: problems, the error map, principals, responses."""
