"""Recommender algorithms behind the local engine's recipes (numpy/scipy, sparse)."""
