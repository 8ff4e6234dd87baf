"""The `sectag` command: main.py wires one module per command group."""
