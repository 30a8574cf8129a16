"""The config file's readers, one module per concern (``maip_drlib.config_loader`` is the entry).

``bounds`` (size and nesting refused before parsing), ``reader`` (the typed primitives every
table uses and the one-line error), ``topology`` (``[topology]``), ``targets``
(``[targets.<name>]`` and its regions), ``data_plane`` (``database`` and ``kafka`` tables),
``describe`` (``maip-dr config check``'s rendering). The schema itself is documented once, in
``config_loader``'s docstring. Not supported here: reading the file (``config_loader`` does).
"""
