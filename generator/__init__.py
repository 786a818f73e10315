"""Code generator for the Marlin kernel instantiations: catalog (data), plan (expansion), render (Jinja2)."""
