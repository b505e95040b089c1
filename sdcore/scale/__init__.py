"""Scale to millions: queueing at every tier, availability, caching and the architecture that grows."""

from sdcore.scale.caching import generalized_harmonic, zipf_hit_ratio

__all__ = ["generalized_harmonic", "zipf_hit_ratio"]
