"""divert: behavioral-health and violence-risk flags for 911 calls."""

__version__ = "0.1.0"
