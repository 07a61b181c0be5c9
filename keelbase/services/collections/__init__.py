"""Collections: their service, the views over them, and the errors a schema change answers."""
