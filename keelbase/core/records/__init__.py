"""Records' values, and how filters and ``fields`` reach into them."""
