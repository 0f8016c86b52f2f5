"""Batch scoring of historical calls: the same parse -> predict -> policy path as the API, over files.

- `core`: one chunk of calls -> scored rows and rejected rows (`BatchScorer`).
- `io`: reading CSV / Parquet / JSONL (a file or a folder of part files) in chunks, the agency export mapping.
- `local`: the embedded engine (process pool, bounded memory, progress bar, resumable part files + manifest).
- `spark`: the PySpark engine (`mapInPandas`, model loaded once per Python worker).
"""
