"""Model: every typed object of a project, pipeline and Kubernetes alike, frozen and validated
when built, and the whole-project rules. Imports only ``pipedsl.errors``."""
