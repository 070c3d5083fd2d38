"""Click commands, one module each; every module exposes ``register(group)``.

Keeping each command in its own module lets the command line import only what
the invoked command needs (``networkx`` alone costs 0.15 s to import).
"""

COMMAND_MODULES = ("show", "sync", "lint", "rule", "graph", "fix")
