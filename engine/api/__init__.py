"""The HTTP layer: FastAPI routers over the service layer (which never imports this package)."""
