"""Embedding indexes and re-ranking for retrieval tasks (lifelog moment retrieval)."""
