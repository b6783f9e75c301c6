"""Networks a user names: resolved, sized, built, counted, transferred, exported, weighted.

``resolve`` is the one resolver from what a user names (a zoo entry, a genotype file, a
published cell, a DARTS genotype or NB201 string, a run directory) to a network or a
point; ``rebuild`` sizes and builds it and loads weights (``weights`` pairs a
torchvision/timm state_dict with our tensors, ``weights_source`` recognises whose it
is); ``transfer`` stacks a cell in its paper's full-scale skeleton; ``layer_table``
counts a network layer by layer against its paper's figures; ``export`` writes it out.
It may import the tables (an NB201 index), core and ``search_spaces``; the commands,
training and the config edge above use it.
"""
