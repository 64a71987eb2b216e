"""Domain events published to an event bus: the port, its adapters, the stream forwarder."""
