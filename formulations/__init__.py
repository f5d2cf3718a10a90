"""MILP formulations: each turns a scenario into a verified deployment plan."""
