"""What optbench's two native AD engines (``dual`` and ``tape``) share: the list of
primitives, the Array API face (namespace and Python operators) built over them, and the
storage namespaces they compute in."""
