"""newsmon plumbing: settings, the embedded broker, topics and records, producers, the Faust app, the CLI."""

__version__ = "0.1.0"
