"""Producers of raw articles: seed replay (and, next, feeds).  They never import the pipeline."""
