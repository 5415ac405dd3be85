"""The worker: the Faust app, its agents, live themes and the progress guards."""
