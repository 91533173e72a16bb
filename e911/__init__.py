"""e911 package."""
