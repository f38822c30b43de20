"""Local stand-ins for the social networks' APIs, over a synthetic region (demo and tests)."""
