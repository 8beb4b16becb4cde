"""Resolve: the model a component is described with to the model that is rendered (notifications
applied, deploy steps resolved, image references fixed, checkout decided, files placed). Pure,
no text. May import ``pipedsl.model`` and ``pipedsl.errors`` (and ``presets``), nothing above."""

from pipedsl.resolve.pipeline import final_pipeline

__all__ = ["final_pipeline"]
