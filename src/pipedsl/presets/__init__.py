"""Presets: whole components in a few lines, every stage still editable."""

from pipedsl.presets.backend import spring_boot_backend
from pipedsl.presets.frontend import npm_frontend

__all__ = ["npm_frontend", "spring_boot_backend"]
