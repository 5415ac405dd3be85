"""Consumers of newsmon's outputs: the alert subscriber.  They never import the pipeline."""
