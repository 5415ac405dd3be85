"""``newsmon dashboard``: a read-only web page over the Kafka topics (docs/dashboard.md)."""
