"""Events partner platforms send to a network (`/api/v1/inbound/{source}`): how a request is
signed (`signature`) and how each platform's payload is read (`pmsmp`). Pure code, no
database: `engine.services.inbound` verifies, matches and records."""
