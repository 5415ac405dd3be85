"""Kafka plumbing: the embedded broker, the cluster address, admin, topics, consumers and producers."""
