"""Inference backends behind one interface: base.py defines it, registry.py names them."""
