"""The command line: the one place that composes the stages."""

from stenograph.cli.app import main

__all__ = ["main"]
