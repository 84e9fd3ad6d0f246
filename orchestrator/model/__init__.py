"""Typed API objects, quantities, selectors, the kind registry, codec and errors. No I/O."""
