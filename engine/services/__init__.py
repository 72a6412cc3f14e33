"""The service layer: what the CLI, the API and the scheduler call. Each state change is one
unit of work (one transaction, audit event included)."""

from engine.services.runtime import Runtime

__all__ = ["Runtime"]
