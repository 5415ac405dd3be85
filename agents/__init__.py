"""newsmon behaviour: the decisions agents make, as pure functions over plain values.

Nothing in this package imports Faust, aiokafka or ``streams``; ``tests/test_layering.py``
keeps it that way.
"""
