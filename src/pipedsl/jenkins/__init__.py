"""Jenkins: job definitions (config.xml), the setup a person finishes by hand, and ``sync``."""
