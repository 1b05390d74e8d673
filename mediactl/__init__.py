"""mediactl: one command line for media uploads to Other Page, NationBuilder, OFAuth and BitBadges."""

__version__ = "0.1.0"
