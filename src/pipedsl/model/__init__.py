"""The typed model of a project. Frozen attrs classes, validated when built."""
