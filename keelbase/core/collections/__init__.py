"""Collections: their definition, JSON form, validation, indexes and the schema snapshot."""
