"""Consumers of newsmon's outputs: the alert subscriber and the webhook deliverer.  They never import the pipeline."""
