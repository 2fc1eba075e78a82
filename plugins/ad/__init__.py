"""What optbench's two native AD engines (``dual`` and ``tape``) share: the list of
primitives and the Array API face (namespace and Python operators) built over them."""
