"""The index advisor's pure parts: query shapes and the indexes a shape could use."""
