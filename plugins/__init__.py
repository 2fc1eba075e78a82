"""optbench's built-in plugins, registered through the ``optbench`` entry points like any other.

Installed under the import name ``optbench_plugins`` (the folder is ``plugins/``).
"""
