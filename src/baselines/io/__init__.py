"""The torch-free floor: reading and writing the files of others and our own.

Atomic writes, line readers, the official formats (`io.formats`, the grouped region grammar), COCO JSON,
score sidecars, file digests, image headers, polygons and lung masks. Nothing here imports torch (an import-linter
contract in `make lint` holds it), so `baselines validate` and `evaluate` start fast.
"""
