"""Run files: the prediction-writer callback (`writer.RunFileWriter`) and the provenance JSON beside each run
file (`provenance`). Atomic writes, the run-file grammars and score sidecars are in the torch-free `baselines.io`."""
